/**
 * `npm run bench:nanny` (= `tsx bench/nanny.ts`): one NannyPool watching 10,000 real servers at 1 Hz.
 *
 * Lab: a router namespace `lb` (runs the pool) and a server namespace `srv` joined by one veth pair (or, with
 * --wire bridge, both on a bridge in a third namespace: the old layout). Every real server
 * address is 198.19.x.y, routed from `lb` through ONE next hop (198.18.1.21), so the router's neighbour table
 * holds one entry (gc_thresh3 is 1024 here); `srv` accepts all of 198.19.0.0/16 with a single `local` route
 * on `lo` (AnyIP), and one small C program (bench/lab-server.c) serves every address. A share of the servers fails in different ways:
 * refused (no listener), silent host (nftables drop in `srv`), hang (accepts, never answers), HTTP 503.
 * Probe kinds are mixed: TCP connect, HTTP GET, send/expect.
 *
 * Reports the prober process's CPU (% of one core), RSS, probe lateness p50/p99/max (how late each probe's
 * timer fired against its due time), probe duration p50/p99, event-loop delay (perf_hooks
 * monitorEventLoopDelay), event-loop utilization, the main thread's run-queue wait, the lateness of a 20 ms
 * "heartbeat" interval timer in the same process, the lab server process's CPU, and the SYNs per second
 * the servers' namespace counted.
 *
 * --rx threads (default): veth normally runs the receiver's kernel work in the sender's syscall, so the
 * servers' TCP work was charged to the prober. Here each end's received packets go to its own threaded
 * NAPI kernel thread (needs ethtool), as another machine's NIC would take them; the router's figure is
 * then the prober process + its receive thread. --rx sender keeps veth's default.
 * --peer haproxy: the same lab and probe mix checked by HAProxy (one thread) instead of our pool, for a
 * ratio against a production C health checker in the same conditions. --compare haproxy: ours, HAProxy,
 * ours again, then a table of the three with the ratios (…-compare-haproxy-….md besides each run's file).
 *
 * Options: --servers N (10000) --duration S (60) --warmup S (15) --timers heap|per-entry (heap)
 *          --interval MS (1000) --timeout MS (500) --kinds LIST (tcp,http,send_expect) --wire veth|bridge
 *          --rx threads|sender --peer haproxy --compare haproxy --keep-alive --profile --lab-prefix P
 * Writes bench/results/nanny-<date>-<timers>-<servers>-<kinds>-<wire>[-rxsender][-keepalive][-haproxy]
 * [-noepoll].md (the last when LVS_PULSE_NANNY_NO_EPOLL is set: probes on net/tls sockets).
 * Needs root.
 */
import { writeResult } from './report';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import {
  createHistogram,
  monitorEventLoopDelay,
  performance,
  type RecordableHistogram,
} from 'node:perf_hooks';
import { Command } from 'commander';
import { buildSync } from 'esbuild';
import type { LvsModel, MonitorConfig, RealServer, VirtualServer } from '../src/config/model';
import { Lab } from '../lab/netns';
import { nullLog } from '../src/lib/log';
import { NannyPool } from '../src/nanny/pool';
import { type Clock, type Scheduler, systemClock, type TimerEntry } from '../src/nanny/scheduler';

const SRV = '198.18.1.21';
const LB = '198.18.1.11';
const PER_VS = 100;

/**
 * Failure mix by the last octet of the address (`(i % 254) + 1`), so every probe kind meets every kind of
 * failure and one nftables rule on the octet makes the silent hosts: 1–13 silent (5 %), 14–26 refused
 * (5 %), 27–34 hang (3 %), 35–39 HTTP 503 (2 %), the rest healthy.
 */
type Role = 'silent' | 'refused' | 'hang' | 'http503' | 'ok';
const SILENT_LAST_OCTET = 13;

interface Opts {
  servers: number;
  duration: number;
  warmup: number;
  timers: 'heap' | 'per-entry';
  interval: number;
  timeout: number;
  kinds: string[];
  profile: boolean;
  wire: 'veth' | 'bridge';
  labPrefix: string;
  keepAlive: boolean;
  peer?: 'haproxy';
  rx: 'threads' | 'sender';
}

function addressOf(i: number): string {
  return `198.19.${Math.floor(i / 254)}.${(i % 254) + 1}`;
}

function roleOf(i: number): Role {
  const k = i % 254;
  if (k < SILENT_LAST_OCTET) return 'silent';
  if (k < 26) return 'refused';
  if (k < 34) return 'hang';
  if (k < 39) return 'http503';
  return 'ok';
}

const PORT: Record<Role, number> = { ok: 80, silent: 80, refused: 81, hang: 82, http503: 83 };

/** Whether server i should end up down under probe kind `kind` (a TCP connect sees hang and 503 as up). */
function expectDown(i: number, kind: string): boolean {
  if (kind === 'none') return false;
  const r = roleOf(i);
  if (r === 'silent' || r === 'refused') return true;
  if (r === 'hang' || r === 'http503') return kind !== 'tcp';
  return false;
}

function buildModel(o: Opts): LvsModel {
  const base: MonitorConfig = {
    kind: 'tcp',
    useRegex: false,
    timeoutMs: o.timeout,
    intervalMs: o.interval,
    fall: 1,
    rise: 2,
    jitterMs: o.interval,
    quiesce: false,
    loadMonitor: { kind: 'none' },
    slowStartMs: 0,
  };
  const all: Record<string, MonitorConfig> = {
    tcp: { ...base, kind: 'tcp' },
    none: { ...base, kind: 'none' },
    http: { ...base, kind: 'http', http: { path: '/', status: [], insecure: false, keepAlive: o.keepAlive } },
    send_expect: { ...base, kind: 'send_expect', send: 'GET / HTTP/1.0\r\n\r\n', expect: 'HTTP/1.1 200' },
  };
  const kinds = o.kinds.map((k) => {
    const m = all[k];
    if (!m) throw new Error(`--kinds: unknown probe kind ${k}`);
    return m;
  });
  const virtuals: VirtualServer[] = [];
  for (let start = 0; start < o.servers; start += PER_VS) {
    const v = virtuals.length;
    const realServers: RealServer[] = [];
    for (let i = start; i < Math.min(o.servers, start + PER_VS); i++) {
      realServers.push({
        name: `rs${i}`,
        address: addressOf(i),
        port: PORT[roleOf(i)],
        weight: 1,
        active: true,
      });
    }
    virtuals.push({
      name: `vs${v}`,
      active: true,
      vip: { address: '198.18.0.10', prefixLength: 32 },
      protocol: 'tcp',
      port: 80,
      scheduler: 'wlc',
      persistentS: 0,
      monitor: kinds[v % kinds.length]!,
      realServers,
    });
  }
  return { virtualServers: virtuals } as unknown as LvsModel;
}

/** The naive alternative: one Node timer per entry (what 10,000 setIntervals amount to). */
class PerEntryScheduler implements Scheduler {
  private readonly timers = new Map<TimerEntry, ReturnType<typeof setTimeout>>();
  constructor(readonly clock: Clock) {}
  now(): number {
    return this.clock.now();
  }
  get size(): number {
    return this.timers.size;
  }
  schedule(e: TimerEntry, at: number): void {
    this.cancel(e);
    e.at = at;
    e.index = 0;
    this.timers.set(
      e,
      setTimeout(
        () => {
          this.timers.delete(e);
          e.index = -1;
          e.fire(Math.max(0, this.clock.now() - at));
        },
        Math.max(0, at - this.clock.now()),
      ),
    );
  }
  cancel(e: TimerEntry): void {
    const t = this.timers.get(e);
    if (t) clearTimeout(t);
    this.timers.delete(e);
    e.index = -1;
  }
  clear(): void {
    for (const e of [...this.timers.keys()]) this.cancel(e);
  }
}

function pct(
  h: RecordableHistogram | ReturnType<typeof monitorEventLoopDelay>,
  p: number,
  scale: number,
): number {
  return Math.round((h.percentile(p) / scale) * 100) / 100;
}

/** The main thread's time waiting for a CPU on a run queue (ns), from /proc/thread-self/schedstat. */
function schedStat(): { waitNs: number } {
  try {
    return { waitNs: Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[1]) };
  } catch {
    return { waitNs: Number.NaN };
  }
}

/** Runs inside `lb`: the pool under measurement. Prints one JSON line of results. */
async function prober(o: Opts): Promise<void> {
  const model = buildModel(o);
  const late = createHistogram();
  const dur = createHistogram();
  let failed = 0;
  let inconclusive = 0;
  let total = 0;
  let measuring = false;
  const pool = new NannyPool({
    model,
    log: nullLog,
    scheduler: o.timers === 'per-entry' ? new PerEntryScheduler(systemClock) : undefined,
    observe: (r, lateness) => {
      if (!measuring) return;
      total++;
      if (r.inconclusive) inconclusive++;
      else if (!r.ok) failed++;
      late.record(Math.max(1, Math.round(lateness * 1000))); // µs
      dur.record(Math.max(1, Math.round(r.ms * 1000)));
    },
  });
  let events = 0;
  pool.on('weight', () => events++);
  pool.start();
  await new Promise((r) => setTimeout(r, o.warmup * 1000));
  // measurement window
  measuring = true;
  const eld = monitorEventLoopDelay({ resolution: 10 });
  eld.enable();
  const hb = createHistogram();
  let hbLast = performance.now();
  const hbTimer = setInterval(() => {
    const now = performance.now();
    hb.record(Math.max(1, Math.round((now - hbLast - 20) * 1000) + 1));
    hbLast = now;
  }, 20);
  process.stdout.write('MEASURE-START\n');
  const elu0 = performance.eventLoopUtilization();
  const sched0 = schedStat();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let rssMax = 0;
  const rssTimer = setInterval(() => {
    rssMax = Math.max(rssMax, process.memoryUsage().rss);
  }, 500);
  await new Promise((r) => setTimeout(r, o.duration * 1000));
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const sched1 = schedStat();
  const elu = performance.eventLoopUtilization(elu0);
  process.stdout.write('MEASURE-END\n');
  clearInterval(rssTimer);
  clearInterval(hbTimer);
  eld.disable();
  rssMax = Math.max(rssMax, process.memoryUsage().rss);
  const states = { up: 0, down: 0, other: 0 };
  let expectedDown = 0;
  let wrong = 0;
  const wrongSample: string[] = [];
  const downDetails = new Map<string, number>();
  for (const v of pool.status()) {
    const kind = model.virtualServers.find((x) => x.name === v.name)!.monitor.kind;
    for (const r of v.realServers) {
      states[r.state === 'up' ? 'up' : r.state === 'down' ? 'down' : 'other']++;
      const exp = expectDown(Number(r.name.slice(2)), kind);
      if (exp) expectedDown++;
      if (r.state === 'down') {
        const d = `${kind}: ${(r.lastProbe?.detail ?? '').replace(/\d+/g, 'N').slice(0, 60)}`;
        downDetails.set(d, (downDetails.get(d) ?? 0) + 1);
      }
      if (exp !== (r.state === 'down')) {
        wrong++;
        if (wrongSample.length < 5)
          wrongSample.push(`${r.name} ${r.address}:${r.port} ${r.state}: ${r.lastProbe?.detail}`);
      }
    }
  }
  pool.stop();
  const result = {
    servers: o.servers,
    timers: o.timers,
    seconds: Math.round(wall / 100) / 10,
    probesPerSecond: Math.round(total / (wall / 1000)),
    cpuMicrosPerProbe: Math.round((cpu.user + cpu.system) / Math.max(1, total)),
    loadAverage: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
    failedShare: Math.round((failed / Math.max(1, total)) * 1000) / 10,
    inconclusiveShare: Math.round((inconclusive / Math.max(1, total)) * 1000) / 10,
    cpuPercentOfOneCore: Math.round(((cpu.user + cpu.system) / 1000 / wall) * 1000) / 10,
    cpuUserPercent: Math.round((cpu.user / 1000 / wall) * 1000) / 10,
    cpuSystemPercent: Math.round((cpu.system / 1000 / wall) * 1000) / 10,
    rssMB: Math.round(rssMax / 1048576),
    heapUsedMB: Math.round(process.memoryUsage().heapUsed / 1048576),
    latenessMs: { p50: pct(late, 50, 1000), p99: pct(late, 99, 1000), max: pct(late, 100, 1000) },
    probeMs: { p50: pct(dur, 50, 1000), p99: pct(dur, 99, 1000) },
    // monitorEventLoopDelay records the whole 10 ms sampling interval: subtract it to get the delay
    eventLoopDelayMs: {
      p50: Math.max(0, pct(eld, 50, 1e6) - 10),
      p99: Math.max(0, pct(eld, 99, 1e6) - 10),
      max: Math.max(0, pct(eld, 100, 1e6) - 10),
    },
    eventLoopUtilization: Math.round(elu.utilization * 1000) / 10,
    runQueueWaitPercent: Math.round(((sched1.waitNs - sched0.waitNs) / 1e6 / wall) * 1000) / 10,
    heartbeat20msLatenessMs: { p99: pct(hb, 99, 1000), max: pct(hb, 100, 1000) },
    states,
    expectedDown,
    wrongState: wrong,
    wrongSample,
    downDetails: Object.fromEntries([...downDetails].sort((a, b) => b[1] - a[1]).slice(0, 12)),
    events,
  };
  console.log(JSON.stringify(result));
  process.exit(0);
}

/**
 * The servers' listen backlog (SYN and accept queues). The C loop drains a full accept queue in a few tens
 * of ms, far under a probe timeout; the Node listeners it replaced could not (see lab-server.c).
 */
const SERVER_BACKLOG = 4096;

/**
 * Compiles bench/lab-server.c (the real servers: one epoll loop, canned replies; why C is said there) once
 * per run into /tmp and returns the binary's path.
 */
function labServer(): string {
  need('gcc', 'bench:nanny (its lab servers are a small C program)');
  const bin = `/tmp/lpn-lab-server-${process.pid}`;
  if (!labServerBuilt) {
    execFileSync('gcc', ['-O2', '-o', bin, join(__dirname, 'lab-server.c')], { stdio: 'inherit' });
    labServerBuilt = true;
    process.once('exit', () => rmSync(bin, { force: true }));
  }
  return bin;
}
let labServerBuilt = false;

/** utime and stime of process `pid` in seconds (from /proc; clock ticks of 1/100 s). */
function procCpu(pid: number | undefined): { user: number; sys: number } | undefined {
  if (!pid) return undefined;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return { user: Number(rest[11]) / 100, sys: Number(rest[12]) / 100 };
  } catch {
    return undefined;
  }
}

async function orchestrate(o: Opts): Promise<Record<string, unknown>> {
  const lab = await Lab.create(o.labPrefix);
  let rxThreads: { lb: number; srv: number } | undefined;
  try {
    await lab.addNs('lb');
    await lab.addNs('srv');
    if (o.wire === 'bridge') {
      await lab.addNs('sw');
      await lab.addBridge('sw', 'lan');
      await lab.connect('lb', 'eth0', 'sw', 'lan', [`${LB}/24`]);
      await lab.connect('srv', 'eth0', 'sw', 'lan', [`${SRV}/24`]);
    } else {
      // one veth pair, no bridge: a bridge in between (and br_netfilter's hooks on it, on by default in a
      // new namespace when the module is loaded) is forwarding work a real switch does, and veth runs it
      // in the sender's context, i.e. it was charged to the prober
      await lab.exec('lb', 'ip', ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'lpnsrv0']);
      await lab.exec('lb', 'ip', ['link', 'set', 'lpnsrv0', 'netns', lab.nsName('srv')]);
      await lab.exec('srv', 'ip', ['link', 'set', 'lpnsrv0', 'name', 'eth0']);
      await lab.exec('lb', 'ip', ['addr', 'add', `${LB}/24`, 'dev', 'eth0']);
      await lab.exec('srv', 'ip', ['addr', 'add', `${SRV}/24`, 'dev', 'eth0']);
      await lab.exec('lb', 'ip', ['link', 'set', 'eth0', 'up']);
      await lab.exec('srv', 'ip', ['link', 'set', 'eth0', 'up']);
    }
    if (o.rx === 'threads') {
      if (o.wire !== 'veth') throw new Error('--rx threads needs --wire veth (use --rx sender)');
      rxThreads = { srv: await threadedRx(lab, 'srv'), lb: await threadedRx(lab, 'lb') };
    }
    await lab.exec('lb', 'ip', ['route', 'add', '198.19.0.0/16', 'via', SRV]);
    await lab.exec('srv', 'ip', ['route', 'add', 'local', '198.19.0.0/16', 'dev', 'lo']);
    // silent hosts: last octet 1..13, every packet to them dropped in srv
    await lab.exec(
      'srv',
      'nft',
      ['-f', '-'],
      `table inet lpnbench {\n chain in {\n type filter hook input priority 0; policy accept;\n` +
        ` ip daddr 198.19.0.0/16 tcp flags & (syn | ack) == syn counter name syns\n` +
        ` ip daddr 198.19.0.0/16 ip daddr & 0.0.0.255 0.0.0.1-0.0.0.${SILENT_LAST_OCTET} drop\n }\n counter syns {}\n}\n`,
    );
    for (const k of ['net.core.somaxconn=8192', 'net.ipv4.tcp_max_syn_backlog=8192']) {
      await lab.exec('srv', 'sysctl', ['-qw', k]);
    }
    const self = join(__dirname, 'nanny.ts');
    const srv = lab.spawn('srv', labServer(), [String(SERVER_BACKLOG)]);
    await new Promise<void>((resolve, reject) => {
      srv.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      srv.once('exit', (c) => reject(new Error(`server exited ${c}`)));
    });
    // what is sampled around the measured window, whichever prober runs
    const sample = (): Sample => ({
      srv: procCpu(srv.pid),
      rxLb: procCpu(rxThreads?.lb),
      rxSrv: procCpu(rxThreads?.srv),
      syn: synCount(lab),
      overflows: listenOverflows(lab),
    });
    if (o.peer === 'haproxy') {
      const r = await haproxyPeer(o, lab, sample);
      report(o, r);
      return r;
    }
    // the prober runs as plain JavaScript, as the daemon does from dist/: under tsx, esbuild's keepNames
    // wraps every named closure in an Object.defineProperty call, paid per probe
    const bundle = join(__dirname, '.tmp-nanny-prober.cjs');
    buildSync({
      entryPoints: [self],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      packages: 'external',
      outfile: bundle,
      logLevel: 'error',
    });
    const args = [
      ...(o.profile ? ['--cpu-prof', '--cpu-prof-dir=/tmp/lpn-nanny-prof'] : []),
      bundle,
      '--role',
      'prober',
      '--servers',
      String(o.servers),
      '--duration',
      String(o.duration),
      '--warmup',
      String(o.warmup),
      '--timers',
      o.timers,
      '--interval',
      String(o.interval),
      '--timeout',
      String(o.timeout),
      '--kinds',
      o.kinds.join(','),
      ...(o.keepAlive ? ['--keep-alive'] : []),
    ];
    let s0: Sample | undefined;
    let s1: Sample | undefined;
    console.error(`bench:nanny ${o.servers} real servers, ${o.timers} timers, ${o.warmup}+${o.duration} s …`);
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn('ip', ['netns', 'exec', lab.nsName('lb'), process.execPath, ...args], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let s = '';
      p.stdout.on('data', (d: Buffer) => {
        s += d;
        if (!s0 && s.includes('MEASURE-START')) s0 = sample();
        if (!s1 && s.includes('MEASURE-END')) s1 = sample();
      });
      p.once('exit', (code) => (code === 0 ? resolve(s) : reject(new Error(`prober exited ${code}`))));
    }).finally(() => rmSync(bundle, { force: true }));
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>;
    if (s0 && s1) await addSides(r, s0, s1, Number(r['seconds']));
    report(o, r);
    return r;
  } finally {
    await lab.destroy();
  }
}

/** What the run was, for the result's file name: `10k-mixed-veth`, `5k-http-veth-keepalive`. */
function tag(o: Opts): string {
  const n = o.servers % 1000 === 0 ? `${o.servers / 1000}k` : String(o.servers);
  const kinds = o.kinds.join(',') === 'tcp,http,send_expect' ? 'mixed' : o.kinds.join('+');
  return [
    n,
    kinds,
    o.wire,
    ...(o.rx === 'sender' ? ['rxsender'] : []),
    ...(o.keepAlive ? ['keepalive'] : []),
    ...(o.peer ? [o.peer] : []),
    ...(o.peer ? [] : transportTag()),
  ].join('-');
}

/** The probe transport the environment forces (the engine off: net/tls sockets), for the file name. */
function transportTag(): string[] {
  return process.env['LVS_PULSE_NANNY_NO_EPOLL'] ? ['noepoll'] : [];
}

function report(o: Opts, r: Record<string, unknown>): void {
  const j = (v: unknown): string => (v === undefined ? '—' : JSON.stringify(v));
  const lines = [
    `# bench:nanny — ${new Date().toISOString()}`,
    '',
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}; node ${process.version}; kernel ${execFileSync('uname', ['-r']).toString().trim()}`,
    `Setup: ${o.servers} real servers (${PER_VS} per virtual; probe kinds ${o.kinds.join(' / ')} by virtual), ` +
      `interval ${o.interval} ms, timeout ${o.timeout} ms, jitter = interval; HTTP keep-alive ${o.keepAlive ? 'on' : 'off'}; failing by address: 5 % silent host ` +
      `(nftables drop), 5 % refused, 3 % hang, 2 % HTTP 503; timers: ${o.timers}; measured ${o.duration} s after ` +
      `${o.warmup} s warm-up. ${o.peer === 'haproxy' ? `Prober: ${String(r['prober'])} (the peer), not lvs-pulse.` : `Prober: lvs-pulse NannyPool${transportTag().length ? ` (${transportTag()[0]}: the engine turned off by the environment, probes on net/tls sockets)` : ''}.`} Prober process only (the servers run in another process). ` +
      `Wire: ${o.wire === 'veth' ? 'one veth pair router–servers' : 'veth to a bridge in a third namespace'}; ` +
      (o.rx === 'threads'
        ? "each end's received packets processed by its own NAPI kernel thread (threaded NAPI), as on separate machines."
        : "received packets processed in the sender's context (veth's default: part of the servers' TCP work is charged to the prober)."),
    '',
    '| figure | value | target |',
    '|---|---|---|',
    `| CPU, % of one core (user + system) | ${r['cpuPercentOfOneCore']} (${r['cpuUserPercent']} + ${r['cpuSystemPercent']}) | < 50 |`,
    `| RSS peak, MB | ${r['rssMB']} | < 300 |`,
    `| CPU per probe, µs | ${r['cpuMicrosPerProbe']} | < ${Math.round((0.5 * o.interval * 1000) / o.servers)} |`,
    ...(r['routerCpu'] !== undefined
      ? [
          `| router: prober + its receive thread, % of one core | ${r['routerCpu']} | < 50 |`,
          `| prober's receive thread (NAPI kthread), % of one core (user + system) | ${r['rxLbCpu']} | |`,
        ]
      : []),
    `| lab's server process (all listeners), % of one core (user + system) | ${r['serverCpu'] ?? '?'} | |`,
    ...(r['rxSrvCpu'] !== undefined
      ? [`| servers' receive thread, % of one core | ${r['rxSrvCpu']} | |`]
      : []),
    `| machine load average (1/5/15 min) at the end | ${r['loadAverage']} | |`,
    `| probes per second | ${r['probesPerSecond'] ?? '—'} | ${Math.round((o.servers * 1000) / o.interval)} |`,
    `| TCP connection attempts (SYNs) per second, counted in the servers' namespace | ${r['synsPerSecond'] ?? '?'} | |`,
    `| the servers' listen-queue overflows per second (the lab did not keep up) | ${r['listenOverflowsPerSecond'] ?? '?'} | 0 |`,
    `| probe lateness p50 / p99 / max, ms | ${j(r['latenessMs'])} | |`,
    `| probe duration p50 / p99, ms | ${j(r['probeMs'])} | |`,
    `| event-loop utilization, % / main thread waiting for a CPU, % of the time | ${r['eventLoopUtilization'] ?? '—'} / ${r['runQueueWaitPercent'] ?? '—'} | |`,
    `| event-loop delay p50 / p99 / max, ms | ${j(r['eventLoopDelayMs'])} | |`,
    `| 20 ms heartbeat timer lateness p99 / max, ms | ${j(r['heartbeat20msLatenessMs'])} | |`,
    `| failed probes, % | ${r['failedShare'] ?? '—'} | ${Math.round((Number(r['expectedDown']) / o.servers) * 1000) / 10} |`,
    `| inconclusive probes (timeouts during our own stall), % | ${r['inconclusiveShare'] ?? '—'} | 0 |`,
    `| states at end | ${j(r['states'])} | down ${r['expectedDown']} |`,
    `| servers in the wrong state at end | ${r['wrongState']} | 0 |`,
    ...(Number(r['wrongState']) > 0 ? ['', `Wrong-state sample: ${j(r['wrongSample'])}`] : []),
    '',
    `Last probe of the servers down at the end, by kind and reason: ${j(r['downDetails'])}`,
    '',
  ];
  const text = lines.join('\n');
  console.log(text);
  const file = writeResult(
    `nanny-${new Date().toISOString().slice(0, 19).replaceAll(':', '')}-${o.timers}-${tag(o)}.md`,
    text,
  );
  console.error(`wrote ${file}`);
}

/**
 * --compare haproxy: ours, HAProxy, ours again, each in a fresh lab, one after the other (the sandwich
 * spreads the machine's drift over both); prints and writes each run's file, then the ratios.
 */
async function compare(o: Opts): Promise<void> {
  const runs: [string, Record<string, unknown>][] = [];
  for (const [name, peer] of [
    ['lvs-pulse', undefined],
    ['HAProxy', 'haproxy'],
    ['lvs-pulse', undefined],
  ] as const) {
    runs.push([name, await orchestrate({ ...o, peer })]);
  }
  const num = (r: Record<string, unknown>, k: string) => Number(r[k]);
  const peer = runs[1]![1];
  const ratio = (r: Record<string, unknown>, k: string) =>
    num(peer, k) > 0 ? (num(r, k) / num(peer, k)).toFixed(2) : '—';
  const lines = [
    `# bench:nanny --compare haproxy — ${new Date().toISOString()}`,
    '',
    `${o.servers} real servers at ${Math.round((o.servers * 1000) / o.interval)} probes/s, kinds ${o.kinds.join(' / ')}, ` +
      `${o.duration} s measured after ${o.warmup} s, each run in a fresh lab; the router = the prober + its receive thread` +
      `${o.rx === 'threads' ? '' : ' (--rx sender: no receive thread figure)'}.`,
    '',
    '| run | router, % of one core | prober, % of one core (user + sys) | RSS, MB | wrong state at end | router ÷ HAProxy | prober ÷ HAProxy |',
    '|---|---|---|---|---|---|---|',
    ...runs.map(
      ([name, r]) =>
        `| ${name} | ${r['routerCpu'] ?? '—'} | ${r['cpuPercentOfOneCore']} (${r['cpuUserPercent']} + ${r['cpuSystemPercent']}) | ${r['rssMB']} | ${r['wrongState']} | ${ratio(r, 'routerCpu')} | ${ratio(r, 'cpuPercentOfOneCore')} |`,
    ),
    '',
  ];
  const text = lines.join('\n');
  console.log(text);
  const file = writeResult(
    `nanny-${new Date().toISOString().slice(0, 19).replaceAll(':', '')}-compare-haproxy-${tag({ ...o, peer: undefined })}.md`,
    text,
  );
  console.error(`wrote ${file}`);
}

type Cpu = { user: number; sys: number };
/** What is sampled around the measured window besides the prober: the servers, the rx threads, SYNs. */
interface Sample {
  srv?: Cpu;
  rxLb?: Cpu;
  rxSrv?: Cpu;
  syn: Promise<number>;
  overflows: Promise<number>;
}

/** Adds the servers', the rx threads' and the router's (prober + its rx thread) CPU and the SYN rate to `r`. */
async function addSides(r: Record<string, unknown>, s0: Sample, s1: Sample, seconds: number): Promise<void> {
  const pct = (x: number) => Math.round((x / seconds) * 1000) / 10;
  const fmt = (a?: Cpu, b?: Cpu) =>
    a && b
      ? `${pct(b.user + b.sys - a.user - a.sys)} (${pct(b.user - a.user)} + ${pct(b.sys - a.sys)})`
      : undefined;
  r['synsPerSecond'] = Math.round(((await s1.syn) - (await s0.syn)) / seconds);
  r['listenOverflowsPerSecond'] = Math.round(((await s1.overflows) - (await s0.overflows)) / seconds);
  r['serverCpu'] = fmt(s0.srv, s1.srv);
  r['rxLbCpu'] = fmt(s0.rxLb, s1.rxLb);
  r['rxSrvCpu'] = fmt(s0.rxSrv, s1.rxSrv);
  if (s0.rxLb && s1.rxLb) {
    const rx = pct(s1.rxLb.user + s1.rxLb.sys - s0.rxLb.user - s0.rxLb.sys);
    r['routerCpu'] = Math.round((Number(r['cpuPercentOfOneCore']) + rx) * 10) / 10;
  }
}

/**
 * Gives `ns`'s eth0 a threaded NAPI receive path (GRO on makes veth use NAPI; `threaded` moves the poll to a
 * kernel thread `napi/eth0-N`): what that end receives is then processed in its own thread, as a separate
 * machine's NIC would, instead of in the sending process's syscall. Call it for both ends. Returns the
 * thread's pid.
 */
async function threadedRx(lab: Lab, ns: string): Promise<number> {
  const napiPids = (): Set<number> =>
    new Set(
      execFileSync('ps', ['-e', '-o', 'pid=,comm='])
        .toString()
        .split('\n')
        .filter((l) => /\bnapi\/eth0-\d+$/.test(l.trim()))
        .map((l) => Number.parseInt(l, 10)),
    );
  need('ethtool', '--rx threads', '--rx sender');
  const before = napiPids();
  // veth hands a TCP packet to the peer's NAPI only when the sending device does no TSO (veth.c,
  // veth_skb_is_eligible_for_gro); probes are single small segments, so TSO off changes nothing else
  await lab.exec(ns, 'ethtool', ['-K', 'eth0', 'gro', 'on', 'tso', 'off']);
  await lab.exec(ns, 'tee', ['/sys/class/net/eth0/threaded'], '1\n');
  const added = [...napiPids()].filter((p) => !before.has(p));
  if (added.length !== 1)
    throw new Error(`threaded NAPI on ${ns}/eth0: expected one new napi thread, saw ${added.length}`);
  return added[0]!;
}

/** Throws a clear error when `tool` is not installed. */
function need(tool: string, what: string, instead?: string): void {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error(
        `${what} needs ${tool} (apt-get install ${tool})${instead ? `, or use ${instead}` : ''}`,
      );
  }
}

/**
 * The servers' namespace's count of connections its listeners could not queue (TcpExt ListenOverflows:
 * the accept queue was full, so a SYN or the handshake's last ACK was dropped). Not zero means the lab's
 * server process did not keep up: probes then failed because of the lab, not of the prober.
 */
async function listenOverflows(lab: Lab): Promise<number> {
  const r = await lab.exec('srv', 'cat', ['/proc/net/netstat']);
  const [head, vals] = r.stdout.split('\n').filter((l) => l.startsWith('TcpExt:'));
  const i = head?.split(' ').indexOf('ListenOverflows') ?? -1;
  return i > 0 ? Number(vals?.split(' ')[i]) : Number.NaN;
}

/** The servers' namespace's count of TCP SYNs to 198.19.0.0/16 (both probers are counted the same way). */
async function synCount(lab: Lab): Promise<number> {
  const r = await lab.exec('srv', 'nft', ['list', 'counter', 'inet', 'lpnbench', 'syns']);
  return Number(/packets (\d+)/.exec(r.stdout)?.[1] ?? Number.NaN);
}

/**
 * The same lab and probe mix checked by HAProxy (one thread) instead of our pool: a production health
 * checker written in C, for a ratio in the same run. tcp = `check` (plain connect), http = `option httpchk
 * GET /` (2xx/3xx), send_expect = `tcp-check send` + `expect string`; inter, timeout, rise and fall as ours.
 */
async function haproxyPeer(o: Opts, lab: Lab, sample: () => Sample): Promise<Record<string, unknown>> {
  const model = buildModel(o);
  const sock = `/tmp/lpn-haproxy-${process.pid}.sock`;
  const cfgFile = `/tmp/lpn-haproxy-${process.pid}.cfg`;
  const lines = [
    'global',
    '  nbthread 1',
    '  maxconn 4000',
    `  stats socket ${sock} mode 600 level admin`,
    'defaults',
    `  timeout connect ${o.timeout}ms`,
    `  timeout check ${o.timeout}ms`,
    '  timeout client 5s',
    '  timeout server 5s',
  ];
  for (const v of model.virtualServers) {
    const m = v.monitor;
    lines.push(`backend ${v.name}`);
    if (m.kind === 'http') {
      lines.push('  mode http', '  option httpchk GET /');
    } else {
      lines.push('  mode tcp');
      if (m.kind === 'send_expect') {
        lines.push('  option tcp-check', '  tcp-check connect');
        lines.push(`  tcp-check send "${(m.send ?? '').replaceAll('\r', '\\r').replaceAll('\n', '\\n')}"`);
        lines.push(`  tcp-check expect string "${m.expect ?? ''}"`);
      } else if (m.kind !== 'tcp') throw new Error(`--peer haproxy: no equivalent for probe kind ${m.kind}`);
    }
    lines.push(`  default-server check inter ${m.intervalMs}ms fall ${m.fall} rise ${m.rise}`);
    for (const rs of v.realServers) lines.push(`  server ${rs.name} ${rs.address}:${rs.port}`);
  }
  writeFileSync(cfgFile, `${lines.join('\n')}\n`);
  need('haproxy', '--peer haproxy');
  const version = execFileSync('haproxy', ['-v']).toString().split('\n')[0]!.trim();
  const hap = spawn('ip', ['netns', 'exec', lab.nsName('lb'), 'haproxy', '-db', '-f', cfgFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // HAProxy logs every server's state change to stderr without a log target: keep only the tail, for errors
  let stderrTail = '';
  hap.stderr!.on('data', (d: Buffer) => {
    stderrTail = (stderrTail + d.toString()).slice(-2000);
  });
  const exited = new Promise<number | null>((r) => hap.once('exit', r));
  try {
    const died = exited.then((code) => {
      throw new Error(`haproxy exited (${code}):\n${stderrTail}`);
    });
    died.catch(() => {}); // handled by the race below; also rejects after our own kill at the end
    const sleep = (s: number) => Promise.race([new Promise((r) => setTimeout(r, s * 1000)), died]);
    console.error(`bench:nanny peer ${version}, ${o.servers} real servers, ${o.warmup}+${o.duration} s …`);
    await sleep(o.warmup);
    const c0 = procCpu(hap.pid);
    const s0 = sample();
    const t0 = performance.now();
    await sleep(o.duration);
    const c1 = procCpu(hap.pid);
    const s1 = sample();
    const wall = (performance.now() - t0) / 1000;
    if (!c0 || !c1) throw new Error('haproxy is not running');
    const statCsv = await new Promise<string>((resolve, reject) => {
      let out = '';
      const c = createConnection(sock, () => c.end('show stat\n'));
      c.on('data', (d) => (out += d));
      c.on('end', () => resolve(out));
      c.on('error', reject);
    });
    const head = statCsv.split('\n')[0]!.replace(/^# /, '').split(',');
    const col = (name: string) => head.indexOf(name);
    const states = { up: 0, down: 0, other: 0 };
    let wrong = 0;
    let expectedDown = 0;
    const kindOf = new Map(model.virtualServers.map((v) => [v.name, v.monitor.kind]));
    for (const row of statCsv.split('\n').slice(1)) {
      const f = row.split(',');
      const sv = f[col('svname')];
      if (!sv?.startsWith('rs')) continue;
      const st = f[col('status')] ?? '';
      const up = st.startsWith('UP');
      const down = st.startsWith('DOWN');
      if (up) states.up++;
      else if (down) states.down++;
      else states.other++;
      const want = expectDown(Number(sv.slice(2)), kindOf.get(f[col('pxname')] ?? '') ?? 'tcp');
      if (want) expectedDown++;
      if (want !== down) wrong++;
    }
    const status = readFileSync(`/proc/${hap.pid}/status`, 'utf8');
    const hwmKb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
    const pct = (x: number) => Math.round((x / wall) * 1000) / 10;
    const syns = (await s1.syn) - (await s0.syn);
    const r: Record<string, unknown> = {
      prober: `${version}, nbthread 1`,
      seconds: wall,
      cpuPercentOfOneCore: pct(c1.user + c1.sys - c0.user - c0.sys),
      cpuUserPercent: pct(c1.user - c0.user),
      cpuSystemPercent: pct(c1.sys - c0.sys),
      cpuMicrosPerProbe: Math.round(((c1.user + c1.sys - c0.user - c0.sys) * 1e6) / Math.max(1, syns)),
      rssMB: Math.round(hwmKb / 1024),

      loadAverage: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
      states,
      expectedDown,
      wrongState: wrong,
    };
    await addSides(r, s0, s1, wall);
    return r;
  } finally {
    hap.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    if (hap.exitCode === null) hap.kill('SIGKILL');
    rmSync(cfgFile, { force: true });
    rmSync(sock, { force: true });
  }
}

const cmd = new Command()
  .option('--role <role>', 'internal: orchestrator | prober', 'orchestrator')
  .option('--servers <n>', 'real servers', '10000')
  .option('--duration <s>', 'measured seconds', '60')
  .option(
    '--warmup <s>',
    'seconds before measuring (the start-up backlog of 10,000 first probes takes 5–10 s to clear)',
    '15',
  )
  .option('--timers <kind>', 'heap | per-entry', 'heap')
  .option('--interval <ms>', 'probe interval', '1000')
  .option('--timeout <ms>', 'probe timeout', '500')
  .option('--kinds <list>', 'probe kinds, one per virtual in turn', 'tcp,http,send_expect')
  .option(
    '--wire <kind>',
    'veth (one veth pair) | bridge (both ends on a bridge in a third namespace)',
    'veth',
  )
  .option(
    '--rx <mode>',
    "threads (each end's received packets handled by its own NAPI kernel thread, as separate machines' NICs) | sender (veth's default: in the sending process)",
    'threads',
  )
  .option('--peer <name>', 'run the same lab with a peer health checker instead of ours: haproxy')
  .option('--compare <name>', 'ours, the peer, ours again, then the ratios: haproxy')
  .option('--keep-alive', 'HTTP probes keep their connection open between probes (monitor.http.keepAlive)')
  .option('--lab-prefix <p>', 'namespace prefix of the lab', 'n')
  .option('--profile', 'write a CPU profile of the prober to /tmp/lpn-nanny-prof')
  .parse();
const raw = cmd.opts<Record<string, string>>();
const opts: Opts = {
  servers: Number(raw['servers']),
  duration: Number(raw['duration']),
  warmup: Number(raw['warmup']),
  timers: raw['timers'] === 'per-entry' ? 'per-entry' : 'heap',
  interval: Number(raw['interval']),
  timeout: Number(raw['timeout']),
  kinds: String(raw['kinds']).split(','),
  profile: Boolean(raw['profile']),
  wire: raw['wire'] === 'bridge' ? 'bridge' : 'veth',
  labPrefix: String(raw['labPrefix']),
  keepAlive: Boolean(raw['keepAlive']),
  peer: raw['peer'] === 'haproxy' ? 'haproxy' : undefined,
  rx: raw['rx'] === 'sender' ? 'sender' : 'threads',
};
for (const k of ['peer', 'compare']) {
  if (raw[k] && raw[k] !== 'haproxy') {
    console.error(`--${k}: unknown peer ${raw[k]} (haproxy)`);
    process.exit(2);
  }
}
if (raw['role'] === 'prober') void prober(opts);
else {
  if (process.getuid?.() !== 0) {
    console.error('bench:nanny needs root (network namespaces)');
    process.exit(2);
  }
  (raw['compare'] ? compare(opts) : orchestrate(opts)).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
