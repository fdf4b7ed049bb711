/**
 * The messages between the daemon's supervisor (supervisor.ts) and the heartbeat process (child.ts), over
 * Node's IPC channel ('advanced' serialization). The daemon sends the settings (settings.ts) first, then
 * commands; the heartbeat process sends events, log records and status snapshots.
 *
 *   to the heartbeat:   { init: HeartbeatSettings } then HeartbeatCommand…
 *   from the heartbeat: HeartbeatEvent…, ending with { ev: 'stopped' } and { ev: 'bye' } after a stop
 */
import type { LogRecord } from '../lib/log.js';
import type { FaultSource } from './fsm.js';
import type { HeartbeatSettings } from './settings.js';
import type { HeartbeatStatus, HeartbeatTransition } from './status.js';

/** The environment variable that marks the heartbeat process; its value is the daemon's pid. */
export const CHILD_ENV = 'LVS_PULSE_HB_CHILD';

/** The first message to the heartbeat process: everything it runs from. */
export interface HeartbeatInit {
  init: HeartbeatSettings;
}

/** An order to the heartbeat process (one per `Heartbeat` method). */
export type HeartbeatCommand =
  | { cmd: 'takeover' }
  | { cmd: 'release' }
  | { cmd: 'fault'; source: FaultSource; on: boolean; detail: string }
  /** Hold voluntary claims (connection resync pending) on or off. */
  | { cmd: 'hold'; on: boolean; detail: string }
  /** Reload: new settings (timers, preempt, keys, link interfaces change in place). */
  | { cmd: 'reconfigure'; settings: HeartbeatSettings }
  | { cmd: 'config-hash'; hash: string }
  | { cmd: 'stop'; graceful: boolean };

/** What the heartbeat process reports. */
export type HeartbeatEvent =
  /** Running (or stopped); each carries a status snapshot, and 'status' comes every statusEveryMs. */
  | { ev: 'started' | 'status' | 'stopped'; status: HeartbeatStatus }
  | { ev: 'transition'; t: HeartbeatTransition; status: HeartbeatStatus }
  | { ev: 'reannounce'; r: { reason: string; evidence: string } }
  | { ev: 'peer-config-mismatch'; m: { peer: string | null; ours: string; theirs: string } }
  /** A log record of the engine, for the daemon's log. */
  | { ev: 'log'; level: LogRecord['level']; msg: string; fields: Record<string, unknown> }
  /** The engine could not start or stop: the message says why. */
  | { ev: 'error'; msg: string }
  /** Last message before the heartbeat process closes the channel. */
  | { ev: 'bye' };

/** How often the heartbeat process sends a status snapshot: 5 keepalives, within 20–250 ms. */
export function statusEveryMs(keepaliveMs: number): number {
  return Math.max(20, Math.min(250, keepaliveMs * 5));
}
