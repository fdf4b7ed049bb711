/**
 * Worker-thread host for the heartbeat (`heartbeat.worker`): runs a HeartbeatEngine — sockets, timers,
 * receiver, state machine, link monitor — on its own event loop and heap, so the main thread's probes,
 * LB applies and garbage collection cannot delay a keepalive or a deadline.
 *
 * Protocol with the main thread (structured-clone messages):
 *   in:  { cmd: 'takeover' | 'release' } | { cmd: 'fault', source, on, detail } | { cmd: 'reconfigure', model }
 *        | { cmd: 'config-hash', hash } | { cmd: 'stop', graceful }
 *   out: { ev: 'started' | 'status' | 'stopped', status } | { ev: 'transition', t, status }
 *        | { ev: 'reannounce', r } | { ev: 'peer-config-mismatch', m } | { ev: 'log', level, msg, fields }
 *        | { ev: 'error', msg }
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { LvsModel, NodeName } from '../config/model.js';
import type { Log, LogFields } from '../lib/log.js';
import { HeartbeatEngine } from './engine.js';

export interface WorkerInit {
  lvsPulseHeartbeat: true;
  model: LvsModel;
  node?: NodeName;
  configHash: string;
  localAddresses?: string[];
  /** How often the worker posts a status snapshot, ms. */
  statusEveryMs: number;
}

export type WorkerCommand =
  | { cmd: 'takeover' }
  | { cmd: 'release' }
  | { cmd: 'fault'; source: 'link' | 'child'; on: boolean; detail: string }
  | { cmd: 'reconfigure'; model: LvsModel }
  | { cmd: 'config-hash'; hash: string }
  | { cmd: 'stop'; graceful: boolean };

function postingLog(post: (m: unknown) => void, base: LogFields = {}): Log {
  const at =
    (level: 'error' | 'warn' | 'info' | 'debug') =>
    (msg: string, fields?: LogFields): void =>
      post({ ev: 'log', level, msg, fields: { ...base, ...fields } });
  return {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    child: (f) => postingLog(post, { ...base, ...f }),
  };
}

function run(init: WorkerInit): void {
  const port = parentPort!;
  const post = (m: unknown) => port.postMessage(m);
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
  port.on('message', (c: WorkerCommand) => {
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
            port.close();
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
}

if (!isMainThread && (workerData as WorkerInit | undefined)?.lvsPulseHeartbeat) run(workerData as WorkerInit);
