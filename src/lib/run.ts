/**
 * The one way lvs-pulse runs a program: `spawn(file, args)` with an argument array and no shell, so
 * nothing from the configuration is ever parsed by one. Every edge that runs `ip`, `nft`, `ipvsadm`,
 * `sysctl`, a hook, a `send_program` probe or a load command goes through `runProgram`, wrapped in its own
 * small injected seam (tests pass fakes there, not here).
 *
 * The contract every caller relies on: the promise never rejects. A program that cannot be started
 * (ENOENT, EACCES, an argument with a NUL byte) is an outcome with `startError`; a timeout, an abort or
 * too much output kills it with `killSignal` and is an outcome too. Output beyond `maxOutputBytes` is the
 * same failure as in `execFile`'s `maxBuffer` (the program is killed), because a program flooding its
 * pipe is misbehaving and must not grow our heap.
 *
 * @example
 *   const r = await runProgram('ip', ['-json', 'addr', 'show'], { timeoutMs: 10_000 });
 *   if (r.code === 0) parse(r.stdout); else log.warn('ip failed', { error: r.startError?.message ?? r.stderr });
 */
import { type ChildProcess, spawn } from 'node:child_process';

/** How {@link runProgram} runs one program. Every field is optional. */
export interface RunOptions {
  /** Kill the program after this many ms (absent or 0: no limit). */
  timeoutMs?: number;
  /** Signal sent on timeout, abort and output overflow (default SIGTERM, as `execFile`). */
  killSignal?: NodeJS.Signals;
  /** Most bytes kept per output stream (default 1 MiB); more kills the program and sets `overflow`. */
  maxOutputBytes?: number;
  /** Written to the program's stdin, which is then closed. Without it stdin is /dev/null. */
  input?: string | Buffer;
  /** Aborting kills the program (`aborted` in the outcome). */
  signal?: AbortSignal;
}

/** What a program left behind. */
export interface RunOutcome {
  /** Exit status; null when it was killed by a signal or never started. */
  code: number | null;
  /** The signal that ended it, or null. */
  signal: NodeJS.Signals | null;
  /** Its output, decoded as UTF-8 (at most `maxOutputBytes` bytes each). */
  stdout: string;
  stderr: string;
  /** Killed because `timeoutMs` passed. */
  timedOut: boolean;
  /** Killed because `signal` was aborted. */
  aborted: boolean;
  /** Killed because an output stream passed `maxOutputBytes`. */
  overflow: boolean;
  /** Set when the program could not be started at all; `code` is then null. */
  startError?: { code?: string; message: string };
}

/** The shape of {@link runProgram}, for seams that take a runner. */
export type RunProgram = (file: string, args: readonly string[], opts?: RunOptions) => Promise<RunOutcome>;

/** Default cap of each output stream, bytes. */
export const DEFAULT_MAX_OUTPUT = 1 << 20;

/**
 * Runs `file` with `args` (no shell) and resolves with its outcome when it has exited and its output is
 * closed. Never rejects (see the file header for the contract).
 */
export const runProgram: RunProgram = (file, args, opts = {}) =>
  new Promise<RunOutcome>((resolve) => {
    const limit = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
    const out = new Capture(limit);
    const err = new Capture(limit);
    let timedOut = false;
    let aborted = false;
    let overflow = false;
    let killed = false;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let child: ChildProcess;

    const finish = (r: Pick<RunOutcome, 'code' | 'signal'> & { startError?: RunOutcome['startError'] }) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve({
        code: r.code,
        signal: r.signal,
        stdout: out.text(),
        stderr: err.text(),
        timedOut,
        aborted,
        overflow,
        ...(r.startError ? { startError: r.startError } : {}),
      });
    };
    const kill = () => {
      if (killed) return;
      killed = true;
      try {
        child.kill(opts.killSignal ?? 'SIGTERM');
      } catch {
        /* already gone */
      }
    };
    const onAbort = () => {
      aborted = true;
      kill();
    };

    if (opts.signal?.aborted) {
      aborted = true;
      finish({ code: null, signal: null, startError: { code: 'ABORT_ERR', message: `${file}: aborted` } });
      return;
    }
    try {
      child = spawn(file, [...args], {
        stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        windowsHide: true,
      });
    } catch (e) {
      // Invalid arguments (a NUL byte, a non-string) throw synchronously: still an outcome.
      finish({ code: null, signal: null, startError: startErrorOf(file, e) });
      return;
    }
    child.on('error', (e) => {
      // Without a pid the program never started; otherwise (a failed kill) the close still comes.
      if (child.pid === undefined) finish({ code: null, signal: null, startError: startErrorOf(file, e) });
    });
    const onData = (cap: Capture) => (chunk: Buffer) => {
      if (cap.push(chunk) || overflow) return;
      overflow = true;
      kill();
    };
    child.stdout?.on('data', onData(out));
    child.stderr?.on('data', onData(err));
    child.on('exit', () => {
      // A program we killed may have left children holding the pipes: do not wait for them.
      if (killed) {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }
    });
    child.on('close', (code, signal) => finish({ code, signal }));
    if (opts.timeoutMs && opts.timeoutMs > 0) {
      timer = setTimeout(() => {
        timedOut = true;
        kill();
      }, opts.timeoutMs);
    }
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (child.stdin) {
      // A program that exits without reading its input closes the pipe: EPIPE is not our failure.
      child.stdin.on('error', () => {});
      child.stdin.end(opts.input);
    }
  });

/** An output stream kept up to a byte limit. */
class Capture {
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  constructor(private readonly limit: number) {}
  /** Keeps the chunk (cut at the limit); false once the limit is passed. */
  push(chunk: Buffer): boolean {
    const room = this.limit - this.bytes;
    if (room <= 0) return chunk.length === 0;
    this.chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
    this.bytes += Math.min(chunk.length, room);
    return chunk.length <= room;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

function startErrorOf(file: string, e: unknown): { code?: string; message: string } {
  const x = e as NodeJS.ErrnoException;
  return {
    ...(typeof x?.code === 'string' ? { code: x.code } : {}),
    message: x?.message ?? `${file}: ${String(e)}`,
  };
}

/**
 * One line for a log or an error: the start error, else `killed by SIG…` / `timed out after N ms`,
 * else the trimmed stderr, else `exit N`.
 */
export function describeOutcome(r: RunOutcome, timeoutMs?: number): string {
  if (r.startError) return r.startError.message;
  if (r.timedOut) return `timed out${timeoutMs ? ` after ${timeoutMs} ms` : ''}`;
  if (r.overflow) return 'too much output: killed';
  if (r.aborted) return 'aborted';
  const stderr = r.stderr.trim();
  if (stderr) return stderr;
  if (r.signal) return `killed by ${r.signal}`;
  return `exit ${r.code}`;
}
