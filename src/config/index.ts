/**
 * The config concern's interface: load and check a configuration (lvs.cf, YAML or JSON) into the one
 * model, dump it back, summarize it, hash its load-balancing part and diff two versions for a reload.
 *
 * @example
 *   const { model, warnings } = loadConfig('/etc/sysconfig/ha/lvs.cf');
 *   const r = checkConfig('etc/lvs.yaml'); // { ok, diagnostics, summary }
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { documentToModel } from './document.js';
import { dumpLvsCf, dumpYaml } from './dump.js';
import { fileWriters } from './filetrust.js';
import { checkHost, type Host, localHost } from './hostcheck.js';
import { type FrontEndResult, parseLvsCf } from './lvscf.js';
import { ConfigError, type ConfigDiagnostic, type LvsModel, type SourcePos } from './model.js';
import { resolveAliases, validateDocument } from './schema.js';
import { checkNativeAuth, checkSemantics, type SemanticIssue } from './semantic.js';
import { programSites, weakeningSites } from './sensitive.js';
import { parseYaml, type YamlResult } from './yaml.js';

export * from './model.js';
export { dumpLvsCf, dumpYaml } from './dump.js';
export type { Host } from './hostcheck.js';

/** The file formats a config may be written in. */
export type ConfigFormat = 'lvs.cf' | 'yaml' | 'json';

/** Format by extension (.cf, .yaml/.yml, .json), else by content (a `{` first = JSON, `key = v` = lvs.cf). */
export function detectFormat(path: string, text: string): ConfigFormat {
  const p = path.toLowerCase();
  if (p.endsWith('.cf')) return 'lvs.cf';
  if (p.endsWith('.yaml') || p.endsWith('.yml')) return 'yaml';
  if (p.endsWith('.json')) return 'json';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line === '---') continue;
    if (line.startsWith('{')) return 'json';
    if (/^[A-Za-z_][A-Za-z0-9_]*\s*=/.test(line) || /^(virtual|failover)\s/.test(line)) return 'lvs.cf';
    return 'yaml';
  }
  return 'yaml';
}

/** Options of loadConfig / checkConfig. */
export interface LoadOptions {
  /** Force a format instead of detecting it. */
  format?: ConfigFormat;
  /** Also check files/programs/interfaces on this host (warnings only). Default: false for loadConfig. */
  hostChecks?: boolean;
  /** The host to check against (tests inject one). */
  host?: Host;
}

interface Analysis {
  model: LvsModel;
  diagnostics: ConfigDiagnostic[];
}

const ORDER = (a: ConfigDiagnostic, b: ConfigDiagnostic) =>
  a.file === b.file ? a.line - b.line || a.col - b.col : a.file < b.file ? -1 : 1;

/**
 * A program-naming key, or a security-sensitive key set away from its default, is honoured only from a file
 * that only root (or the reader) can write: anyone else who can change the file — the web console's own
 * user, say — could otherwise choose what root runs, or turn authentication off at the next restart.
 */
function untrustedPrograms(model: LvsModel, writer: string): SemanticIssue[] {
  const issue = (path: string, what: string): SemanticIssue => ({
    severity: 'error' as const,
    path,
    message:
      `${path}: ${what}, but ${writer}: such keys are honoured only ` +
      'from a file that only root can write (chown root and chmod go-w the file and its directories, or ' +
      'remove the key)',
  });
  return [
    ...programSites(model).map((s) => issue(s.path, 'names a program that root runs')),
    ...weakeningSites(model).map((s) => issue(s.path, `weakens the router's security (${s.key.webReadOnly})`)),
  ];
}

/** `writer`: who else can write the file read from disk (filetrust.ts); undefined when only trusted users. */
function analyse(path: string, text: string, options: LoadOptions, writer?: string): Analysis {
  const format = options.format ?? detectFormat(path, text);
  const fe: FrontEndResult | YamlResult =
    format === 'lvs.cf' ? parseLvsCf(text, path) : parseYaml(text, path);
  const diagnostics: ConfigDiagnostic[] = [...fe.diagnostics];
  const locate = (p: string, unknownKey = false): SourcePos => {
    if (unknownKey && 'keyPositions' in fe) {
      const k = (fe as YamlResult).keyPositions.get(p);
      if (k) return k;
    }
    let q = p;
    for (;;) {
      const pos = fe.positions.get(q);
      if (pos) return pos;
      // No value written here: point at the first sibling key written under the same section.
      let first: SourcePos | undefined;
      for (const [k, v] of fe.positions)
        if (
          k.startsWith(`${q}.`) &&
          (!first || v.line < first.line || (v.line === first.line && v.col < first.col))
        )
          first = v;
      if (first) return first;
      const i = q.lastIndexOf('.');
      if (i < 0) return { file: path, line: 1, col: 1 };
      q = q.slice(0, i);
    }
  };
  /** lvs.cf: say `virtual http: scheduler` instead of `virtual_servers.0.scheduler`. */
  const rename = (p: string, message: string): string => {
    if (format !== 'lvs.cf' || !message.startsWith(`${p}: `)) return message;
    const key = fe.keyNames.get(p);
    if (!key) return message;
    const m = /^(virtual_servers\.\d+(?:\.real_servers\.\d+)?|failover_services\.\d+)\./.exec(p);
    const ctx = m ? fe.keyNames.get(m[1]!) : undefined;
    const inner = m?.[1]?.includes('real_servers')
      ? fe.keyNames.get(m[1]!.replace(/\.real_servers\.\d+$/, ''))
      : undefined;
    return `${[inner, ctx].filter(Boolean).join(', ')}${ctx ? ': ' : ''}${key}: ${message.slice(p.length + 2)}`;
  };
  // A value written under a key's old name is the key's: its positions follow it.
  const aliases = resolveAliases(fe.doc);
  const maps: Map<string, unknown>[] = [fe.positions, fe.keyNames];
  if ('keyPositions' in fe) maps.push((fe as YamlResult).keyPositions);
  for (const [from, to] of aliases.moved)
    for (const map of maps)
      for (const [p, v] of [...map])
        if (p === from || p.startsWith(`${from}.`)) map.set(to + p.slice(from.length), v);
  const { doc, issues } = validateDocument(fe.doc);
  const badPaths: string[] = [...(fe.failedPaths ?? [])];
  for (const is of [...aliases.issues, ...issues]) {
    if (is.severity !== 'warning') badPaths.push(is.path);
    diagnostics.push({
      ...locate(is.path, is.unknownKey || is.atKey),
      severity: is.severity ?? 'error',
      message: rename(is.path, is.message),
    });
  }
  const model = documentToModel(doc);
  // A YAML syntax error leaves a partial document: semantic checks on it would only add noise.
  const syntaxBroken = format !== 'lvs.cf' && fe.diagnostics.some((d) => d.severity === 'error');
  const semantic: SemanticIssue[] = syntaxBroken ? [] : checkSemantics(model);
  if (!syntaxBroken && format !== 'lvs.cf') semantic.push(...checkNativeAuth(model, authWritten(fe.doc)));
  if (options.hostChecks) semantic.push(...checkHost(model, options.host ?? localHost));
  if (writer !== undefined && !syntaxBroken) semantic.push(...untrustedPrograms(model, writer));
  for (const s of semantic) {
    // A value the schema already rejected was replaced by its default: do not report it twice.
    if (badPaths.some((b) => s.path === b || s.path.startsWith(`${b}.`) || b.startsWith(`${s.path}.`)))
      continue;
    diagnostics.push({ ...locate(s.path), severity: s.severity, message: s.message });
  }
  diagnostics.sort(ORDER);
  return { model, diagnostics: capDiagnostics(diagnostics) };
}

/**
 * Most diagnostics reported for one file: the first ones in file order, then one line that counts the
 * rest. A broken file of 20,000 lines gave ~100,000 diagnostics (issue 17); nobody reads past the first
 * screen, and the log, the control reply and the web page must stay small.
 */
export const MAX_DIAGNOSTICS = 100;

/** The first {@link MAX_DIAGNOSTICS} diagnostics and, when some were left out, one that counts them. */
export function capDiagnostics(all: ConfigDiagnostic[], max = MAX_DIAGNOSTICS): ConfigDiagnostic[] {
  if (all.length <= max) return all;
  const kept = all.slice(0, max);
  const rest = all.slice(max);
  const errors = rest.filter((d) => d.severity === 'error').length;
  const first = rest[0]!;
  // An error among those left out keeps the file refused: the marker is an error then.
  kept.push({
    file: first.file,
    line: first.line,
    col: first.col,
    severity: errors > 0 ? 'error' : 'warning',
    message: `and ${rest.length} more problems from here on (${errors} errors, ${rest.length - errors} warnings), not shown`,
  });
  return kept;
}

/** Whether a native document writes `heartbeat.auth` itself (any value, even a wrong one). */
function authWritten(doc: unknown): boolean {
  const hb = (doc as { heartbeat?: unknown } | undefined)?.heartbeat;
  if (typeof hb !== 'object' || hb === null) return false;
  const auth = (hb as { auth?: unknown }).auth;
  return auth !== undefined && auth !== null;
}

/**
 * Loads a config file into the model. `text` overrides reading `path` (which then only names the file).
 * A file read from disk that users other than root (and the reader) can change may name no program root
 * runs (filetrust.ts): each such key is an error at its line.
 * @returns the model and the warnings.
 * @throws ConfigError with every diagnostic (errors and warnings) when there is at least one error;
 *   an unreadable file is a ConfigError too.
 */
export function loadConfig(
  path: string,
  text?: string,
  options: LoadOptions = {},
): { model: LvsModel; warnings: ConfigDiagnostic[] } {
  const body = text ?? readText(path);
  const { model, diagnostics } = analyse(
    path,
    body,
    options,
    text === undefined ? fileWriters(path) : undefined,
  );
  if (diagnostics.some((d) => d.severity === 'error')) throw new ConfigError(diagnostics);
  return { model, warnings: diagnostics };
}

/** The error for a config file that cannot be read, positioned at its start like every other. */
export function unreadableFile(path: string, e: unknown): ConfigError {
  return new ConfigError([
    {
      file: path,
      line: 1,
      col: 1,
      severity: 'error',
      message: `cannot read the file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    },
  ]);
}

/**
 * Largest configuration file read (4 MiB; a real lvs.cf of thousands of real servers is a few hundred KiB).
 * A file above it is refused before it is parsed, so its size cannot stall whoever reads it.
 */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/**
 * Reads a configuration file the way the root daemon may: a regular file only (a FIFO, a device such as
 * /dev/zero, a directory or a socket is refused without reading it: opened non-blocking, checked with
 * fstat on the descriptor), at most {@link MAX_CONFIG_BYTES}. A symlink is followed: only root may name
 * an arbitrary path (the control socket's grant table), and what counts is the file it reaches.
 * @throws ConfigError positioned at line 1.
 */
export function readConfigText(path: string, maxBytes = MAX_CONFIG_BYTES): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw unreadableFile(path, e);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      const what = st.isFIFO()
        ? 'a FIFO'
        : st.isCharacterDevice() || st.isBlockDevice()
          ? 'a device'
          : st.isDirectory()
            ? 'a directory'
            : st.isSocket()
              ? 'a socket'
              : 'not a regular file';
      throw unreadableFile(path, new Error(`it is ${what}, not a regular file`));
    }
    if (st.size > maxBytes)
      throw unreadableFile(
        path,
        new Error(`it is ${st.size} bytes, larger than the ${maxBytes}-byte limit of a configuration file`),
      );
    // One byte more than fstat said: a file that grows while it is read is refused, not cut.
    const buf = Buffer.alloc(st.size + 1);
    let n = 0;
    for (;;) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      n += r;
      if (r === 0 || n === buf.length) break;
    }
    if (n > st.size) throw unreadableFile(path, new Error('it changed while it was read: try again'));
    return buf.subarray(0, n).toString('utf8');
  } catch (e) {
    throw e instanceof ConfigError ? e : unreadableFile(path, e);
  } finally {
    closeSync(fd);
  }
}

function readText(path: string): string {
  return readConfigText(path);
}

/** Result of `pulse --check-config`. */
export interface CheckResult {
  /** No errors (warnings allowed): exit 0. */
  ok: boolean;
  /** Every error and warning, in file order. */
  diagnostics: ConfigDiagnostic[];
  /** The model (also when there are errors: invalid values are replaced by defaults). */
  model?: LvsModel;
  /** One-screen summary when ok. */
  summary?: string;
}

/**
 * Checks a config file as `pulse --check-config` does: all diagnostics, host checks as warnings, and a
 * summary when there is no error. Never throws.
 */
export function checkConfig(path: string, options: LoadOptions & { text?: string } = {}): CheckResult {
  let body: string;
  try {
    body = options.text ?? readText(path);
  } catch (e) {
    return { ok: false, diagnostics: (e as ConfigError).diagnostics };
  }
  const writer = options.text === undefined ? fileWriters(path) : undefined;
  const { model, diagnostics } = analyse(path, body, { hostChecks: true, ...options }, writer);
  const ok = !diagnostics.some((d) => d.severity === 'error');
  return ok ? { ok, diagnostics, model, summary: summarize(model) } : { ok, diagnostics, model };
}

/** `FILE:LINE:COL: message`, with `warning: ` before warnings' messages. */
export function formatDiagnostic(d: ConfigDiagnostic): string {
  return `${d.file}:${d.line}:${d.col}: ${d.severity === 'warning' ? 'warning: ' : ''}${d.message}`;
}

/** The model as text in the given format (deterministic). */
export function dumpConfig(model: LvsModel, format: 'yaml' | 'lvs.cf'): string {
  return format === 'yaml' ? dumpYaml(model) : dumpLvsCf(model);
}

const ms = (n: number) => (n >= 1000 && n % 1000 === 0 ? `${n / 1000} s` : `${n} ms`);
const fl = (f: { address: string; prefixLength: number; device?: string; label?: string }) =>
  `${f.address}/${f.prefixLength}${f.device ? ` on ${f.device}` : ''}${f.label && f.label !== f.device ? ` (${f.label})` : ''}`;

/** A one-screen summary: routers, heartbeat paths and timers, VIPs, virtual servers with real servers. */
export function summarize(m: LvsModel): string {
  const L: string[] = [];
  L.push(`service ${m.service}, serial ${m.serialNo}, network ${m.network}, LB backend ${m.lb.backend}`);
  const r = (x: { address: string; privateAddress?: string; priority: number }) =>
    `${x.address || '(missing)'}${x.privateAddress ? ` private ${x.privateAddress}` : ''}, priority ${x.priority}`;
  L.push(`primary: ${r(m.primary)}`);
  L.push(
    m.backup
      ? `backup:  ${r(m.backup)}${m.backupActive ? '' : ' (backup_active = 0: not run)'}`
      : 'backup:  none',
  );
  const hb = m.heartbeat;
  const paths: string[] = [];
  if (m.backup) {
    paths.push(`${m.primary.address} <-> ${m.backup.address}`);
    if (m.primary.privateAddress && m.backup.privateAddress)
      paths.push(`${m.primary.privateAddress} <-> ${m.backup.privateAddress}`);
  }
  if (hb.multicast)
    paths.push(
      `multicast ${hb.multicast.group}${hb.multicast.interface ? ` on ${hb.multicast.interface}` : ''}`,
    );
  L.push(
    `heartbeat: udp/${hb.port} ${paths.join(', ') || '(no peer)'}; keepalive ${ms(hb.keepaliveMs)}, deadtime ${ms(hb.deadtimeMs)}; ` +
      `auth ${hb.auth}; preempt ${hb.preempt ? 'on' : 'off'}${hb.piranhaCompat ? '; piranha_compat' : ''}`,
  );
  const an = m.announce;
  L.push(
    `announce: ${an.count} × ${ms(an.intervalMs)} (${an.form})` +
      `${an.repeatCount > 0 && an.repeatDelayMs > 0 ? `, ${an.repeatCount} more after ${ms(an.repeatDelayMs)}` : ''}` +
      `${an.refreshMs > 0 ? `, refresh ${ms(an.refreshMs)}` : ''}`,
  );
  const vips = new Set<string>();
  for (const vs of m.virtualServers) if (vs.active && vs.vip.address) vips.add(fl(vs.vip));
  if (m.natRouter) vips.add(`${fl(m.natRouter)} (nat_router)`);
  L.push(`VIPs: ${[...vips].join(', ') || 'none'}`);
  L.push(`virtual servers: ${m.virtualServers.length}`);
  for (const vs of m.virtualServers) {
    const svc =
      vs.fwmark !== undefined
        ? `fwmark ${vs.fwmark} (${vs.vip.address})`
        : `${vs.protocol} ${vs.vip.address}:${vs.port}`;
    const mo = vs.monitor;
    L.push(
      `  ${vs.name}: ${svc} ${vs.scheduler}${vs.persistentS ? ` persistent ${vs.persistentS} s` : ''}` +
        `${vs.active ? '' : ' (inactive)'}; probe ${mo.kind} every ${ms(mo.intervalMs)}, timeout ${ms(mo.timeoutMs)}, fall ${mo.fall}, rise ${mo.rise}`,
    );
    for (const rs of vs.realServers)
      L.push(
        `    ${rs.name}: ${rs.address}:${rs.port} weight ${rs.weight} ${rs.forwarding ?? m.network}${rs.active ? '' : ' (inactive)'}`,
      );
    if (vs.sorryServer) L.push(`    sorry server: ${vs.sorryServer.address}:${vs.sorryServer.port}`);
  }
  if (m.failoverServices.length > 0) {
    L.push(`failover services (reported only): ${m.failoverServices.length}`);
    for (const f of m.failoverServices)
      L.push(`  ${f.name}: ${f.vip.address}:${f.port}${f.active ? '' : ' (inactive)'}`);
  }
  return `${L.join('\n')}\n`;
}

/** JSON with sorted keys (stable across key order), for hashing and comparing models. */
function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/**
 * A short stable hash (16 hex digits) of the load-balancing part of the model (network, NAT router,
 * IPVS timeouts, virtual and real servers with their probes), for peers to compare in the heartbeat.
 */
export function configHash(m: LvsModel): string {
  const lb = {
    network: m.network,
    natRouter: m.natRouter,
    timeouts: m.timeouts,
    virtualServers: m.virtualServers,
  };
  return createHash('sha256').update(stableJson(lb)).digest('hex').slice(0, 16);
}

/** A real server named within its virtual server. */
export interface RealServerRef {
  virtual: string;
  name: string;
}
/** What changed between two models, for a reload. */
export interface ModelDiff {
  /** Nothing at all differs. */
  unchanged: boolean;
  virtualServers: { added: string[]; removed: string[]; changed: { name: string; fields: string[] }[] };
  /** Real servers of virtual servers present in both models. */
  realServers: {
    added: RealServerRef[];
    removed: RealServerRef[];
    changed: (RealServerRef & { fields: string[] })[];
  };
  /** The set of floating addresses (active VIPs, nat_router) changed. */
  vipsChanged: boolean;
  /** Routers, heartbeat settings or priorities changed. */
  heartbeatChanged: boolean;
  /** Gratuitous ARP / NA settings changed. */
  announceChanged: boolean;
  /** network, nat_router, IPVS timeouts, sync daemon or LB backend settings changed. */
  lbGlobalChanged: boolean;
  /** configHash differs. */
  hashChanged: boolean;
}

const same = (a: unknown, b: unknown) => stableJson(a) === stableJson(b);
function fieldsDiffer<T extends object>(a: T, b: T, skip: string[] = []): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys]
    .filter(
      (k) => !skip.includes(k) && !same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
    )
    .sort();
}

/** Describes which virtual/real servers were added, removed or changed and which global parts changed. */
export function diffModels(old: LvsModel, next: LvsModel): ModelDiff {
  const byName = <T extends { name: string }>(xs: T[]) => new Map(xs.map((x) => [x.name, x]));
  const ov = byName(old.virtualServers);
  const nv = byName(next.virtualServers);
  const d: ModelDiff = {
    unchanged: same(old, next),
    virtualServers: { added: [], removed: [], changed: [] },
    realServers: { added: [], removed: [], changed: [] },
    vipsChanged: false,
    heartbeatChanged:
      !same(old.heartbeat, next.heartbeat) ||
      !same(old.primary, next.primary) ||
      !same(old.backup, next.backup) ||
      old.backupActive !== next.backupActive,
    announceChanged: !same(old.announce, next.announce),
    lbGlobalChanged:
      old.network !== next.network ||
      !same(old.natRouter, next.natRouter) ||
      !same(old.timeouts, next.timeouts) ||
      !same(old.syncDaemon, next.syncDaemon) ||
      !same(old.lb, next.lb),
    hashChanged: configHash(old) !== configHash(next),
  };
  for (const [name, vs] of nv) {
    const o = ov.get(name);
    if (!o) {
      d.virtualServers.added.push(name);
      continue;
    }
    const fields = fieldsDiffer(o, vs, ['realServers']);
    if (fields.length > 0) d.virtualServers.changed.push({ name, fields });
    const or = byName(o.realServers);
    const nr = byName(vs.realServers);
    for (const [rn, rs] of nr) {
      const orr = or.get(rn);
      if (!orr) d.realServers.added.push({ virtual: name, name: rn });
      else {
        const f = fieldsDiffer(orr, rs);
        if (f.length > 0) d.realServers.changed.push({ virtual: name, name: rn, fields: f });
      }
    }
    for (const rn of or.keys()) if (!nr.has(rn)) d.realServers.removed.push({ virtual: name, name: rn });
  }
  for (const name of ov.keys()) if (!nv.has(name)) d.virtualServers.removed.push(name);
  const vips = (m: LvsModel) =>
    [
      ...new Set([
        ...m.virtualServers.filter((v) => v.active).map((v) => stableJson(v.vip)),
        stableJson(m.natRouter ?? null),
      ]),
    ].sort();
  d.vipsChanged = !same(vips(old), vips(next));
  return d;
}
