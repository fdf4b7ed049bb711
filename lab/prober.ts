/**
 * The client-side outage probe, the way a client lives it: a new HTTP request starts every `intervalMs`
 * (default 5 ms) regardless of the others; a request counts as served only if its answer arrives within
 * `deadlineMs` (default 50 ms) of its start. The outage is the longest run of unserved starts, in ms.
 *
 * Run inside the client namespace: prober URL [--interval 5] [--deadline 50] [--duration-ms N]
 * Prints one JSON line per second ({"t":..,"rps":..,"failed":..,"by":{"rs1":n}}) and, on SIGTERM/SIGINT or at
 * the end, a final {"summary":...} line. SIGUSR2 prints a {"mark":...} summary of the samples since the last mark.
 */
import { request } from 'node:http';

/** One probe request: when it started (ms), whether it was served, and by which real server. */
export interface Sample {
  start: number;
  ok: boolean;
  by?: string;
}

/** Pure: the longest run of consecutive unserved starts, as ms from the first failed start to the next served one. */
export function longestOutage(samples: Sample[]): { ms: number; failedInRun: number; at?: number } {
  const s = [...samples].sort((a, b) => a.start - b.start);
  let best = { ms: 0, failedInRun: 0, at: undefined as number | undefined };
  let runStart: number | undefined;
  let count = 0;
  for (const x of s) {
    if (!x.ok) {
      if (runStart === undefined) runStart = x.start;
      count++;
    } else if (runStart !== undefined) {
      const ms = x.start - runStart;
      if (ms > best.ms) best = { ms, failedInRun: count, at: runStart };
      runStart = undefined;
      count = 0;
    }
  }
  if (runStart !== undefined) {
    const last = s[s.length - 1]!.start;
    const ms = last - runStart;
    if (ms > best.ms) best = { ms, failedInRun: count, at: runStart };
  }
  return best;
}

function main(): void {
  const args = process.argv.slice(2);
  const url = new URL(args[0] ?? 'http://198.18.0.10/');
  const opt = (name: string, def: number) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : def;
  };
  const intervalMs = opt('interval', 5);
  const deadlineMs = opt('deadline', 50);
  const durationMs = opt('duration-ms', 0);
  const samples: Sample[] = [];
  const t0 = performance.now();
  let secFailed = 0;
  let secOk = 0;
  let secBy: Record<string, number> = {};
  const fire = () => {
    const start = performance.now();
    const sample: Sample = { start: start - t0, ok: false };
    samples.push(sample);
    let settled = false;
    const finish = (ok: boolean, by?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sample.ok = ok && performance.now() - start <= deadlineMs;
      sample.by = by;
      if (sample.ok) {
        secOk++;
        if (by) secBy[by] = (secBy[by] ?? 0) + 1;
      } else secFailed++;
    };
    const req = request(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => finish(res.statusCode === 200, body.trim() || undefined));
      res.on('error', () => finish(false));
    });
    const timer = setTimeout(() => {
      finish(false);
      req.destroy();
    }, deadlineMs);
    req.on('error', () => finish(false));
    req.end();
  };
  const tick = setInterval(fire, intervalMs);
  const report = setInterval(() => {
    process.stdout.write(
      `${JSON.stringify({ t: Math.round(performance.now() - t0), ok: secOk, failed: secFailed, by: secBy })}\n`,
    );
    secOk = 0;
    secFailed = 0;
    secBy = {};
  }, 1000);
  const end = () => {
    clearInterval(tick);
    clearInterval(report);
    // Let in-flight requests settle (each has a deadline).
    setTimeout(() => {
      const o = longestOutage(samples);
      const failed = samples.filter((s) => !s.ok).length;
      process.stdout.write(
        `${JSON.stringify({ summary: { requests: samples.length, failed, outageMs: Math.round(o.ms * 10) / 10, failedInRun: o.failedInRun, outageAtMs: o.at } })}\n`,
      );
      process.exit(0);
    }, deadlineMs + 20);
  };
  // SIGUSR2: summary of the samples since the previous mark (the demo marks each step).
  let markFrom = 0;
  process.on('SIGUSR2', () => {
    // Only settled samples (older than the deadline) belong to this window.
    const settledBefore = performance.now() - t0 - deadlineMs - 5;
    let cut = samples.length;
    while (cut > markFrom && samples[cut - 1]!.start > settledBefore) cut--;
    const window = samples.slice(markFrom, cut);
    markFrom = cut;
    const o = longestOutage(window);
    process.stdout.write(
      `${JSON.stringify({ mark: { requests: window.length, failed: window.filter((s) => !s.ok).length, outageMs: Math.round(o.ms * 10) / 10 } })}\n`,
    );
  });
  process.on('SIGTERM', end);
  process.on('SIGINT', end);
  // Handlers are installed: from now on SIGUSR2/SIGTERM are safe to send.
  process.stdout.write('{"ready":true}\n');
  if (durationMs > 0) setTimeout(end, durationMs);
}

if (require.main === module) main();
