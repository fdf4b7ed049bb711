/**
 * The heartbeat's supervisor, in the daemon: forks the heartbeat process (child.ts), sends it the heartbeat
 * settings and the commands, relays its events and log records, keeps its last status snapshot, and turns
 * its death outside a stop into a transition to `fault`, so the daemon releases the VIPs instead of holding
 * them while nobody sends heartbeats. Protocol: ipc.ts.
 *
 * Events: 'transition' (HeartbeatTransition), 'reannounce', 'peer-config-mismatch' (as the engine's).
 */
import { type ChildProcess, type ForkOptions, fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Log } from '../lib/log.js';
import { CHILD_ENV, type HeartbeatCommand, type HeartbeatEvent, type HeartbeatInit } from './ipc.js';
import { threadPolicy } from './sched.js';
import type { HeartbeatSettings } from './settings.js';
import { agedStatus, type HeartbeatStatus, type HeartbeatTransition } from './status.js';

/** Starts the heartbeat process: node's `fork`, or a fake in tests. */
export type ForkFn = (modulePath: string, args: string[], options: ForkOptions) => ChildProcess;

/** What a supervisor needs. */
export interface SupervisorOptions {
  settings: HeartbeatSettings;
  log: Log;
  /** For tests: how the heartbeat process is started (default: node's fork). */
  fork?: ForkFn;
}

/**
 * V8 flags for the heartbeat process: GC on its own (real-time) thread only, so no SCHED_OTHER helper
 * thread of ours holds its memory map while it waits; a small young generation keeps each scavenge short.
 * (Measurements add or override flags through NODE_OPTIONS, which the process inherits.)
 */
const CHILD_V8_FLAGS = ['--single-threaded-gc', '--max-semi-space-size=1'];

/**
 * A daemon started real-time (chrt, systemd CPUSchedulingPolicy=) runs its probe load at the heartbeat's
 * own priority and can hold a CPU from it for a whole round-robin slice (100 ms): say so.
 */
function warnRealtimeMain(log: Log): void {
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

/** The heartbeat process seen from the daemon (see the file header). */
export class HeartbeatSupervisor extends EventEmitter {
  private child: ChildProcess | undefined;
  private exited: Promise<string> | undefined;
  private snapshot: { status: HeartbeatStatus; at: number } | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly opts: SupervisorOptions) {
    super();
  }

  /** The heartbeat process's pid (undefined before start). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Forks the heartbeat process and sends it the settings; resolves once its engine runs. Rejects when it
   * reports an error or exits first.
   */
  async start(): Promise<void> {
    if (this.child) throw new Error('heartbeat: already started');
    const log = this.opts.log;
    warnRealtimeMain(log);
    // Under tsx (tests, `node --import tsx`) the sources are .ts: the child registers tsx first.
    const file = require.resolve('./child');
    const execArgv = [
      ...CHILD_V8_FLAGS,
      ...(file.endsWith('.ts') ? ['--require', require.resolve('tsx/cjs')] : []),
    ];
    const c = (this.opts.fork ?? fork)(file, [], {
      execArgv,
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, [CHILD_ENV]: String(process.pid) },
    });
    this.child = c;
    const exited = new Promise<string>((r) =>
      c.once('exit', (code, sig) => r(sig ? `signal ${sig}` : `code ${code}`)),
    );
    this.exited = exited;
    const init: HeartbeatInit = { init: this.opts.settings };
    c.send(init);
    await new Promise<void>((resolve, reject) => {
      c.on('message', (m: HeartbeatEvent) => {
        switch (m.ev) {
          case 'started':
            this.snap(m.status);
            log.info('heartbeat running in a child process', { op: 'start', pid: c.pid });
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
            log.error(`heartbeat process: ${m.msg}`, { op: 'worker' });
            reject(new Error(m.msg));
            break;
        }
      });
      c.on('error', (err) => {
        log.error('heartbeat process crashed', { op: 'worker', error: err.message });
        reject(err);
      });
      void exited.then((how) => {
        reject(new Error(`heartbeat process exited (${how}) before starting`));
        if (!this.stopping) this.died(how);
      });
    });
  }

  /**
   * The heartbeat process died outside stop(): nobody sends our heartbeats any more, so the peer will take
   * over. Leave active at once (the daemon releases the VIPs) so there is no split brain meanwhile.
   */
  private died(how: string): void {
    const last = this.snapshot?.status.role ?? 'starting';
    const evidence = `heartbeat process exited (${how}): no heartbeats are sent; leaving ${last}`;
    this.opts.log.error(evidence, { op: 'worker', exit: how });
    const t: HeartbeatTransition = { from: last, to: 'fault', reason: 'worker-exit', evidence };
    if (this.snapshot) this.snapshot.status = { ...this.snapshot.status, role: 'fault' };
    if (last !== 'fault') this.emit('transition', t);
  }

  private snap(status: HeartbeatStatus): void {
    this.snapshot = { status, at: performance.now() };
  }

  /** Sends a command (dropped when the process is gone). */
  send(c: HeartbeatCommand): void {
    if (this.child?.connected) this.child.send(c);
  }

  /**
   * Stops: asks the heartbeat process to stop (graceful: hand over first), waits for it to exit (at most
   * handoverTimeoutMs + 2 s), then kills what is left.
   */
  stop(options: { graceful: boolean }): Promise<void> {
    const c = this.child;
    if (!c || !this.exited) return Promise.resolve();
    const exited = this.exited;
    this.stopping ??= (async () => {
      this.send({ cmd: 'stop', graceful: options.graceful });
      const bound = this.opts.settings.handoverTimeoutMs + 2000;
      let t: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise<void>((r) => (t = setTimeout(r, bound)))]);
      if (t) clearTimeout(t);
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await exited;
    })();
    return this.stopping;
  }

  /** The last snapshot (at most one status interval old), its "last heard" ages brought up to date. */
  status(): HeartbeatStatus | undefined {
    const s = this.snapshot;
    return s ? agedStatus(s.status, performance.now() - s.at) : undefined;
  }
}
