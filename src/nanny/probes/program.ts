/**
 * send_program probe: runs a program with %h (real server address) and %p (port) substituted, split on
 * whitespace, through the one process runner (src/lib/run.ts: no shell), killed (SIGKILL) at the probe's
 * deadline.
 *
 * Piranha's bug, fixed: Piranha judged only the program's output, so a program that exited non-zero or was
 * killed by the timeout could still count as UP. Here a non-zero exit or a timeout is always DOWN.
 * With `expect` set the probe passes iff the exit is 0 and stdout, with one trailing newline removed,
 * equals `expect` (`*` = any output). With `exitCodeFeedback`, keepalived's misc_dynamic rule applies
 * instead of the plain exit test: 0 up, 1 down, 2..255 up with weight code − 2.
 */
import { runProgram } from '../../lib/run';
import type { Probe } from '../types';
import { exitCodeFeedback } from '../weights';
import { describeError, type ProbeTarget, withDeadline } from './common';

/** A send_program probe's command, the output it expects, and whether its exit code sets the weight. */
export interface ProgramOptions {
  /** Command line with %h and %p placeholders, split on whitespace (no quoting, as Piranha). */
  command: string;
  expect?: string;
  exitCodeFeedback?: boolean;
}

/** Splits a send_program line into argv and substitutes %h / %p in every argument. */
export function programArgv(command: string, address: string, port: number): string[] {
  return command
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((a) => a.replaceAll('%h', address).replaceAll('%p', String(port)));
}

const OUTPUT_LIMIT = 64 * 1024;

/** Output with one trailing newline (`\n` or `\r\n`) chopped. */
export function chopNewline(s: string): string {
  if (s.endsWith('\r\n')) return s.slice(0, -2);
  if (s.endsWith('\n')) return s.slice(0, -1);
  return s;
}

/** The send_program probe for target `t`. @throws Error when the command line is empty. */
export function programProbe(t: ProbeTarget, o: ProgramOptions): Probe {
  const argv = programArgv(o.command, t.address, t.port);
  const [file, ...args] = argv;
  if (!file) throw new Error(`send_program is empty`);
  return () =>
    withDeadline(t.timeoutMs, (finish) => {
      // The deadline (withDeadline) decides the timeout; aborting kills the program when it settles first.
      const ac = new AbortController();
      void runProgram(file, args, {
        signal: ac.signal,
        killSignal: 'SIGKILL',
        maxOutputBytes: OUTPUT_LIMIT,
      }).then((r) => {
        if (r.startError) return finish(false, `cannot run ${file}: ${describeError(r.startError)}`);
        if (r.overflow) return finish(false, `cannot run ${file}: more than ${OUTPUT_LIMIT} bytes of output`);
        if (r.code === null) return finish(false, `killed by ${r.signal}`);
        const code = r.code;
        if (o.exitCodeFeedback) {
          const fb = exitCodeFeedback(code);
          if (!fb.ok) return finish(false, `exit ${code}`);
          return finish(
            true,
            fb.weight === undefined ? 'exit 0' : `exit ${code}: weight ${fb.weight}`,
            fb.weight,
          );
        }
        if (code !== 0) return finish(false, `exit ${code}`);
        if (o.expect === undefined || o.expect === '*') return finish(true, 'exit 0');
        const out = chopNewline(r.stdout);
        if (out === o.expect) return finish(true, `output ${JSON.stringify(out.slice(0, 40))}`);
        finish(false, `output ${JSON.stringify(out.slice(0, 40))} is not ${JSON.stringify(o.expect)}`);
      });
      return () => ac.abort();
    });
}
