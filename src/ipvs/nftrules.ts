/**
 * nftables ruleset builder (pure): the desired LB table as ONE atomic `nft -f -` transaction on our own
 * tables only (`table ip lvs_pulse`, `table ip6 lvs_pulse6`), and the check of what `nft -j list table`
 * reads back.
 *
 * Per virtual service one rule in a nat prerouting chain (priority dstnat):
 *   ip daddr VIP tcp dport PORT dnat ip to numgen random mod W map { 0-2 : RS1 . P1, 3 : RS2 . P2 } comment "lvs_pulse KEY"
 * Each real server gets `weight` consecutive slots of the numgen/jhash interval map, so weights 3:1 give
 * ~3:1 new connections. Only the first packet of a connection meets the rule: conntrack keeps the NAT
 * binding, so established connections continue across any later change of the table (weights, removals).
 *
 * Scheduler mapping: rr → `jhash ip saddr . tcp sport`, equal slots; wrr → the same, weighted; sh/mh, and
 * any persistent service → `jhash ip saddr` (weighted; -M pmask and the persistence timeout are not
 * honoured: the hash is stable while the set is); dh → `jhash ip daddr`; fo → the highest-weight server
 * only; every other scheduler (lc wlc lblc lblcr sed nq ovf twos) → the weighted flow hash, with one
 * warning. Hashing the flow rather than drawing numgen makes both routers send a connection to the same
 * real server, so a connection in flight at a takeover continues (fwmark and all-port services, which
 * have no port to hash on, keep `numgen`).
 * Forwarding is always DNAT (NAT mode): in the lab (and Piranha's NAT setups) the real servers' default
 * route is the router's NAT VIP, so replies come back through conntrack and no SNAT/masquerade is needed.
 * Direct routing / tunnelling cannot be expressed this way and are DNATed with a warning.
 */
import type { LvsModel } from '../config/model';
import { addressFamily, canonicalIP } from '../lib/addr';
import { isServiceKey } from './format';
import { desiredTable, type LbService, type LbTableState, type WeightMap, weightKey } from './table';

/** The nftables table (family ip) holding our IPv4 LB rules; nothing else in the ruleset is touched. */
export const NFT_TABLE_V4 = 'lvs_pulse';
/** The nftables table (family ip6) holding our IPv6 LB rules. */
export const NFT_TABLE_V6 = 'lvs_pulse6';
const COMMENT_PREFIX = 'lvs_pulse ';

/** How one rule picks its real server. */
export interface NftPick {
  mode: 'random' | 'inc' | 'jhash-saddr' | 'jhash-daddr' | 'jhash-flow';
  /** `mod` of the numgen/jhash expression: the total of the slots. */
  mod: number;
  /** Slot count per target (`addr . port`, or `addr` for fwmark services). */
  slots: Map<string, number>;
}

/** The rules we expect in the kernel, by service key, per family. */
export interface NftExpected {
  v4: Map<string, NftPick>;
  v6: Map<string, NftPick>;
}

/** Result of {@link buildRuleset}. */
export interface NftRuleset {
  /** The whole transaction for `nft -f -`. */
  script: string;
  expected: NftExpected;
  /** Each distinct limitation met (scheduler fallback, pmask, forwarding), for logging once. */
  warnings: string[];
}

const RANDOM_FALLBACK = new Set(['lc', 'wlc', 'lblc', 'lblcr', 'sed', 'nq', 'ovf', 'twos']);

/** Stable 32-bit seed for a service's jhash, so a rebuild does not reshuffle clients. */
function seedOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** fwmark and port-0 (all ports, persistent) services keep the client's destination port: DNAT to the address. */
function addressOnly(s: LbService): boolean {
  return s.kind === 'fwmark' || !s.port;
}

/**
 * Thrown when a value of the LB table is not what its place in an nft rule takes. The rules are nft
 * text, and every value written into them passes one of the checks below: a canonical address of the
 * service's family, an integer in range, a service key of ipvsadm's form, a protocol word. Nothing else
 * reaches the text, so no value can end a statement or open a block (the table is built from a validated
 * config; this keeps the edge safe whatever built it).
 */
export class NftValueError extends Error {
  constructor(what: string, value: unknown) {
    super(`nftables: refusing ${what} ${JSON.stringify(value)}`);
    this.name = 'NftValueError';
  }
}

/** `a` when it is an address of `family` in canonical form (what the config produces), else throws. */
export function nftAddress(a: string, family: 4 | 6): string {
  if (typeof a !== 'string' || canonicalIP(a) !== a || addressFamily(a) !== family)
    throw new NftValueError(`IPv${family} address`, a);
  return a;
}

/** `n` as decimal text when it is an integer in [lo, hi], else throws. */
export function nftInteger(what: string, n: number, lo: number, hi: number): string {
  if (!Number.isInteger(n) || n < lo || n > hi) throw new NftValueError(what, n);
  return String(n);
}

const PROTOCOLS = new Set(['tcp', 'udp']);
function nftProtocol(kind: string): string {
  if (!PROTOCOLS.has(kind)) throw new NftValueError('protocol', kind);
  return kind;
}

function targetOf(s: LbService, r: { address: string; port: number }): string {
  const a = nftAddress(r.address, s.family);
  if (addressOnly(s)) return a;
  return `${a} . ${nftInteger('real server port', r.port, 0, 65535)}`;
}

/** The pick of one service (undefined = no real server takes new connections: no rule). */
export function pickFor(s: LbService, warn: (w: string) => void): NftPick | undefined {
  let mode: NftPick['mode'] = 'random';
  const live = s.reals.filter((r) => r.weight > 0);
  if (live.length === 0) return undefined;
  let weighted = true;
  let chosen = live;
  if (s.persistentS > 0) {
    mode = 'jhash-saddr';
    if (s.pmask !== undefined)
      warn(`nftables: persistence netmask (-M) is not supported; per-client hashing used`);
  } else if (s.scheduler === 'sh' || s.scheduler === 'mh') mode = 'jhash-saddr';
  else if (s.scheduler === 'dh') mode = 'jhash-daddr';
  else if (s.scheduler === 'fo') {
    const best = live.reduce((a, b) => (b.weight > a.weight ? b : a));
    chosen = [best];
    weighted = false;
  } else {
    // rr, wrr and the schedulers nftables cannot do: a hash of the client's address and port. Both routers
    // build the same map with the same seed, so a connection's packets reach the same real server whichever
    // router they cross: a takeover keeps in-flight connections (no per-router numgen state).
    mode = addressOnly(s) ? 'random' : 'jhash-flow';
    if (s.scheduler === 'rr') weighted = false;
    else if (s.scheduler !== 'wrr')
      warn(
        RANDOM_FALLBACK.has(s.scheduler)
          ? `nftables: scheduler ${s.scheduler} is not available; weighted ${mode === 'random' ? 'random' : 'hash of client address and port'} used instead`
          : `nftables: unknown scheduler ${s.scheduler}; weighted ${mode === 'random' ? 'random' : 'hash of client address and port'} used instead`,
      );
  }
  if (s.reals.some((r) => r.forwarding !== 'nat')) {
    warn('nftables: direct routing / tunnelling cannot be done; real servers are reached by DNAT (NAT mode)');
  }
  if (addressOnly(s) && s.reals.some((r) => r.port !== 0 && r.port !== s.port)) {
    warn('nftables: fwmark and all-port services keep the destination port; real server ports are ignored');
  }
  const slots = new Map<string, number>();
  let mod = 0;
  for (const r of chosen) {
    const n = weighted ? r.weight : 1;
    const t = targetOf(s, r);
    slots.set(t, (slots.get(t) ?? 0) + n);
    mod += n;
  }
  return { mode, mod, slots };
}

function keyExpr(pick: NftPick, family: 4 | 6, seed: number, proto: string): string {
  const ip = family === 4 ? 'ip' : 'ip6';
  nftInteger('slot count', pick.mod, 1, 2 ** 31 - 1);
  switch (pick.mode) {
    case 'random':
      return `numgen random mod ${pick.mod}`;
    case 'inc':
      return `numgen inc mod ${pick.mod}`;
    case 'jhash-saddr':
      return `jhash ${ip} saddr mod ${pick.mod} seed 0x${seed.toString(16)}`;
    case 'jhash-daddr':
      return `jhash ${ip} daddr mod ${pick.mod} seed 0x${seed.toString(16)}`;
    case 'jhash-flow':
      return `jhash ${ip} saddr . ${proto} sport mod ${pick.mod} seed 0x${seed.toString(16)}`;
  }
}

function mapElements(pick: NftPick): string {
  const out: string[] = [];
  let at = 0;
  for (const [t, n] of pick.slots) {
    out.push(n === 1 ? `${at} : ${t}` : `${at}-${at + n - 1} : ${t}`);
    at += n;
  }
  return out.join(', ');
}

/** One service's rule text, or undefined when it takes no new connections. */
export function ruleFor(s: LbService, pick: NftPick): string {
  if (s.family !== 4 && s.family !== 6) throw new NftValueError('family', s.family);
  const ip = s.family === 4 ? 'ip' : 'ip6';
  // The comment is the service key, which names the rule when it is read back: ipvsadm's form only.
  if (!isServiceKey(s.key)) throw new NftValueError('service key', s.key);
  const match =
    s.kind === 'fwmark'
      ? `meta mark ${nftInteger('fwmark', s.fwmark ?? -1, 1, 2 ** 32 - 1)}`
      : s.port
        ? `${ip} daddr ${nftAddress(s.address ?? '', s.family)} ${nftProtocol(s.kind)} dport ${nftInteger('port', s.port, 1, 65535)}`
        : `${ip} daddr ${nftAddress(s.address ?? '', s.family)} meta l4proto ${nftProtocol(s.kind)}`;
  const to = addressOnly(s) ? 'dnat to' : `dnat ${ip} to`;
  const proto = s.kind === 'fwmark' ? s.kind : nftProtocol(s.kind);
  return `${match} ${to} ${keyExpr(pick, s.family, seedOf(s.key), proto)} map { ${mapElements(pick)} } comment "${COMMENT_PREFIX}${s.key}"`;
}

function tableBlock(family: 'ip' | 'ip6', name: string, rules: string[]): string {
  return [
    `table ${family} ${name}`,
    `delete table ${family} ${name}`,
    `table ${family} ${name} {`,
    '  chain prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    ...rules.map((r) => `    ${r}`),
    '  }',
    '}',
    '',
  ].join('\n');
}

function dropTable(family: 'ip' | 'ip6', name: string): string {
  return `table ${family} ${name}\ndelete table ${family} ${name}\n`;
}

/**
 * Build the transaction: each of our tables is (created if absent,) deleted and redefined in the same
 * transaction, so the kernel switches atomically; a family without services loses its table.
 */
export function buildRuleset(table: Pick<LbTableState, 'services'>): NftRuleset {
  const warnings = new Set<string>();
  const expected: NftExpected = { v4: new Map(), v6: new Map() };
  const rules: { 4: string[]; 6: string[] } = { 4: [], 6: [] };
  for (const s of table.services) {
    const pick = pickFor(s, (w) => warnings.add(w));
    if (!pick) continue;
    rules[s.family].push(ruleFor(s, pick));
    (s.family === 4 ? expected.v4 : expected.v6).set(s.key, pick);
  }
  const script =
    (table.services.some((s) => s.family === 4)
      ? tableBlock('ip', NFT_TABLE_V4, rules[4])
      : dropTable('ip', NFT_TABLE_V4)) +
    (table.services.some((s) => s.family === 6)
      ? tableBlock('ip6', NFT_TABLE_V6, rules[6])
      : dropTable('ip6', NFT_TABLE_V6));
  return { script, expected, warnings: [...warnings] };
}

/** The transaction that removes our tables (and nothing else). */
export function clearScript(): string {
  return dropTable('ip', NFT_TABLE_V4) + dropTable('ip6', NFT_TABLE_V6);
}

/**
 * Parse `nft -j list table …` output into our rules (by service key). Rules without our comment, or whose
 * shape we do not recognise, are reported in `problems` instead of throwing.
 */
export function parseNftJson(text: string): {
  rules: Map<string, NftPick>;
  problems: string[];
  tablePresent: boolean;
} {
  const rules = new Map<string, NftPick>();
  const problems: string[] = [];
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { rules, problems: [`nft -j output is not JSON: ${(e as Error).message}`], tablePresent: false };
  }
  const items = (doc as { nftables?: unknown[] })?.nftables;
  if (!Array.isArray(items))
    return { rules, problems: ['nft -j output has no nftables array'], tablePresent: false };
  let tablePresent = false;
  for (const it of items) {
    if (typeof it !== 'object' || it === null) continue;
    if ('table' in it) tablePresent = true;
    if (!('rule' in it)) continue;
    const rule = (it as { rule: { comment?: unknown; expr?: unknown } }).rule;
    const comment = typeof rule.comment === 'string' ? rule.comment : '';
    if (!comment.startsWith(COMMENT_PREFIX)) {
      problems.push(`rule without our comment: ${JSON.stringify(rule).slice(0, 200)}`);
      continue;
    }
    const key = comment.slice(COMMENT_PREFIX.length);
    const pick = pickFromExpr(rule.expr);
    if (!pick) problems.push(`rule ${key}: unrecognised dnat expression`);
    else rules.set(key, pick);
  }
  return { rules, problems, tablePresent };
}

function pickFromExpr(expr: unknown): NftPick | undefined {
  if (!Array.isArray(expr)) return undefined;
  const dnat = expr.find((e) => typeof e === 'object' && e !== null && 'dnat' in e)?.dnat as
    | { addr?: { map?: { key?: Record<string, unknown>; data?: { set?: unknown[] } } } }
    | undefined;
  const map = dnat?.addr?.map;
  if (!map?.key || !Array.isArray(map.data?.set)) return undefined;
  let mode: NftPick['mode'];
  let mod: unknown;
  if ('numgen' in map.key) {
    const n = map.key.numgen as { mode?: string; mod?: number };
    mode = n.mode === 'inc' ? 'inc' : 'random';
    mod = n.mod;
  } else if ('jhash' in map.key) {
    const j = map.key.jhash as { mod?: number; expr?: { payload?: { field?: string }; concat?: unknown[] } };
    mode = j.expr?.concat ? 'jhash-flow' : j.expr?.payload?.field === 'daddr' ? 'jhash-daddr' : 'jhash-saddr';
    mod = j.mod;
  } else return undefined;
  if (typeof mod !== 'number') return undefined;
  const slots = new Map<string, number>();
  for (const el of map.data.set) {
    if (!Array.isArray(el) || el.length !== 2) return undefined;
    const [k, v] = el as [unknown, unknown];
    let n: number;
    if (typeof k === 'number') n = 1;
    else if (typeof k === 'object' && k !== null && 'range' in k && Array.isArray(k.range)) {
      const [lo, hi] = k.range as [number, number];
      n = hi - lo + 1;
    } else return undefined;
    let t: string;
    if (typeof v === 'string') t = v;
    else if (typeof v === 'object' && v !== null && 'concat' in v && Array.isArray(v.concat)) {
      t = (v.concat as unknown[]).map(String).join(' . ');
    } else return undefined;
    slots.set(t, (slots.get(t) ?? 0) + n);
  }
  return { mode, mod, slots };
}

/** Differences between what we expect and what was read back (empty = verified). */
export function verifyRules(expected: Map<string, NftPick>, actual: Map<string, NftPick>): string[] {
  const out: string[] = [];
  for (const [k, e] of expected) {
    const a = actual.get(k);
    if (!a) {
      out.push(`${k}: rule missing`);
      continue;
    }
    if (a.mode !== e.mode || a.mod !== e.mod)
      out.push(`${k}: ${a.mode} mod ${a.mod}, expected ${e.mode} mod ${e.mod}`);
    const es = [...e.slots].sort().join(', ');
    const as = [...a.slots].sort().join(', ');
    if (es !== as) out.push(`${k}: slots {${as}}, expected {${es}}`);
  }
  for (const k of actual.keys()) if (!expected.has(k)) out.push(`${k}: unexpected rule`);
  return out;
}

/**
 * The nft transaction for a whole model, for tools and benchmarks that load a static table (e.g. next to
 * keepalived): real servers missing from `weights` get their configured weight (unlike the daemon, where
 * a real server is in only once its nanny put it in).
 */
export function buildLbRuleset(model: LvsModel, weights: WeightMap = new Map()): string {
  const full = new Map(weights);
  for (const vs of model.virtualServers) {
    for (const rs of vs.realServers) {
      const k = weightKey(vs.name, rs.name);
      if (!full.has(k)) full.set(k, rs.weight);
    }
  }
  return buildRuleset(desiredTable(model, full).table).script;
}
