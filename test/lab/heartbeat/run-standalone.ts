/**
 * Lab runner (not shipped): one Heartbeat on its own, with no takeover and no LB, for the lab tests
 * (test/lab/heartbeat/), the unit tests that need a peer in another process, and measurements. Usage:
 *
 *   node --import tsx test/lab/heartbeat/run-standalone.ts '<json>'
 *
 * where json = { node, primary:{address,privateAddress?,priority?}, backup:{…}, keepaliveMs?, deadtimeMs?,
 * keyFile?, preempt?, handoverTimeoutMs?, port?, multicast?, monitorLinks?, linkInterfaces?, isolation?,
 * rtPriority?, mainThreadLoad? }.
 *
 * stdout: one JSON object per line: {ev:'ready'}, {ev:'transition', from, to, reason, evidence, wall, mono},
 * {ev:'reannounce', …}, {ev:'status', …}, {ev:'stopped'}.
 * stdin commands, one per line: status | stop | stop-hard | release | takeover | fault link|lb on|off DETAIL
 */
import { createInterface } from 'node:readline';
import { baseModel, heartbeatConfig } from '../../../src/config/build.js';
import type { HeartbeatIsolation, LvsModel, NodeName } from '../../../src/config/model.js';
import { Heartbeat, type HeartbeatTransition } from '../../../src/heartbeat/index.js';
import type { Log, LogFields } from '../../../src/lib/log.js';

interface RunnerRouter {
  address: string;
  privateAddress?: string;
  priority?: number;
}

/** The runner's JSON argument (see the file header). */
export interface RunnerConfig {
  node: NodeName;
  primary: RunnerRouter;
  backup: RunnerRouter;
  keepaliveMs?: number;
  deadtimeMs?: number;
  keyFile?: string;
  preempt?: boolean;
  preemptDelayMs?: number;
  handoverTimeoutMs?: number;
  port?: number;
  multicast?: { group: string; interface?: string; ttl: number };
  monitorLinks?: boolean;
  linkInterfaces?: string[];
  piranhaCompat?: boolean;
  /** Where the engine runs (heartbeat.isolation); default `off` (this thread). */
  isolation?: HeartbeatIsolation;
  /** SCHED_RR priority for the heartbeat (heartbeat.rtPriority). */
  rtPriority?: number;
  /** Measurement aid: block the main thread for busyMs every everyMs (stands in for probes, applies, GC). */
  mainThreadLoad?: { busyMs: number; everyMs: number };
}

/** A minimal complete model around the heartbeat settings. */
export function standaloneModel(c: RunnerConfig): LvsModel {
  const router = (r: RunnerRouter, prio: number) => ({
    address: r.address,
    ...(r.privateAddress ? { privateAddress: r.privateAddress } : {}),
    priority: r.priority ?? prio,
  });
  return baseModel({
    primary: router(c.primary, 200),
    backup: router(c.backup, 100),
    backupActive: true,
    heartbeat: heartbeatConfig({
      port: c.port ?? 539,
      keepaliveMs: c.keepaliveMs ?? 20,
      deadtimeMs: c.deadtimeMs ?? 100,
      auth: c.keyFile ? 'hmac' : 'none',
      ...(c.keyFile ? { keyFile: c.keyFile } : {}),
      ...(c.multicast ? { multicast: c.multicast } : {}),
      piranhaCompat: c.piranhaCompat ?? false,
      preempt: c.preempt ?? false,
      preemptDelayMs: c.preemptDelayMs ?? 0,
      handoverTimeoutMs: c.handoverTimeoutMs ?? 1000,
      rtPriority: c.rtPriority ?? 0,
      isolation: c.isolation ?? 'off',
    }),
    announce: { count: 1, intervalMs: 100, repeatDelayMs: 0, repeatCount: 0, refreshMs: 0, form: 'both' },
    monitorLinks: c.monitorLinks ?? false,
    linkInterfaces: c.linkInterfaces ?? [],
    metrics: { listen: '127.0.0.1:0' },
  });
}

function out(obj: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ...obj, wall: Date.now(), mono: performance.now() })}\n`);
}

/** Logs to stderr as JSON lines. */
function stderrLog(base: LogFields = {}): Log {
  const w = (level: string) => (msg: string, fields?: LogFields) =>
    process.stderr.write(`${JSON.stringify({ level, msg, ...base, ...fields })}\n`);
  return {
    error: w('error'),
    warn: w('warn'),
    info: w('info'),
    debug: () => {},
    child: (f) => stderrLog({ ...base, ...f }),
  };
}

async function main(): Promise<void> {
  const arg = process.argv[2];
  if (!arg) throw new Error('usage: run-standalone.ts JSON');
  const cfg = JSON.parse(arg) as RunnerConfig;
  const hb = new Heartbeat({
    model: standaloneModel(cfg),
    node: cfg.node,
    log: stderrLog(),
    configHash: 'feedfacefeedface',
  });
  hb.on('transition', (t: HeartbeatTransition) => out({ ev: 'transition', ...t }));
  hb.on('reannounce', (r: Record<string, unknown>) => out({ ev: 'reannounce', ...r }));
  hb.on('peer-config-mismatch', (m: Record<string, unknown>) => out({ ev: 'peer-config-mismatch', ...m }));
  await hb.start();
  out({ ev: 'ready', node: cfg.node });
  const load = cfg.mainThreadLoad;
  if (load)
    setInterval(() => {
      const end = performance.now() + load.busyMs;
      let junk: number[] = [];
      while (performance.now() < end) {
        junk.push(Math.random());
        if (junk.length > 1e5) junk = [];
      }
    }, load.everyMs);
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    const [cmd, ...rest] = line.trim().split(/\s+/);
    switch (cmd) {
      case 'status':
        out({ ev: 'status', ...hb.status() });
        break;
      case 'stop':
      case 'stop-hard':
        await hb.stop({ graceful: cmd === 'stop' });
        out({ ev: 'stopped' });
        process.exit(0);
        break;
      case 'release':
        hb.requestRelease();
        break;
      case 'takeover':
        hb.requestTakeover();
        break;
      case 'fault':
        hb.setFault(rest[0] === 'lb' ? 'lb' : 'link', rest[1] === 'on', rest.slice(2).join(' ') || 'test');
        break;
      default:
        out({ ev: 'error', msg: `unknown command ${cmd}` });
    }
  }
}

if (require.main === module) {
  main().catch((err) => {
    out({ ev: 'fatal', msg: (err as Error).message });
    process.exit(1);
  });
}
