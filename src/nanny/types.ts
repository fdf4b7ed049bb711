/**
 * Shared types of the nanny: probe results, the probe function a worker calls, and the events a worker
 * emits when a real server's state or weight changes.
 */

/** Outcome of one probe. Probes never throw: every failure is `{ ok: false, detail }`. */
export interface ProbeResult {
  ok: boolean;
  /** Why, in an operator's words: `connection refused`, `timeout after 600 ms`, `HTTP 503`. */
  detail: string;
  /** Duration of the probe, ms. */
  ms: number;
  /** Dynamic weight feedback (misc_dynamic style): a weight the real server asked for. */
  weight?: number;
  /**
   * A timeout judged while our own event loop was stalled (the timer fired far too late): it says nothing
   * about the real server, so the worker does not count it (up to a limit) instead of taking servers out
   * because the router was busy.
   */
  inconclusive?: boolean;
}

/**
 * One probe run against a fixed target; built once per real server by `createProbe`. A probe that keeps
 * state between runs (an idle keep-alive connection) has `dispose`, which the worker calls when it stops
 * or replaces the probe.
 */
export type Probe = (() => Promise<ProbeResult>) & { dispose?: () => void };

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
