/**
 * Login throttling (pure: the clock is injected). A password check costs ~0.5 s of CPU and 128 MiB
 * (scrypt N = 2^17), so unauthenticated requests must not be able to make many of them:
 * - every attempt is counted BEFORE its password is checked: parallel guesses from one client all count,
 *   and once a client has used its attempts it is locked out without another check;
 * - clients are keyed by address, IPv6 by its /64 (one host can pick any address of its /64);
 * - a global budget of checks per second bounds the CPU all clients together can take;
 * - at most one check runs at a time, and only a few wait (VerifyQueue); the rest are told to come back;
 * - a locked client is never forgotten to make room: when the table is full of locked clients, new ones
 *   are refused until a lock ends.
 * The figures are in docs/web.md.
 */
import { formatIPv6, parseIPv6 } from '../lib/addr';

/** The throttling key of a remote address: IPv4 as is (also IPv4-mapped IPv6), IPv6 by its /64. */
export function clientKey(remote: string): string {
  if (!remote.includes(':')) return remote;
  const b = parseIPv6(remote.replace(/%.*$/, ''));
  if (!b) return remote;
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff)
    return b.subarray(12).join('.');
  const net = new Uint8Array(16);
  net.set(b.subarray(0, 8));
  return `${formatIPv6(net)}/64`;
}

/** Options of {@link LoginThrottle}. */
export interface ThrottleOptions {
  /** Attempts allowed per client within `windowMs`; the last of them locks it (default 5). */
  maxFailures: number;
  windowMs: number;
  /** How long a client is locked out, ms. */
  lockMs: number;
  now: () => number;
  /** Most clients tracked (default 10,000). */
  maxEntries?: number;
  /** Global budget: this many checks at once (default 5)… */
  burst?: number;
  /** …then one more every this many ms (default 2000). */
  refillMs?: number;
}

/** Whether an attempt may have its password checked, or why not and for how long. */
export type Admission =
  | { ok: true; key: string }
  | { ok: false; key: string; reason: 'locked' | 'rate' | 'full'; retryMs: number };

interface Entry {
  /** Attempts within the window. */
  times: number[];
  lockedUntil: number;
  last: number;
}

/** Counts login attempts per client and globally; see the file header. */
export class LoginThrottle {
  private readonly entries = new Map<string, Entry>();
  private tokens: number;
  private refilledAt: number;

  constructor(private readonly opts: ThrottleOptions) {
    this.tokens = this.burst;
    this.refilledAt = opts.now();
  }

  private get burst(): number {
    return this.opts.burst ?? 5;
  }
  private get refillMs(): number {
    return this.opts.refillMs ?? 2000;
  }

  /** Milliseconds the client of `remote` must still wait (0 = may try). */
  lockedFor(remote: string): number {
    const e = this.entries.get(clientKey(remote));
    return e ? Math.max(0, e.lockedUntil - this.opts.now()) : 0;
  }

  /**
   * Admits an attempt from `remote` and counts it (before its password is checked), or refuses it:
   * `locked` (this client used its attempts), `rate` (the global budget is spent) or `full` (every
   * tracked client is locked).
   */
  admit(remote: string): Admission {
    const key = clientKey(remote);
    const now = this.opts.now();
    let e = this.entries.get(key);
    if (e && e.lockedUntil > now) return { ok: false, key, reason: 'locked', retryMs: e.lockedUntil - now };
    const steps = Math.floor((now - this.refilledAt) / this.refillMs);
    if (steps > 0) {
      this.tokens = Math.min(this.burst, this.tokens + steps);
      this.refilledAt = this.tokens === this.burst ? now : this.refilledAt + steps * this.refillMs;
    }
    if (this.tokens < 1)
      return { ok: false, key, reason: 'rate', retryMs: this.refilledAt + this.refillMs - now };
    if (!e) {
      const wait = this.makeRoom(now);
      if (wait > 0) return { ok: false, key, reason: 'full', retryMs: wait };
      e = { times: [], lockedUntil: 0, last: now };
      this.entries.set(key, e);
    }
    this.tokens--;
    e.last = now;
    e.times = e.times.filter((t) => now - t < this.opts.windowMs);
    e.times.push(now);
    if (e.times.length >= this.opts.maxFailures) {
      e.lockedUntil = now + this.opts.lockMs;
      e.times = [];
    }
    return { ok: true, key };
  }

  /** A correct password: the client's count starts again. */
  succeed(remote: string): void {
    this.entries.delete(clientKey(remote));
  }

  /** Clients tracked. */
  get size(): number {
    return this.entries.size;
  }

  /** Frees a slot for a new client; returns 0, or how long until a lock ends when all are locked. */
  private makeRoom(now: number): number {
    const max = this.opts.maxEntries ?? 10_000;
    if (this.entries.size < max) return 0;
    const locked = (x: Entry) => x.lockedUntil > now;
    for (const [k, x] of this.entries)
      if (!locked(x) && x.times.every((t) => now - t >= this.opts.windowMs)) this.entries.delete(k);
    if (this.entries.size < max) return 0;
    let oldest: string | undefined;
    let oldestAt = Number.POSITIVE_INFINITY;
    let soonest = Number.POSITIVE_INFINITY;
    for (const [k, x] of this.entries) {
      if (locked(x)) soonest = Math.min(soonest, x.lockedUntil - now);
      else if (x.last < oldestAt) {
        oldest = k;
        oldestAt = x.last;
      }
    }
    if (oldest === undefined) return Math.max(1, soonest);
    this.entries.delete(oldest);
    return 0;
  }
}

/** Options of {@link VerifyQueue}. */
export interface VerifyQueueOptions {
  /** Checks running at once (default 1). */
  concurrency?: number;
  /** Checks waiting for a slot; more are refused at once (default 4). */
  maxWaiting?: number;
}

/** Runs expensive checks a few at a time, with a short queue (pure: no timers). */
export class VerifyQueue {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** Checks run so far, and the most that ever ran at once (for tests and the audit). */
  readonly stats = { run: 0, peak: 0, refused: 0 };

  constructor(private readonly opts: VerifyQueueOptions = {}) {}

  /** Runs `fn` when a slot is free; `{ ok: false }` at once (without running it) when the queue is full. */
  async run<T>(fn: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> {
    const concurrency = this.opts.concurrency ?? 1;
    if (this.running >= concurrency) {
      if (this.waiting.length >= (this.opts.maxWaiting ?? 4)) {
        this.stats.refused++;
        return { ok: false };
      }
      // The slot is handed over by the check that ends (still counted in `running`).
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.running++;
    this.stats.run++;
    this.stats.peak = Math.max(this.stats.peak, this.running);
    try {
      return { ok: true, value: await fn() };
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
