/**
 * Piranha's `active_cmd` / `inactive_cmd` hooks plus a `notify_cmd` that receives the new state and the
 * reason as its last two arguments.
 *
 * A command line is split on whitespace like Piranha did (no quoting, no shell, no globbing) and run by the
 * one process runner (src/lib/run.ts) under `hooks.timeoutMs` (then SIGKILL). Output is logged; a failing or hanging hook is logged and
 * never fatal. Hooks run one after another in the order of transitions, so an `inactive_cmd` never
 * overtakes the `active_cmd` before it.
 */
import type { LvsModel } from '../config/model';
import type { Log } from '../lib/log';
import { runProgram } from '../lib/run';

/** The state a hook runs for: `active_cmd` on `active`, `inactive_cmd` on `inactive`. */
export type HookState = 'active' | 'inactive';

/** Splits a hook command line on whitespace (Piranha-style: no quotes, no escapes). */
export function splitCommand(line: string): string[] {
  return line.split(/\s+/).filter((w) => w.length > 0);
}

/** What one hook run left behind (logged by {@link Hooks}). */
export interface HookResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Set when the program could not be started at all (ENOENT, EACCES…). */
  error?: string;
}

/** Runs a program with a timeout; never rejects. */
export type HookExec = (file: string, args: string[], timeoutMs: number) => Promise<HookResult>;

const OUTPUT_LIMIT = 4096;

/** The default HookExec: the one runner, SIGKILL at the timeout, output capped for the log. */
export const execHook: HookExec = async (file, args, timeoutMs) => {
  const r = await runProgram(file, args, { timeoutMs, killSignal: 'SIGKILL', maxOutputBytes: 1 << 20 });
  const error = r.startError
    ? `${r.startError.code ?? 'ERROR'}: ${r.startError.message}`
    : r.overflow
      ? 'more than 1 MiB of output: killed'
      : undefined;
  return {
    code: r.code,
    signal: r.signal,
    stdout: r.stdout.slice(0, OUTPUT_LIMIT),
    stderr: r.stderr.slice(0, OUTPUT_LIMIT),
    timedOut: r.timedOut,
    ...(error ? { error } : {}),
  };
};

/** Options of {@link Hooks}. */
export interface HooksOptions {
  hooks: LvsModel['hooks'];
  log: Log;
  exec?: HookExec;
}

/** Runs the state-change hooks in order. */
export class Hooks {
  private chain: Promise<void> = Promise.resolve();
  private hooks: LvsModel['hooks'];
  private readonly exec: HookExec;

  constructor(private readonly opts: HooksOptions) {
    this.hooks = opts.hooks;
    this.exec = opts.exec ?? execHook;
  }

  /** Uses new hook settings for transitions queued from now on. */
  setHooks(hooks: LvsModel['hooks']): void {
    this.hooks = hooks;
  }

  /**
   * Queues the hooks for a transition: `active_cmd` or `inactive_cmd`, then `notify_cmd STATE REASON`.
   * The returned promise resolves when they have run (it never rejects).
   */
  transition(state: HookState, reason: string): Promise<void> {
    const h = this.hooks;
    const steps: { name: string; line: string; extra: string[] }[] = [];
    const main = state === 'active' ? h.activeCmd : h.inactiveCmd;
    if (main?.trim())
      steps.push({ name: state === 'active' ? 'active_cmd' : 'inactive_cmd', line: main, extra: [] });
    if (h.notifyCmd?.trim()) steps.push({ name: 'notify_cmd', line: h.notifyCmd, extra: [state, reason] });
    const run = async (): Promise<void> => {
      for (const s of steps) await this.runOne(s.name, s.line, s.extra, h.timeoutMs, state, reason);
    };
    this.chain = this.chain.then(run, run);
    return this.chain;
  }

  /** Resolves when every queued hook has finished. */
  idle(): Promise<void> {
    return this.chain;
  }

  private async runOne(
    name: string,
    line: string,
    extra: string[],
    timeoutMs: number,
    state: HookState,
    reason: string,
  ): Promise<void> {
    const [file, ...args] = splitCommand(line);
    if (!file) return;
    const fields = { op: 'hook', hook: name, command: [file, ...args, ...extra].join(' '), state, reason };
    const started = Date.now();
    let r: HookResult;
    try {
      r = await this.exec(file, [...args, ...extra], timeoutMs);
    } catch (err) {
      r = { code: null, signal: null, stdout: '', stderr: '', timedOut: false, error: String(err) };
    }
    const out = {
      ...fields,
      ms: Date.now() - started,
      ...(r.stdout.trim() ? { stdout: r.stdout.trim() } : {}),
      ...(r.stderr.trim() ? { stderr: r.stderr.trim() } : {}),
    };
    if (r.error) this.opts.log.error(`${name} could not run`, { ...out, error: r.error });
    else if (r.timedOut) this.opts.log.error(`${name} timed out and was killed`, { ...out, timeoutMs });
    else if (r.code !== 0) this.opts.log.warn(`${name} failed`, { ...out, code: r.code, signal: r.signal });
    else this.opts.log.info(`${name} ran`, out);
  }
}
