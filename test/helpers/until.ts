/**
 * The one wait-for helper of the tests: polls `probe` until it gives a value, or fails with what was being
 * waited for. Real timers (for fake-timer tests, advance the clock instead).
 */

/** How {@link until} polls. */
export interface UntilOptions {
  /** Give up after this long, ms (default 10,000). */
  timeoutMs?: number;
  /** Poll this often, ms (default 25). */
  everyMs?: number;
  /** Added to the timeout error, e.g. what was seen so far. */
  detail?: () => string;
}

/**
 * Resolves with the first value of `probe` that is not `undefined`, `null` or `false` (so a predicate or
 * a finder both work); rejects with `timed out after N ms waiting for WHAT` once the time is up.
 * @example await until('r1 active', async () => (await status('r1')).role === 'active', 15_000);
 */
export async function until<T>(
  what: string,
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  opts: number | UntilOptions = {},
): Promise<T> {
  const o = typeof opts === 'number' ? { timeoutMs: opts } : opts;
  const timeoutMs = o.timeoutMs ?? 10_000;
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > end) {
      const detail = o.detail?.();
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail ? `; ${detail}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, o.everyMs ?? 25));
  }
}
