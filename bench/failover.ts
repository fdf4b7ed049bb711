/**
 * `npm run bench:failover`: the client-visible failover outage on the lab, lvs-pulse against keepalived
 * (Debian's package) in the same run and on the same topology.
 *
 * Crash = both links of the active router cut at the switch in ONE `ip -batch` (so every heartbeat path dies
 * at the same instant, as in a power loss), then kill -9 of its daemon. The client starts a new HTTP request
 * to the VIP every 5 ms; a request counts as served only if answered within 50 ms; the outage is the longest
 * run of unserved starts (lab/prober.ts). Takeover = cut → first ARP for the VIP seen on the client's
 * wire (tcpdump), the same yardstick for every contender; for lvs-pulse also cut → decision (daemon log).
 * Planned switchover = SIGTERM of the active's daemon: failed requests and SIGTERM → first ARP.
 *
 * Contenders run round-robin (rep 1 of each, then rep 2 …) so the shared machine's noise falls on all alike.
 *
 * Options: --reps N (default 5), --only NAMES (comma-separated; default: the five standard contenders),
 *   --extra 'name=lvs.cf line;line' (repeatable: more lvs-pulse contenders, e.g. a lever switched off),
 *   --no-graceful, --tag T (file name suffix).
 * Writes bench/results/failover-<date>[-tag].md.
 */
import { writeResult } from './report';
import { type ChildProcess, execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../src/config';
import { buildLbRuleset } from '../src/ipvs/nftrules';
import { LabPair, ROOT, type RouterName, stopProber } from '../lab/pair';
import { LAB_NET } from '../lab/topology';

interface Trial {
  outageMs: number;
  failed: number;
  requests: number;
  /** Cut (or SIGTERM) → first ARP for the VIP on the client's wire, ms. */
  garpMs: number;
  /** lvs-pulse only: cut → the standby's transition to active (daemon log, ms resolution). */
  decisionMs?: number;
  /** The standby became active/master before the cut (a false failover while idle or settling). */
  flaps: number;
}

export interface Contender {
  name: string;
  setting: string;
  kind: 'pulse' | 'keepalived';
  /** lvs.cf global lines for pulse; advert_int for keepalived. */
  globals?: string[];
  advertInt?: number;
}

/** The fast profile (docs/fast-profile.md): the lvs.cf lines. */
export const FAST_PROFILE = ['keepalive = 0.002', 'deadtime = 0.012'];

export const CONTENDERS: Contender[] = [
  { name: 'pulse-default', setting: 'lvs-pulse, shipped defaults', kind: 'pulse', globals: [] },
  {
    name: 'pulse-fast',
    setting: `lvs-pulse, fast profile (${FAST_PROFILE.join(', ')})`,
    kind: 'pulse',
    globals: FAST_PROFILE,
  },
  { name: 'keepalived-1', setting: 'keepalived, advert_int 1 (default)', kind: 'keepalived', advertInt: 1 },
  {
    name: 'keepalived-0.1',
    setting: 'keepalived, advert_int 0.1 (VRRPv3)',
    kind: 'keepalived',
    advertInt: 0.1,
  },
  {
    name: 'keepalived-0.01',
    setting: 'keepalived, advert_int 0.01 (VRRPv3, its floor)',
    kind: 'keepalived',
    advertInt: 0.01,
  },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function keepalivedConf(r: RouterName, advertInt: number): string {
  const prio = r === 'r1' ? 200 : 100;
  return `global_defs {
  router_id ${r}
  vrrp_version 3
  vrrp_garp_master_delay 0
  vrrp_garp_master_repeat 3
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority ${prio}
  advert_int ${advertInt}
  virtual_ipaddress {
    ${LAB_NET.vip}/32 dev eth0
    ${LAB_NET.natGateway}/24 dev eth1
  }
}
`;
}

/**
 * keepalived's pair on the same lab: the same nft DNAT table installed on both routers (hot standby, like
 * lvs-pulse's), one keepalived per router namespace with its own config and pid files in the pair's temp dir.
 */
async function startKeepalived(pair: LabPair, advertInt: number): Promise<void> {
  const model = loadConfig(pair.configPath).model;
  const ruleset = buildLbRuleset(model, new Map());
  for (const r of ['r1', 'r2'] as const) {
    await pair.lab.exec(r, 'nft', ['-f', '-'], ruleset);
    const conf = join(pair.dir, `keepalived-${r}.conf`);
    writeFileSync(conf, keepalivedConf(r, advertInt));
    const p = pair.lab.spawn(r, 'keepalived', [
      '--dont-fork',
      '--log-console',
      '--vrrp',
      '-f',
      conf,
      '-p',
      join(pair.dir, `ka-${r}.pid`),
      '-r',
      join(pair.dir, `ka-vrrp-${r}.pid`),
    ]);
    const log = pair.routers[r].log;
    const onData = (c: Buffer) => {
      for (const l of c.toString().split('\n')) if (l) log.push(l);
    };
    p.stdout!.on('data', onData);
    p.stderr!.on('data', onData);
    pair.routers[r].proc = p;
  }
}

/** Waits until `r` alone holds the VIP (and the NAT gateway address). */
async function waitHolder(pair: LabPair, r: RouterName, timeoutMs = 20000): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const h = await pair.holders();
    const g = await pair.holders(LAB_NET.natGateway);
    if (h.length === 1 && h[0] === r && g.length === 1 && g[0] === r) return Date.now() - t0;
    await sleep(20);
  }
  throw new Error(
    `${r} did not become the only VIP holder within ${timeoutMs} ms:\n${pair.routers.r1.log.slice(-20).join('\n')}\n${pair.routers.r2.log.slice(-20).join('\n')}`,
  );
}

/** Waits until r2 holds the VIP (r1 may still have it on its cut interface: count r2 only). */
async function waitR2(pair: LabPair, t0: number): Promise<void> {
  for (;;) {
    const { stdout } = await pair.lab.exec('r2', 'ip', ['-j', 'addr', 'show', 'dev', 'eth0']);
    if (stdout.includes(`"${LAB_NET.vip}"`)) return;
    if (Date.now() - t0 > 20000) throw new Error('r2 never took the VIP');
    await sleep(5);
  }
}

/** tcpdump of ARP on the client's wire, epoch timestamps; resolves once it listens. */
async function arpWatch(pair: LabPair): Promise<{ proc: ChildProcess; firstVipArpAfter(t: number): number }> {
  const proc = pair.lab.spawn('client', 'tcpdump', ['-i', 'eth0', '-n', '-l', '-tt', '-p', 'arp']);
  const times: number[] = [];
  let buf = '';
  proc.stdout!.on('data', (c: Buffer) => {
    buf += c.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) {
      // "1795632218.210 ARP, Request who-has 198.18.0.10 tell 198.18.0.10" or "ARP, Reply 198.18.0.10 is-at …"
      if (l.includes(`tell ${LAB_NET.vip},`) || l.includes(`Reply ${LAB_NET.vip} is-at`))
        times.push(Number(l.split(' ')[0]) * 1000);
    }
  });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('tcpdump did not start')), 5000);
    proc.stderr!.on('data', (c: Buffer) => {
      if (c.toString().includes('listening on')) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  return {
    proc,
    firstVipArpAfter: (t: number) => {
      const x = times.find((v) => v >= t);
      return x === undefined ? Number.NaN : Math.round((x - t) * 10) / 10;
    },
  };
}

const PULSE_UP = /heartbeat: \w+ -> active/;
const KA_UP = /Entering MASTER STATE/;

/**
 * r2's first transition to active in its log lines `from`…, as epoch ms: the heartbeat process's own
 * `decided_ms` (µs) when present, else the log line's ISO timestamp (ms, taken after the IPC hop).
 */
function decisionAt(pair: LabPair, from: number): number | undefined {
  const l = pair.routers.r2.log.slice(from).find((x) => PULSE_UP.test(x));
  const d = l?.match(/decided_ms=([\d.]+)/);
  if (d) return Number(d[1]);
  const m = l?.match(/^(\d{4}-\d\d-\d\dT[\d:.]+Z)/);
  return m ? Date.parse(m[1]!) : undefined;
}

/** Times the standby (r2) became master/active in log lines [0, to): a false failover before the cut. */
function flapsBefore(pair: LabPair, to: number): number {
  return pair.routers.r2.log.slice(0, to).filter((x) => PULSE_UP.test(x) || KA_UP.test(x)).length;
}

async function trial(c: Contender, mode: 'crash' | 'graceful'): Promise<Trial> {
  const pair = await LabPair.create({
    prefix: mode === 'crash' ? 'bf' : 'bg',
    globals: c.globals,
    start: c.kind === 'pulse',
  });
  try {
    if (c.kind === 'keepalived') await startKeepalived(pair, c.advertInt!);
    await waitHolder(pair, 'r1', c.kind === 'keepalived' ? 30000 : 20000);
    // Let the pair settle (caches warm, standby hot, start-up ARP bursts over).
    await sleep(1500);
    const arp = await arpWatch(pair);
    const prober = pair.startProber();
    await sleep(1500);
    const proc = pair.routers.r1.proc!;
    const logMark = pair.routers.r2.log.length;
    let t0: number;
    if (mode === 'crash') {
      // Both switch ports down in one process, microseconds apart; then the daemon dies.
      const ports = (['eth0', 'eth1'] as const).map((i) => pair.lab.switchPort('r1', i));
      await pair.lab.exec('sw', 'ip', ['-batch', '-'], ports.map((p) => `link set ${p} down\n`).join(''));
      t0 = Date.now();
      if (proc.pid) process.kill(-proc.pid, 'SIGKILL');
    } else {
      t0 = Date.now();
      process.kill(proc.pid!, 'SIGTERM');
    }
    await waitR2(pair, t0);
    await sleep(1500);
    const s = await stopProber(prober);
    const garpMs = arp.firstVipArpAfter(t0);
    const d = c.kind === 'pulse' ? decisionAt(pair, logMark) : undefined;
    return {
      outageMs: s.outageMs,
      failed: s.failed,
      requests: s.requests,
      garpMs,
      flaps: flapsBefore(pair, logMark),
      ...(d !== undefined ? { decisionMs: d - t0 } : {}),
    };
  } finally {
    await pair.destroy();
  }
}

export function stats(xs: number[]): { min: number; median: number; max: number } {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const mid = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return { min: s[0] ?? Number.NaN, median: mid ?? Number.NaN, max: s[s.length - 1] ?? Number.NaN };
}

const f1 = (x: number) => (Number.isFinite(x) ? String(Math.round(x * 10) / 10) : '-');

/** Decision → first GARP from the newest bench/results/garp-latency-*-1vip-netlink-load0 (the daemon's setup). */
function garpFigure(): string {
  try {
    const dir = join(ROOT, 'bench', 'results');
    const f = readdirSync(dir)
      .filter((n) => /^garp-latency-.*-1vip-netlink-load0\.md$/.test(n))
      .sort()
      .pop();
    if (!f) return 'no garp-latency result found (npm run bench:garp)';
    const row = readFileSync(join(dir, f), 'utf8')
      .split('\n')
      .find((l) => l.startsWith('| frame at client eth0'));
    const cells = row?.split('|').map((x) => x.trim());
    return cells
      ? `${f}: decision → first GARP at the client, median ${cells[4]} ms, p90 ${cells[5]} ms, max ${cells[6]} ms (n ${cells[2]})`
      : f;
  } catch {
    return 'unavailable';
  }
}

function keepalivedVersion(): string {
  // keepalived prints its version on stderr.
  const r = spawnSync('keepalived', ['--version'], { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')[0]?.trim() || 'keepalived (version unknown)';
}

async function main(): Promise<void> {
  const o = new Command('bench:failover')
    .option('--reps <n>', 'repetitions per contender', '5')
    .option('--only <names>', 'comma-separated contenders', CONTENDERS.map((c) => c.name).join(','))
    .option(
      '--extra <spec>',
      "extra lvs-pulse contender 'name=line;line' (repeatable)",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--no-graceful', 'skip the planned-switchover trials')
    .option('--tag <t>', 'suffix for the result file name', '')
    .parse()
    .opts<{ reps: string; only: string; extra: string[]; graceful: boolean; tag: string }>();
  const reps = Number(o.reps);
  const chosen = CONTENDERS.filter((c) => o.only.split(',').includes(c.name));
  for (const spec of o.extra) {
    const [name, lines = ''] =
      spec.split('=', 2).length === 2
        ? [spec.slice(0, spec.indexOf('=')), spec.slice(spec.indexOf('=') + 1)]
        : [spec];
    const globals = lines
      .split(';')
      .map((l) => l.trim())
      .filter(Boolean);
    chosen.push({
      name: name!,
      setting: `lvs-pulse, ${globals.join(', ') || 'defaults'}`,
      kind: 'pulse',
      globals,
    });
  }
  const load0 = loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  const started = new Date();
  const results: Record<string, { crash: Trial[]; graceful: Trial[] }> = {};
  for (const c of chosen) results[c.name] = { crash: [], graceful: [] };
  for (let i = 0; i < reps; i++) {
    for (const c of chosen) {
      const t = await trial(c, 'crash');
      results[c.name]!.crash.push(t);
      process.stdout.write(
        `${c.name} crash #${i + 1}: outage ${t.outageMs} ms, first ARP ${t.garpMs} ms${t.decisionMs !== undefined ? `, decision ${t.decisionMs} ms` : ''}, failed ${t.failed}/${t.requests}${t.flaps ? `, STANDBY FLAPPED ${t.flaps}× BEFORE THE CUT` : ''}\n`,
      );
    }
  }
  if (o.graceful)
    for (const c of chosen) {
      const t = await trial(c, 'graceful');
      results[c.name]!.graceful.push(t);
      process.stdout.write(
        `${c.name} planned switchover: failed ${t.failed}/${t.requests}, outage ${t.outageMs} ms, first ARP ${t.garpMs} ms\n`,
      );
    }
  const load1 = loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  const refName = results['keepalived-0.01']
    ? 'keepalived-0.01'
    : results['keepalived-0.1']
      ? 'keepalived-0.1'
      : undefined;
  const refMedian = refName ? stats(results[refName]!.crash.map((t) => t.outageMs)).median : Number.NaN;
  const rows: string[] = [
    '| contender | crash outage ms min / median / max | ratio to ref (median) | cut → first ARP ms median (min–max) | cut → decision ms median | decision → first ARP at the client ms median (max) | planned switchover: failed / requests (SIGTERM → first ARP ms) | standby flaps before the cut |',
    '|---|---|---:|---|---:|---|---|---:|',
  ];
  for (const c of chosen) {
    const r = results[c.name]!;
    const s = stats(r.crash.map((t) => t.outageMs));
    const g = stats(r.crash.map((t) => t.garpMs));
    const d = stats(r.crash.map((t) => t.decisionMs ?? Number.NaN));
    const dg = stats(r.crash.map((t) => (t.decisionMs === undefined ? Number.NaN : t.garpMs - t.decisionMs)));
    const p = r.graceful[0];
    rows.push(
      `| ${c.setting} | ${f1(s.min)} / **${f1(s.median)}** / ${f1(s.max)} | ${Number.isFinite(refMedian) && refMedian > 0 ? (s.median / refMedian).toFixed(2) : '-'} | ${f1(g.median)} (${f1(g.min)}–${f1(g.max)}) | ${f1(d.median)} | ${Number.isFinite(dg.median) ? `${dg.median.toFixed(2)} (${dg.max.toFixed(2)})` : '-'} | ${p ? `${p.failed} / ${p.requests} (${f1(p.garpMs)})` : '-'} | ${[...r.crash, ...r.graceful].reduce((a, t) => a + t.flaps, 0)} |`,
    );
  }
  const raw = chosen.map(
    (c) =>
      `- ${c.name}: outages ${results[c.name]!.crash.map((t) => t.outageMs).join(', ')} ms; first ARP ${results[c.name]!.crash.map((t) => t.garpMs).join(', ')} ms${c.kind === 'pulse' ? `; decision ${results[c.name]!.crash.map((t) => t.decisionMs ?? '-').join(', ')} ms` : ''}`,
  );
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, kernel ${execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim()}, node ${process.version}, ${keepalivedVersion()}`;
  const md = [
    `# Failover benchmark, ${started.toISOString()}`,
    '',
    `Machine: ${machine}. Shared with other work: load average ${load0} at the start, ${load1} at the end (no load added by the benchmark).`,
    `Reference for ratios: ${refName ?? 'none'} (median ${f1(refMedian)} ms).`,
    `Method: crash = both links of the active cut at the switch in one \`ip -batch\`, then kill -9 of its daemon; a new HTTP request from the client every 5 ms, served only if answered within 50 ms; outage = longest run of unserved starts. ${reps} repetitions each, contenders round-robin, a fresh lab per trial. First ARP = first ARP for the VIP seen by tcpdump on the client's interface after the cut. Decision = the standby's transition in its log. Planned switchover = SIGTERM of the active's daemon, one trial each.`,
    `Decision → first GARP on the wire (bench/garp-latency.ts): ${garpFigure()}.`,
    '',
    ...rows,
    '',
    'Raw figures:',
    '',
    ...raw,
    '',
  ].join('\n');
  process.stdout.write(`\n${md}`);
  const file = writeResult(
    `failover-${started.toISOString().slice(0, 16).replace(':', '')}${o.tag ? `-${o.tag}` : ''}.md`,
    md,
  );
  process.stdout.write(`\nwritten: ${file}\n`);
}

if (require.main === module)
  main().catch((err: unknown) => {
    process.stderr.write(`bench:failover failed: ${(err as Error).stack}\n`);
    process.exit(1);
  });
