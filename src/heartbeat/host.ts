/**
 * The heartbeat's isolated host, shared by the two ways of running it away from the daemon's main thread:
 * a worker thread (worker.ts) and a child process (child.ts). Runs a HeartbeatEngine and speaks the
 * message protocol below over whichever channel it is given.
 *
 *   in:  { cmd: 'takeover' | 'release' } | { cmd: 'fault', source, on, detail } | { cmd: 'reconfigure', model }
 *        | { cmd: 'config-hash', hash } | { cmd: 'stop', graceful }
 *   out: { ev: 'started' | 'status' | 'stopped', status } | { ev: 'transition', t, status }
 *        | { ev: 'reannounce', r } | { ev: 'peer-config-mismatch', m } | { ev: 'log', level, msg, fields }
 *        | { ev: 'error', msg }
 */
import type { LvsModel, NodeName } from '../config/model.js';
import type { Log, LogFields } from '../lib/log.js';
import { HeartbeatEngine } from './engine.js';

export interface HostInit {
  lvsPulseHeartbeat: true;
  model: LvsModel;
  node?: NodeName;
  configHash: string;
  localAddresses?: string[];
  /** How often the host posts a status snapshot, ms. */
  statusEveryMs: number;
}

export type HostCommand =
  | { cmd: 'takeover' }
  | { cmd: 'release' }
  | { cmd: 'fault'; source: 'link' | 'child'; on: boolean; detail: string }
  | { cmd: 'reconfigure'; model: LvsModel }
  | { cmd: 'config-hash'; hash: string }
  | { cmd: 'stop'; graceful: boolean };

/** The channel to the daemon: post an event, receive commands, close when stopped. */
export interface HostChannel {
  post(m: unknown): void;
  onCommand(handler: (c: HostCommand) => void): void;
  close(): void;
}

function postingLog(post: (m: unknown) => void, base: LogFields = {}): Log {
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

/** Runs the engine for `init` over `ch` until a 'stop' command. Returns the engine (for the child's log). */
export function runHost(init: HostInit, ch: HostChannel): HeartbeatEngine {
  const post = (m: unknown) => ch.post(m);
  const engine = new HeartbeatEngine({
    model: init.model,
    ...(init.node ? { node: init.node } : {}),
    log: postingLog(post),
    configHash: init.configHash,
    ...(init.localAddresses ? { localAddresses: init.localAddresses } : {}),
  });
  engine.on('transition', (t) => post({ ev: 'transition', t, status: engine.status() }));
  engine.on('reannounce', (r) => post({ ev: 'reannounce', r }));
  engine.on('peer-config-mismatch', (m) => post({ ev: 'peer-config-mismatch', m }));
  const timer = setInterval(() => post({ ev: 'status', status: engine.status() }), init.statusEveryMs);
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
      case 'reconfigure':
        engine.reconfigure(c.model);
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
