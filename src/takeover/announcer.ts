/**
 * The announcement schedule (pure): when to (re)send a VIP's gratuitous ARP / unsolicited NA.
 *
 * Per VIP, from the moment `start()` is called (t = 0):
 * - a first burst of `count` announcements `intervalMs` apart — the FIRST ONE SYNCHRONOUSLY inside
 *   `start()`, in the same tick as the decision that called it;
 * - a second burst of `repeatCount` announcements `intervalMs` apart starting at t = `repeatDelayMs`
 *   (0 = no second burst), for neighbours and switches that missed the first (e.g. a port still coming up);
 * - an optional refresh: one announcement every `refreshMs` (0 = off) for as long as the VIP is held.
 *
 * Everything is cancellable at any moment (`stop`, `stopAll`, or the AbortSignal given to `start`): there is
 * no sleep that cannot be interrupted (MetalLB's fixed 5 s loop could not be). Timers are injected, so the
 * schedule is tested with sinon fake timers.
 */
import type { AnnounceConfig } from '../config/model';
import type { Log } from '../lib/log';

/** The timer functions the announcer uses (inject `globalThis`'s, or a fake clock's). */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The announcement timings of the model (`announce.*`), in ms. */
export type AnnounceSchedule = Pick<
  AnnounceConfig,
  'count' | 'intervalMs' | 'repeatDelayMs' | 'repeatCount' | 'refreshMs'
>;

/** Options of {@link Announcer}: the schedule, the send function, timers and log. */
export interface AnnouncerOptions {
  schedule: AnnounceSchedule;
  /** Sends one announcement (all frames) for `key`; may throw — the error is logged and counted. */
  send: (key: string) => void;
  timers: Timers;
  log: Log;
}

/**
 * The finite part of the schedule: offsets in ms from t = 0 (first burst then second burst), sorted.
 * Example: count 3, interval 100, repeat after 2000 × 2 → [0, 100, 200, 2000, 2100].
 */
export function burstOffsets(s: AnnounceSchedule): number[] {
  const out: number[] = [];
  const interval = Math.max(0, s.intervalMs);
  for (let i = 0; i < Math.max(1, s.count); i++) out.push(i * interval);
  if (s.repeatDelayMs > 0) for (let i = 0; i < s.repeatCount; i++) out.push(s.repeatDelayMs + i * interval);
  return out.sort((a, b) => a - b);
}

interface Run {
  /** Offsets still to come (ms from t = 0), ascending. */
  pending: number[];
  /** Offset of the next refresh, or Infinity. */
  nextRefresh: number;
  /** Refresh period of this run (Infinity = off). */
  refreshMs: number;
  /** Offset the currently armed timer fires at. */
  at: number;
  handle: unknown;
  unlisten?: () => void;
}

/** Runs one announcement schedule per key (a VIP). */
export class Announcer {
  private readonly runs = new Map<string, Run>();
  private schedule: AnnounceSchedule;
  /** Announcements made (one per send() call that did not throw). */
  sent = 0;
  /** send() calls that threw. */
  errors = 0;

  constructor(private readonly opts: AnnouncerOptions) {
    this.schedule = opts.schedule;
  }

  /** Changes the schedule for runs started from now on. */
  setSchedule(schedule: AnnounceSchedule): void {
    this.schedule = schedule;
  }

  /**
   * Starts (or restarts from t = 0) the schedule for `key`. The first announcement is sent before this
   * returns — unless `firstSent` says the caller has just sent it itself (to put the first frames of many
   * VIPs on the wire back to back before any scheduling work). An aborted `signal` stops the run; an already
   * aborted one sends nothing.
   */
  start(key: string, signal?: AbortSignal, opts: { firstSent?: boolean } = {}): void {
    this.stop(key);
    if (signal?.aborted) return;
    const pending = burstOffsets(this.schedule);
    pending.shift(); // offset 0 is sent right now
    const refresh = this.schedule.refreshMs > 0 ? this.schedule.refreshMs : Number.POSITIVE_INFINITY;
    const run: Run = { pending, nextRefresh: refresh, refreshMs: refresh, at: 0, handle: undefined };
    this.runs.set(key, run);
    if (signal) {
      const onAbort = (): void => this.stop(key);
      signal.addEventListener('abort', onAbort, { once: true });
      run.unlisten = () => signal.removeEventListener('abort', onAbort);
    }
    if (opts.firstSent) this.sent++;
    else this.fire(key);
    if (this.runs.get(key) === run) this.arm(key, run);
  }

  /** Stops the schedule for `key` (no-op when not running). */
  stop(key: string): void {
    const run = this.runs.get(key);
    if (!run) return;
    this.runs.delete(key);
    if (run.handle !== undefined) this.opts.timers.clearTimeout(run.handle);
    run.unlisten?.();
  }

  /** Stops every schedule. */
  stopAll(): void {
    for (const key of [...this.runs.keys()]) this.stop(key);
  }

  /** True while `key` has a schedule running (bursts pending or refresh on). */
  isRunning(key: string): boolean {
    return this.runs.has(key);
  }

  /** Keys with a schedule running. */
  running(): string[] {
    return [...this.runs.keys()];
  }

  private fire(key: string): void {
    try {
      this.opts.send(key);
      this.sent++;
    } catch (err) {
      this.errors++;
      this.opts.log.warn('announcement failed', { op: 'announce', vip: key, error: String(err) });
    }
  }

  private arm(key: string, run: Run): void {
    const next = Math.min(run.pending[0] ?? Number.POSITIVE_INFINITY, run.nextRefresh);
    if (next === Number.POSITIVE_INFINITY) {
      this.runs.delete(key);
      run.unlisten?.();
      return;
    }
    const delay = Math.max(0, next - run.at);
    run.handle = this.opts.timers.setTimeout(() => {
      if (this.runs.get(key) !== run) return;
      run.handle = undefined;
      run.at = next;
      // One announcement per instant even when a burst offset and a refresh coincide.
      while (run.pending.length > 0 && run.pending[0]! <= next) run.pending.shift();
      while (run.nextRefresh <= next) run.nextRefresh += run.refreshMs;
      this.fire(key);
      if (this.runs.get(key) === run) this.arm(key, run);
    }, delay);
  }
}
