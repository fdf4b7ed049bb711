/**
 * The heartbeat concern's interface: {@link Heartbeat} decides which router holds the VIPs.
 *
 * Runs the engine (receiver + failover state machine + UDP + link monitor) in this thread, or — with
 * `heartbeat.worker` — in a worker thread with its own event loop and heap (worker.ts), so that probes, LB
 * applies and garbage collection on the main thread cannot delay keepalives or deadlines.
 *
 * Events:
 * - 'transition' ({ from, to, reason, evidence }): `to === 'active'` → claim the VIPs now; leaving 'active'
 *   → release them.
 * - 'reannounce' ({ reason, evidence }): re-announce every VIP now (split brain survived, peer let go).
 * - 'peer-config-mismatch' ({ peer, ours, theirs }): the peer's LB config hash differs from ours.
 */
import { EventEmitter } from 'node:events';
import { fork } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import type { HeartbeatIsolation, LvsModel } from '../config/model.js';
import type { LogRecord } from '../lib/log.js';
import {
  HeartbeatEngine,
  type HeartbeatOptions,
  type HeartbeatStatus,
  type HeartbeatTransition,
} from './engine.js';
import type { FaultSource } from './fsm.js';
import type { HostCommand, HostInit } from './host.js';
import { threadPolicy } from './sched.js';

export type { DropReason, PathName } from './codec.js';
export { configHashOf, DROP_REASONS } from './codec.js';
export type { HeartbeatOptions, HeartbeatRole, HeartbeatStatus, HeartbeatTransition } from './engine.js';
export type { FaultSource, RouterState, Transition, TransitionReason } from './fsm.js';
export { detectNode } from './identity.js';
export { keygen, readKeyFile } from './keys.js';

type WorkerEvent =
  | { ev: 'started' | 'status' | 'stopped'; status: HeartbeatStatus }
  | { ev: 'transition'; t: HeartbeatTransition; status: HeartbeatStatus }
  | { ev: 'reannounce'; r: unknown }
  | { ev: 'peer-config-mismatch'; m: unknown }
  | { ev: 'log'; level: LogRecord['level']; msg: string; fields: Record<string, unknown> }
  | { ev: 'error'; msg: string }
  | { ev: 'bye' };

/** Where the engine runs: a child process (default), a worker thread, or the daemon's main thread. */
export type { HeartbeatIsolation };

/**
 * A main thread started real-time (chrt, systemd CPUSchedulingPolicy=) runs its probe load at the
 * heartbeat's own priority and can hold a CPU from it for a whole round-robin slice (100 ms): say so.
 */
function warnRealtimeMain(log: HeartbeatOptions['log']): void {
  let policy = 0;
  try {
    policy = threadPolicy();
  } catch {
    return;
  }
  if (policy !== 0)
    log.warn(
      'the daemon itself runs real-time (chrt or CPUSchedulingPolicy=): its probe load then competes with the heartbeat; run it SCHED_OTHER, the daemon gives the heartbeat real-time priority itself (rt_priority)',
      { op: 'sched', policy },
    );
}

/** The isolated engine, seen from the daemon: a worker thread or a child process behind one shape. */
interface HostHandle {
  /** Thread id or pid, for the log. */
  id: number;
  post(c: HostCommand): void;
  onEvent(h: (e: WorkerEvent) => void): void;
  onError(h: (err: Error) => void): void;
  /** Resolves with how it ended ('code 1', 'signal SIGKILL') when the thread or process ends. */
  exited: Promise<string>;
  /** Ends it now (the engine is given no chance to say goodbye). */
  kill(): Promise<void>;
}

/** Under tsx (tests, `node --import tsx`) the sources are .ts and the host registers tsx first. */
function hostFile(name: 'worker' | 'child'): string {
  return require.resolve(`./${name}`);
}

function startThread(init: HostInit): HostHandle {
  const file = hostFile('worker');
  const w = file.endsWith('.ts')
    ? new Worker(`require('tsx/cjs'); require(${JSON.stringify(file)});`, { eval: true, workerData: init })
    : new Worker(file, { workerData: init });
  return {
    id: w.threadId,
    post: (c) => w.postMessage(c),
    onEvent: (h) => w.on('message', h),
    onError: (h) => w.on('error', h),
    exited: new Promise((r) => w.once('exit', (code) => r(`code ${code}`))),
    kill: async () => {
      await w.terminate();
    },
  };
}

/**
 * V8 flags for the heartbeat process: GC on its own (real-time) thread only, so no SCHED_OTHER helper
 * thread of ours holds its memory map while it waits; a small young generation keeps each scavenge short.
 */
const CHILD_V8_FLAGS = ['--single-threaded-gc', '--max-semi-space-size=1'];

function startProcess(init: HostInit): HostHandle {
  const file = hostFile('child');
  // LVS_PULSE_HB_NODE_FLAGS: measurement aid, replaces the V8 flags (space-separated).
  const flags = process.env.LVS_PULSE_HB_NODE_FLAGS?.split(' ').filter(Boolean) ?? CHILD_V8_FLAGS;
  const execArgv = [...flags, ...(file.endsWith('.ts') ? ['--require', require.resolve('tsx/cjs')] : [])];
  const c = fork(file, [], {
    execArgv,
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, LVS_PULSE_HB_CHILD: String(process.pid) },
  });
  const exited = new Promise<string>((r) =>
    c.once('exit', (code, sig) => r(sig ? `signal ${sig}` : `code ${code}`)),
  );
  c.send({ init });
  return {
    id: c.pid ?? 0,
    post: (cmd) => {
      if (c.connected) c.send(cmd);
    },
    onEvent: (h) => c.on('message', h),
    onError: (h) => c.on('error', h),
    exited,
    kill: async () => {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await exited;
    },
  };
}

export class Heartbeat extends EventEmitter {
  private engine: HeartbeatEngine | undefined;
  private host: HostHandle | undefined;
  private hostKind: HeartbeatIsolation = 'off';
  private snapshot: { status: HeartbeatStatus; at: number } | undefined;
  private stopped: Promise<void> | undefined;
  private workerExit: Promise<void> | undefined;

  constructor(private readonly opts: HeartbeatOptions) {
    super();
  }

  /** True when the heartbeat runs away from the main thread (worker thread or child process). */
  get inWorker(): boolean {
    return this.host !== undefined;
  }

  /** Where the engine runs once started. */
  get isolation(): HeartbeatIsolation {
    return this.hostKind;
  }

  /** Opens the sockets and starts listening (one deadtime before claiming anything). */
  async start(): Promise<void> {
    if (this.engine || this.host) throw new Error('heartbeat: already started');
    const mode = this.opts.model.heartbeat.isolation;
    if (mode !== 'off') warnRealtimeMain(this.opts.log);
    if (mode === 'off') {
      const e = new HeartbeatEngine(this.opts);
      this.engine = e;
      e.on('transition', (t) => this.emit('transition', t));
      e.on('reannounce', (r) => this.emit('reannounce', r));
      e.on('peer-config-mismatch', (m) => this.emit('peer-config-mismatch', m));
      await e.start();
      return;
    }
    const hb = this.opts.model.heartbeat;
    const init: HostInit = {
      lvsPulseHeartbeat: true,
      model: this.opts.model,
      ...(this.opts.node ? { node: this.opts.node } : {}),
      configHash: this.opts.configHash,
      ...(this.opts.localAddresses ? { localAddresses: this.opts.localAddresses } : {}),
      statusEveryMs: Math.max(20, Math.min(250, hb.keepaliveMs * 5)),
    };
    const w = mode === 'process' ? startProcess(init) : startThread(init);
    this.host = w;
    this.hostKind = mode;
    this.workerExit = w.exited.then(() => undefined);
    const where = mode === 'process' ? 'a child process' : 'a worker thread';
    const log = this.opts.log;
    await new Promise<void>((resolve, reject) => {
      w.onEvent((m: WorkerEvent) => {
        switch (m.ev) {
          case 'started':
            this.snap(m.status);
            log.info(`heartbeat running in ${where}`, {
              op: 'start',
              ...(mode === 'process' ? { pid: w.id } : { worker: w.id }),
            });
            resolve();
            break;
          case 'status':
          case 'stopped':
            this.snap(m.status);
            break;
          case 'transition':
            this.snap(m.status);
            this.emit('transition', m.t);
            break;
          case 'reannounce':
            this.emit('reannounce', m.r);
            break;
          case 'peer-config-mismatch':
            this.emit('peer-config-mismatch', m.m);
            break;
          case 'log':
            log[m.level](m.msg, m.fields);
            break;
          case 'error':
            log.error(`heartbeat worker: ${m.msg}`, { op: 'worker' });
            reject(new Error(m.msg));
            break;
        }
      });
      w.onError((err) => {
        log.error(`heartbeat ${mode === 'process' ? 'process' : 'worker'} crashed`, {
          op: 'worker',
          error: err.message,
        });
        reject(err);
      });
      void w.exited.then((code) => {
        reject(
          new Error(
            `heartbeat ${mode === 'process' ? 'process' : 'worker'} exited (${code}) before starting`,
          ),
        );
        if (!this.stopped) this.workerDied(code);
      });
    });
  }

  /**
   * The worker died outside stop(): nobody sends our heartbeats any more, so the peer will take over.
   * Leave active at once (the daemon releases the VIPs) so there is no split brain while we restart.
   */
  private workerDied(code: string): void {
    const last = this.snapshot?.status.role ?? 'starting';
    const who = this.hostKind === 'process' ? 'process' : 'worker';
    const evidence = `heartbeat ${who} exited (${code}): no heartbeats are sent; leaving ${last}`;
    this.opts.log.error(evidence, { op: 'worker', exit: code });
    const t: HeartbeatTransition = { from: last, to: 'fault', reason: 'worker-exit', evidence };
    if (this.snapshot) this.snapshot.status = { ...this.snapshot.status, role: 'fault' };
    if (last !== 'fault') this.emit('transition', t);
  }

  private snap(status: HeartbeatStatus): void {
    this.snapshot = { status, at: performance.now() };
  }

  private post(c: HostCommand): void {
    this.host?.post(c);
  }

  /**
   * Stops. graceful: if active, farewell on every path and wait (≤ handoverTimeoutMs) for the peer to
   * confirm active before leaving active (VIPs released on the 'transition' out of active).
   */
  async stop(options: { graceful: boolean }): Promise<void> {
    if (this.engine) return this.engine.stop(options);
    const w = this.host;
    if (!w) return;
    this.stopped ??= (async () => {
      this.post({ cmd: 'stop', graceful: options.graceful });
      const bound = this.opts.model.heartbeat.handoverTimeoutMs + 2000;
      let t: NodeJS.Timeout | undefined;
      await Promise.race([this.workerExit, new Promise<void>((r) => (t = setTimeout(r, bound)))]);
      if (t) clearTimeout(t);
      await w.kill();
    })();
    return this.stopped;
  }

  /** `pulsectl takeover`: become active (asking the active peer to hand over). */
  requestTakeover(): void {
    if (this.engine) this.engine.requestTakeover();
    else this.post({ cmd: 'takeover' });
  }

  /** `pulsectl release`: hand the VIPs to a healthy standby peer. */
  requestRelease(): void {
    if (this.engine) this.engine.requestRelease();
    else this.post({ cmd: 'release' });
  }

  /** A link or child fault on/off (monitor_links, hard_shutdown). */
  setFault(source: FaultSource, on: boolean, detail: string): void {
    if (this.engine) this.engine.setFault(source, on, detail);
    else this.post({ cmd: 'fault', source, on, detail });
  }

  /**
   * Reload: timers, preempt, keys change in place; no state change. Addresses/port need a restart; so does
   * switching `heartbeat.worker`.
   */
  reconfigure(model: LvsModel): void {
    if (model.heartbeat.isolation !== this.opts.model.heartbeat.isolation)
      this.opts.log.warn('heartbeat.worker changed: takes effect at the next restart', { op: 'reload' });
    if (this.engine) this.engine.reconfigure(model);
    else this.post({ cmd: 'reconfigure', model });
  }

  setConfigHash(hash: string): void {
    if (this.engine) this.engine.setConfigHash(hash);
    else this.post({ cmd: 'config-hash', hash });
  }

  /** Current status. In worker mode: the worker's last snapshot (≤ 5 keepalives old), ages brought up to date. */
  status(): HeartbeatStatus {
    if (this.engine) return this.engine.status();
    const s = this.snapshot;
    if (!s) {
      // Not started yet: an empty status from a fresh engine (nothing opened).
      return new HeartbeatEngine(this.opts).status();
    }
    const age = Math.round(performance.now() - s.at);
    const lastHeardMs: HeartbeatStatus['peer']['lastHeardMs'] = {};
    for (const [p, v] of Object.entries(s.status.peer.lastHeardMs))
      lastHeardMs[p as keyof typeof lastHeardMs] = v === null || v === undefined ? null : v + age;
    return { ...s.status, peer: { ...s.status.peer, lastHeardMs } };
  }
}
