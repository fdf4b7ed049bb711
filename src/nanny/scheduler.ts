/**
 * One timer for many nannies: a binary min-heap of due times served by a single underlying timeout.
 * Ten thousand real servers probed at 1 Hz cost one heap push/pop each per probe instead of ten thousand
 * live `setInterval`s. Entries are objects owned by the caller and reused for every reschedule, so the
 * steady state allocates nothing here.
 *
 * Pure: time and the underlying timer come from an injected {@link Clock}.
 */

/** Time source and one-shot timer; `systemClock` in production, sinon's fake clock in tests. */
export interface Clock {
  /** Monotonic milliseconds (fractional allowed). */
  now(): number;
  /** Wall-clock milliseconds since the epoch (for status timestamps). */
  wallNow(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The process clock. Globals are looked up at call time so sinon fake timers take effect. */
export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** A reusable timer slot. `fire(latenessMs)` runs when due; `lateness` = how late the heap served it. */
export class TimerEntry {
  /** Due time (clock ms); meaningful only while scheduled. */
  at = 0;
  /** Position in the heap, -1 when not scheduled. */
  index = -1;
  constructor(readonly fire: (latenessMs: number) => void) {}
  get scheduled(): boolean {
    return this.index >= 0;
  }
}

/** What a nanny needs from a scheduler (HeapScheduler; benchmarks plug in alternatives). */
export interface Scheduler {
  readonly clock: Clock;
  now(): number;
  readonly size: number;
  schedule(entry: TimerEntry, at: number): void;
  cancel(entry: TimerEntry): void;
  clear(): void;
}

/** Entries due within this much of now are served in the same wake-up (timers have 1 ms granularity). */
const SLACK_MS = 0.5;
/** Longest run of callbacks per wake-up, ms. */
const SLICE_MS = 5;

/**
 * Min-heap scheduler. `schedule(entry, at)` (re)places an entry; `cancel(entry)` removes it.
 *
 * @example
 *   const s = new HeapScheduler(systemClock);
 *   const e = new TimerEntry((late) => console.log('late by', late));
 *   s.schedule(e, s.now() + 1000);
 */
export class HeapScheduler implements Scheduler {
  private readonly heap: TimerEntry[] = [];
  private handle: unknown = undefined;
  private armedAt = Number.POSITIVE_INFINITY;
  private running = false;

  constructor(readonly clock: Clock) {}

  now(): number {
    return this.clock.now();
  }

  /** Number of scheduled entries. */
  get size(): number {
    return this.heap.length;
  }

  /** Schedules (or moves) `entry` to fire at clock time `at`. */
  schedule(entry: TimerEntry, at: number): void {
    if (entry.index >= 0) {
      const old = entry.at;
      entry.at = at;
      if (at < old) this.up(entry.index);
      else this.down(entry.index);
    } else {
      entry.at = at;
      entry.index = this.heap.length;
      this.heap.push(entry);
      this.up(entry.index);
    }
    this.arm();
  }

  /** Removes `entry` if scheduled. */
  cancel(entry: TimerEntry): void {
    const i = entry.index;
    if (i < 0) return;
    const last = this.heap.pop()!;
    entry.index = -1;
    if (last !== entry) {
      this.heap[i] = last;
      last.index = i;
      this.up(i);
      this.down(last.index);
    }
    if (this.heap.length === 0) this.disarm();
  }

  /** Cancels everything and the underlying timer. */
  clear(): void {
    for (const e of this.heap) e.index = -1;
    this.heap.length = 0;
    this.disarm();
  }

  private disarm(): void {
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.handle = undefined;
    this.armedAt = Number.POSITIVE_INFINITY;
  }

  private arm(): void {
    if (this.running) return; // run() re-arms when it finishes
    const first = this.heap[0];
    if (!first) {
      this.disarm();
      return;
    }
    if (this.handle !== undefined && first.at >= this.armedAt) return;
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.armedAt = first.at;
    this.handle = this.clock.setTimeout(this.run, Math.max(0, Math.ceil(first.at - this.clock.now())));
  }

  private readonly run = (): void => {
    this.handle = undefined;
    this.armedAt = Number.POSITIVE_INFINITY;
    this.running = true;
    try {
      // Serve what was due when we woke; entries rescheduled into the past wait for the next turn of the
      // event loop so a zero-interval loop cannot starve I/O.
      // At most SLICE_MS of work per turn: when we are behind (CPU starved, a burst of due probes), the
      // rest waits for the next turn so I/O completions and other timers (heartbeat) run in between.
      const now = this.clock.now();
      const limit = now + SLACK_MS;
      let first = this.heap[0];
      let budget = this.heap.length;
      while (first && first.at <= limit && budget-- > 0) {
        this.cancel(first);
        const t = this.clock.now();
        try {
          first.fire(Math.max(t - first.at, 0));
        } catch {
          /* a nanny's bug must not stop the other nannies' timers */
        }
        if (t - now > SLICE_MS) break;
        first = this.heap[0];
      }
    } finally {
      this.running = false;
      this.arm();
    }
  };

  private up(i: number): void {
    const h = this.heap;
    const e = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pe = h[p]!;
      if (pe.at <= e.at) break;
      h[i] = pe;
      pe.index = i;
      i = p;
    }
    h[i] = e;
    e.index = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const e = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && h[r]!.at < h[l]!.at) c = r;
      const ce = h[c]!;
      if (ce.at >= e.at) break;
      h[i] = ce;
      ce.index = i;
      i = c;
    }
    h[i] = e;
    e.index = i;
  }
}
