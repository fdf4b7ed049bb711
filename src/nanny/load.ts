/**
 * load_monitor sources that exist today (Piranha ran `uptime`/`rup`/`ruptime` over rsh; none of those is
 * shipped any more): an HTTP agent endpoint on the real server returning its load average, or a local
 * command printing it (%h / %p substituted, split on whitespace, no shell). Both have a hard timeout and
 * never throw.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { MonitorConfig, RealServer } from '../config/model';
import { describeOutcome, runProgram } from '../lib/run';
import { describeError } from './probes/common';
import { programArgv } from './probes/program';
import type { LoadReading, LoadSource } from './types';
import { parseLoadAverage } from './weights';

const LIMIT = 4096;

/** GET `url` (with %h / %p substituted) and parse the body as a load average. */
export function httpLoadSource(url: string, timeoutMs: number): LoadSource {
  const u = new URL(url);
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return () =>
    new Promise<LoadReading>((resolve) => {
      let done = false;
      const finish = (r: LoadReading): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        req.destroy();
        resolve(r);
      };
      const timer = setTimeout(
        () => finish({ ok: false, detail: `timeout after ${timeoutMs} ms` }),
        timeoutMs,
      );
      const req = request(u, { agent: false, headers: { Connection: 'close' } }, (res) => {
        if ((res.statusCode ?? 0) !== 200) return finish({ ok: false, detail: `HTTP ${res.statusCode}` });
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
          if (body.length > LIMIT) finish({ ok: false, detail: 'reply too long' });
        });
        res.on('end', () => {
          const load = parseLoadAverage(body);
          finish(
            load === undefined
              ? { ok: false, detail: 'no load average in reply' }
              : { ok: true, load, detail: 'ok' },
          );
        });
      });
      req.on('error', (err) => finish({ ok: false, detail: describeError(err) }));
      req.end();
    });
}

/** Run a command and parse its stdout as a load average. */
export function commandLoadSource(argv: string[], timeoutMs: number): LoadSource {
  const [file, ...args] = argv;
  return async () => {
    if (!file) return { ok: false, detail: 'empty command' };
    const r = await runProgram(file, args, { timeoutMs, killSignal: 'SIGKILL', maxOutputBytes: LIMIT });
    if (r.code !== 0 || r.overflow)
      return {
        ok: false,
        detail: r.startError ? describeError(r.startError) : describeOutcome(r, timeoutMs),
      };
    const load = parseLoadAverage(r.stdout);
    return load === undefined
      ? { ok: false, detail: 'no load average in output' }
      : { ok: true, load, detail: 'ok' };
  };
}

/**
 * The load source for `rs` under `monitor`, or undefined when load_monitor is off (or Piranha's
 * rsh-based methods, which are reported but not run).
 */
export function createLoadSource(monitor: MonitorConfig, rs: RealServer): LoadSource | undefined {
  const lm = monitor.loadMonitor;
  const timeoutMs = Math.max(1000, monitor.timeoutMs);
  const sub = (s: string): string => s.replaceAll('%h', rs.address).replaceAll('%p', String(rs.port));
  if (lm.kind === 'http') return httpLoadSource(sub(lm.url), timeoutMs);
  if (lm.kind === 'command')
    return commandLoadSource(programArgv(lm.command, rs.address, rs.port), timeoutMs);
  return undefined;
}
