/** Helpers shared by the probe edges: timing, the deadline, reply matching, errors in an operator's words. */
import { bytesText, compileEre, type EreMatcher } from '../../lib/regex';
import type { ProbeResult } from './exchange';

/** Re-exported for the probe kinds that import their helpers from here. */
export type { ProbeTarget } from './exchange';

const CODE_WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'timed out',
  EPIPE: 'broken pipe',
  EADDRNOTAVAIL: 'source address not available',
  ENOENT: 'program not found',
  EACCES: 'permission denied',
};

/** `ECONNREFUSED` → `connection refused`; otherwise the error's message. */
export function describeError(err: unknown): string {
  const e = err as NodeJS.ErrnoException | undefined;
  if (e?.code && CODE_WORDS[e.code]) return CODE_WORDS[e.code]!;
  return e?.message ?? String(err);
}

/** Milliseconds since `start` (performance.now() based), rounded to 0.1 ms. */
export function since(start: number): number {
  return Math.round((performance.now() - start) * 10) / 10;
}

/** A timeout timer firing later than this (ms) means our event loop was stalled: the verdict is inconclusive. */
export function stallLimit(timeoutMs: number): number {
  return Math.max(100, timeoutMs / 2);
}

/**
 * Runs `body` with a hard deadline. `body` gets a `finish` callback (first call wins) and returns a cleanup
 * function run exactly once after the outcome is known (close sockets, kill children). Never rejects.
 */
export function withDeadline(
  timeoutMs: number,
  body: (finish: (ok: boolean, detail: string, weight?: number) => void) => () => void,
): Promise<ProbeResult> {
  const start = performance.now();
  return new Promise<ProbeResult>((resolve) => {
    let done = false;
    let cleanup: (() => void) | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = (ok: boolean, detail: string, weight?: number): void => {
      const r: ProbeResult = { ok, detail, ms: since(start) };
      if (weight !== undefined) r.weight = weight;
      settle(r);
    };
    const finishInconclusive = (detail: string): void =>
      settle({ ok: false, detail, ms: since(start), inconclusive: true });
    const settle = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      resolve(r);
      if (cleanup) {
        try {
          cleanup();
        } catch {
          /* best effort */
        }
      }
    };
    // The verdict waits one turn (setImmediate runs after the poll phase): when the event loop was stalled
    // (GC, CPU starvation) the connection may have completed long ago with its event still queued behind
    // this timer; libuv runs timers before I/O, so judging at once would fail every probe in flight.
    timer = setTimeout(() => {
      const late = performance.now() - start - timeoutMs;
      setImmediate(() => {
        if (done) return;
        if (late > stallLimit(timeoutMs)) {
          finishInconclusive(`timeout after ${timeoutMs} ms (our event loop ${Math.round(late)} ms late)`);
        } else finish(false, `timeout after ${timeoutMs} ms`);
      });
    }, timeoutMs);
    try {
      cleanup = body(finish);
    } catch (err) {
      finish(false, describeError(err));
    }
    if (done && cleanup) {
      try {
        cleanup();
      } catch {
        /* best effort */
      }
    }
  });
}

/** Byte-exact prefix / `*` / regex matching of a reply, Piranha's send/expect rules. */
export interface ReplyMatcher {
  /** Returns undefined when the reply matches, else why not. */
  check(reply: Buffer): string | undefined;
}

/** Piranha read at most this many bytes of the first reply (its recv buffer) and matched them as a C string. */
export const REGEX_WINDOW = 254;

/**
 * The compiled health-check pattern for `pattern` (POSIX ERE, lib/regex.ts), shared by every probe that
 * uses it: re2js keeps a lazy DFA per compiled pattern (at most 8 MiB), so 10,000 real servers of one
 * virtual server hold one, not 10,000. At most 256 patterns are kept (a config has a few).
 * @throws Error saying why when the pattern cannot run (the config checks refuse such a pattern first).
 */
export function ereMatcher(pattern: string): EreMatcher {
  const hit = MATCHERS.get(pattern);
  if (hit) return hit;
  const c = compileEre(pattern);
  if ('error' in c) throw new Error(`regular expression ${JSON.stringify(pattern)}: at character ${c.index + 1}: ${c.error}`);
  if (MATCHERS.size >= 256) MATCHERS.delete(MATCHERS.keys().next().value!);
  MATCHERS.set(pattern, c);
  return c;
}
const MATCHERS = new Map<string, EreMatcher>();

/**
 * Builds a matcher for `expect`: `*` matches anything (even an empty reply), `useRegex` = unanchored POSIX
 * extended regular expression (as Piranha's regcomp REG_EXTENDED, matched in linear time: lib/regex.ts)
 * over the first 254 bytes of the first read, up to a NUL byte as regexec saw them, `.` matching a
 * newline too; otherwise the reply must start with the expect bytes. Throws (at config time) on a pattern
 * that cannot run.
 */
export function replyMatcher(expect: string, useRegex: boolean): ReplyMatcher {
  if (expect === '*') return { check: () => undefined };
  if (useRegex) {
    const re = ereMatcher(expect);
    return {
      check: (reply) =>
        re.test(bytesText(reply, REGEX_WINDOW, true))
          ? undefined
          : `reply ${quote(reply)} does not match /${expect}/`,
    };
  }
  const want = Buffer.from(expect, 'latin1');
  return {
    check: (reply) =>
      reply.length >= want.length && reply.subarray(0, want.length).equals(want)
        ? undefined
        : `reply ${quote(reply)} does not start with ${JSON.stringify(expect)}`,
  };
}

/** First bytes of a reply, JSON-quoted, for log lines. */
export function quote(b: Buffer): string {
  const s = b.subarray(0, 40).toString('latin1');
  return JSON.stringify(s) + (b.length > 40 ? '…' : '');
}
