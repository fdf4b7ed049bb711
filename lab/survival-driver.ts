/**
 * Drives a running lab/survival-client.ts over its stdin/stdout (one JSON line per command) as the
 * scenario's {@link SurvivalClient}; the labs spawn the process in their client namespace and hand it here.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { ConnRecord, SurvivalClient } from './survival';

/** Sends `open CONNS INTERVAL` to the client process and returns the scenario's handle on it. */
export async function driveSurvivalClient(
  child: ChildProcess,
  conns: number,
  intervalMs: number,
): Promise<SurvivalClient> {
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const r = await lines.next();
    if (r.done) throw new Error(`survival client ended (exit ${child.exitCode ?? child.signalCode})`);
    return JSON.parse(r.value) as Record<string, unknown>;
  };
  let chain: Promise<unknown> = Promise.resolve();
  const cmd = (line: string): Promise<Record<string, unknown>> => {
    const p = chain.then(() => {
      child.stdin!.write(`${line}\n`);
      return next();
    });
    chain = p.catch(() => {});
    return p;
  };
  await next(); // its hello
  await cmd(`open ${conns} ${intervalMs}`);
  return {
    async ready(n, timeoutMs) {
      const r = await cmd(`ready ${n} ${timeoutMs}`);
      if ((r.ready as number) < n) throw new Error(`only ${r.ready} of ${n} connections up and echoing`);
    },
    async report() {
      return (await cmd('report')).conns as ConnRecord[];
    },
    async stop() {
      if (child.exitCode !== null) return [];
      return (await cmd('stop')).conns as ConnRecord[];
    },
  };
}
