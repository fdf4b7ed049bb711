/**
 * The process seam of the LB backends: `ipvsadm` and `nft` run through the one runner (`src/lib/run.ts`:
 * argument arrays, never a shell, optional stdin), and resolve with their exit status and output instead of
 * rejecting on a non-zero status, so the drivers decide what a failure means. Tests inject a fake `Exec`.
 */
import { describeOutcome, runProgram } from '../lib/run';

/** What a finished program left behind. `code` is null when it was killed or could not start. */
export interface ExecOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The process runner the LB backends use; tests inject a fake. */
export type Exec = (file: string, args: string[], input?: string) => Promise<ExecOutcome>;

/**
 * The real runner, with a timeout (default 30 s, then SIGTERM). A start failure or a kill is an outcome
 * (code null, the reason in stderr), not a throw. Output is capped at 256 MiB (a 10,000-server `-Sn`
 * is a few MB).
 */
export function execProcess(timeoutMs = 30_000): Exec {
  return async (file, args, input) => {
    const r = await runProgram(file, args, {
      timeoutMs,
      maxOutputBytes: 256 << 20,
      // Always a pipe, closed at once when there is nothing to send: as ipvsadm/nft have always seen it.
      input: input ?? '',
    });
    const failed = r.startError || r.timedOut || r.overflow;
    return {
      code: failed ? null : r.code,
      stdout: r.stdout,
      stderr: r.startError
        ? `${file}: ${r.startError.message}`
        : failed
          ? describeOutcome(r, timeoutMs)
          : r.stderr,
    };
  };
}
