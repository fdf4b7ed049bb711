/**
 * Shared types of the nanny: the probe contract (defined in probes/exchange.ts, which imports nothing),
 * load readings, and the events a nanny emits when a real server's state or weight changes.
 */

export type { Probe, ProbeResult } from './probes/exchange';

/** A load reading (1-minute load average) for `load_monitor`. */
export interface LoadReading {
  ok: boolean;
  load?: number;
  detail: string;
}

/** Reads a real server's 1-minute load average; never throws. */
export type LoadSource = () => Promise<LoadReading>;

/** Published state of a real server. `unknown` only until its first probe result. */
export type RealServerState = 'up' | 'down' | 'drained' | 'unknown';

/** A change of a real server's state or effective weight. */
export interface NannyEvent {
  vs: string;
  rs: string;
  address: string;
  port: number;
  state: RealServerState;
  /** Effective weight for the LB table; `null` = not in the table. */
  weight: number | null;
  reason: string;
}

/** What status() reports about the last probe. */
export interface LastProbe {
  ok: boolean;
  detail: string;
  /** Wall-clock time the probe finished (ms since epoch as given by the clock's `wallNow`). */
  atMs: number;
  ms: number;
}
