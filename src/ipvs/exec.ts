/**
 * Run a program with an argument array (never a shell), optionally feeding stdin; resolves with its exit
 * status and output instead of rejecting on a non-zero status, so callers decide what a failure means.
 */
import { spawn } from 'node:child_process';

/** What a finished program left behind. `code` is null when it was killed or could not start. */
export interface ExecOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The process runner the LB backends use; tests inject a fake. */
export type Exec = (file: string, args: string[], input?: string) => Promise<ExecOutcome>;

/** The real runner: `spawn(file, args)` with a timeout (default 30 s); a start failure is an outcome, not a throw. */
export function execProcess(timeoutMs = 30_000): Exec {
  return (file, args, input) =>
    new Promise((resolve) => {
      const p = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let startError = '';
      p.stdout.on('data', (c: Buffer) => out.push(c));
      p.stderr.on('data', (c: Buffer) => err.push(c));
      p.on('error', (e) => {
        startError = `${file}: ${e.message}`;
      });
      p.on('close', (code) =>
        resolve({
          code: startError ? null : code,
          stdout: Buffer.concat(out).toString(),
          stderr: startError || Buffer.concat(err).toString(),
        }),
      );
      p.stdin.on('error', () => {});
      p.stdin.end(input ?? '');
    });
}
