/**
 * The heartbeat process: a small Node process of its own running one HeartbeatEngine, as keepalived runs
 * VRRP in a child of its own. Probe load, LB applies and garbage collection in the daemon cannot delay its
 * keepalives or deadlines; a worker thread could (it shares the daemon's memory map, allocator and V8 helper
 * threads — the figures are in docs/protocol.md).
 *
 * Forked by the supervisor (supervisor.ts) with an IPC channel; the protocol is ipc.ts. It dies with the
 * daemon: PR_SET_PDEATHSIG(SIGKILL), and it exits when the IPC channel closes, so no orphan keeps sending
 * heartbeats for a dead daemon.
 */
import { readdirSync } from 'node:fs';
import { PR_SET_PDEATHSIG, SIGKILL, schedLibc } from '../lib/libc.js';
import type { Log, LogFields } from '../lib/log.js';
import { HeartbeatEngine } from './engine.js';
import {
  CHILD_ENV,
  type HeartbeatCommand,
  type HeartbeatEvent,
  type HeartbeatInit,
  statusEveryMs,
} from './ipc.js';
import { setProcessRealtime } from './sched.js';
import type { HeartbeatSettings } from './settings.js';

/** The channel to the daemon, as the heartbeat process sees it. */
export interface ParentChannel {
  /** Sends one event. */
  post(e: HeartbeatEvent): void;
  /** Registers the handler of every later command. */
  onCommand(handler: (c: HeartbeatCommand) => void): void;
  /** Closes the channel once everything posted has been written. */
  close(): void;
}

/** A Log that posts each record to the daemon, which logs it. */
function postingLog(post: (e: HeartbeatEvent) => void, base: LogFields = {}): Log {
  const at =
    (level: 'error' | 'warn' | 'info' | 'debug') =>
    (msg: string, fields?: LogFields): void =>
      post({
        ev: 'log',
        level,
        msg,
        // A transition's own time, µs, taken here: the daemon logs the record later, after the IPC hop.
        fields:
          fields?.op === 'transition'
            ? {
                ...base,
                ...fields,
                decided_ms: Number((performance.timeOrigin + performance.now()).toFixed(3)),
              }
            : { ...base, ...fields },
      });
  return {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    child: (f) => postingLog(post, { ...base, ...f }),
  };
}

/**
 * Runs an engine from `settings`, serving `ch` until a 'stop' command: reports its events and a status
 * snapshot every {@link statusEveryMs}, carries out each command. Returns the engine.
 */
export function serveHeartbeat(settings: HeartbeatSettings, ch: ParentChannel): HeartbeatEngine {
  const post = (e: HeartbeatEvent) => ch.post(e);
  const engine = new HeartbeatEngine({ settings, log: postingLog(post) });
  engine.on('transition', (t) => post({ ev: 'transition', t, status: engine.status() }));
  engine.on('reannounce', (r) => post({ ev: 'reannounce', r }));
  engine.on('peer-config-mismatch', (m) => post({ ev: 'peer-config-mismatch', m }));
  let every = statusEveryMs(settings.keepaliveMs);
  let timer = setInterval(() => post({ ev: 'status', status: engine.status() }), every);
  ch.onCommand((c) => {
    switch (c.cmd) {
      case 'takeover':
        engine.requestTakeover();
        break;
      case 'release':
        engine.requestRelease();
        break;
      case 'fault':
        engine.setFault(c.source, c.on, c.detail);
        break;
      case 'hold':
        engine.setHold(c.on, c.detail);
        break;
      case 'reconfigure':
        engine.reconfigure(c.settings);
        if (statusEveryMs(c.settings.keepaliveMs) !== every) {
          every = statusEveryMs(c.settings.keepaliveMs);
          clearInterval(timer);
          timer = setInterval(() => post({ ev: 'status', status: engine.status() }), every);
        }
        break;
      case 'config-hash':
        engine.setConfigHash(c.hash);
        break;
      case 'stop':
        engine.stop({ graceful: c.graceful }).then(
          () => {
            clearInterval(timer);
            post({ ev: 'stopped', status: engine.status() });
            ch.close();
          },
          (err: Error) => post({ ev: 'error', msg: err.message }),
        );
        break;
    }
  });
  engine.start().then(
    () => post({ ev: 'started', status: engine.status() }),
    (err: Error) => {
      clearInterval(timer);
      post({ ev: 'error', msg: err.message });
    },
  );
  return engine;
}

/** Kill this process when the daemon dies. Best effort: returns what happened, for the log. */
function bindToParent(expectedParent: number): string[] {
  const notes: string[] = [];
  try {
    const c = schedLibc();
    if (c.prctl(PR_SET_PDEATHSIG, SIGKILL) !== 0) notes.push(`prctl(PDEATHSIG) errno ${c.errno()}`);
  } catch (err) {
    notes.push(`libc unavailable: ${(err as Error).message}`);
  }
  // The daemon may have died before PDEATHSIG was set.
  if (process.ppid !== expectedParent) process.exit(0);
  return notes;
}

/** This process's thread ids. */
const threadIds = (): number[] => readdirSync('/proc/self/task').map(Number);

/** The process entry: bind to the daemon, wait for the settings, then serve. */
function main(send: (e: HeartbeatEvent, cb?: () => void) => void): void {
  const notes = bindToParent(Number(process.env[CHILD_ENV]));
  // Parent gone (or closed the channel): stop at once; the peer takes over after its deadtime.
  process.on('disconnect', () => process.exit(0));
  let handler: ((c: HeartbeatCommand) => void) | undefined;
  process.on('message', (m: Partial<HeartbeatInit> & { cmd?: string }) => {
    if (m.init && !handler) {
      const settings = m.init;
      serveHeartbeat(settings, {
        post: (e) => {
          if (process.connected) send(e);
        },
        onCommand: (h) => {
          handler = h;
        },
        // The callback runs once everything posted before it is written; then the channel can go.
        close: () => send({ ev: 'bye' }, () => process.disconnect()),
      });
      if (settings.rtPriority > 0) notes.push(setProcessRealtime(settings.rtPriority, threadIds()).detail);
      for (const n of notes)
        send({ ev: 'log', level: 'info', msg: `heartbeat process: ${n}`, fields: { op: 'start' } });
      return;
    }
    if (handler && m.cmd) handler(m as HeartbeatCommand);
  });
}

if (process.send && process.env[CHILD_ENV]) {
  const s = process.send.bind(process);
  main((e, cb) => (cb ? s(e, undefined, undefined, cb) : s(e)));
}
