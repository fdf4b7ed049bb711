/**
 * Configuration validation off the daemon's main thread, with a deadline (issue 17): a file of 20,000
 * keys or nested blocks took 6–14 s to validate, and on the main thread that stalled the control socket
 * and the systemd watchdog pings until the watchdog killed the daemon. Here `reload` and `check-config`
 * run the validator in a worker thread with its own heap limit; the main thread keeps serving, and a file
 * the worker cannot finish by the deadline (or that exhausts its heap) is simply refused.
 *
 * The result crosses back by structured clone: the model is plain data (test: *the model survives the
 * worker's structured clone*).
 */
import { Worker } from 'node:worker_threads';
import type { ConfigDiagnostic, LvsModel } from '../config/model';

/** Longest a validation may take before the file is refused (under pulsectl's 10 s reply timeout). */
export const VALIDATE_DEADLINE_MS = 8000;
/** Heap of the validation worker, MiB: a 4 MiB file (the size cap) needs far less. */
export const VALIDATE_HEAP_MB = 512;

/** What the worker is asked: load (for a reload: the model, or the errors) or check (every diagnostic). */
export interface ValidateRequest {
  mode: 'load' | 'check';
  path: string;
}

/** The worker's answer; `model` only for a load without errors. */
export interface ValidateResult {
  mode: 'load' | 'check';
  ok: boolean;
  model?: LvsModel;
  diagnostics: ConfigDiagnostic[];
}

/** Options of {@link validateOffThread}. */
export interface ValidateOptions {
  deadlineMs?: number;
  heapMb?: number;
}

/** One diagnostic at line 1 of `path`: the validation itself failed. */
function failed(req: ValidateRequest, message: string): ValidateResult {
  return {
    mode: req.mode,
    ok: false,
    diagnostics: [{ file: req.path, line: 1, col: 1, severity: 'error', message }],
  };
}

/**
 * Validates `req.path` in a worker thread. Never throws and never blocks the caller's thread: a timeout,
 * a worker crash or an exhausted heap is an error diagnostic (the file is refused).
 */
export function validateOffThread(req: ValidateRequest, opts: ValidateOptions = {}): Promise<ValidateResult> {
  const deadline = opts.deadlineMs ?? VALIDATE_DEADLINE_MS;
  const file = require.resolve('./validate-worker');
  return new Promise((resolve) => {
    let worker: Worker;
    try {
      // Under tsx (tests) the sources are .ts: the worker registers tsx before loading its file.
      worker = file.endsWith('.ts')
        ? new Worker(
            `require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(file)});`,
            {
              eval: true,
              workerData: req,
              resourceLimits: { maxOldGenerationSizeMb: opts.heapMb ?? VALIDATE_HEAP_MB },
            },
          )
        : new Worker(file, {
            workerData: req,
            resourceLimits: { maxOldGenerationSizeMb: opts.heapMb ?? VALIDATE_HEAP_MB },
          });
    } catch (err) {
      resolve(failed(req, `cannot start the validator: ${(err as Error).message}`));
      return;
    }
    let done = false;
    const finish = (r: ValidateResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
      void worker.terminate();
    };
    const timer = setTimeout(
      () => finish(failed(req, `validation did not finish within ${deadline} ms: the file is refused`)),
      deadline,
    );
    worker.once('message', (r: ValidateResult) => finish(r));
    worker.once('error', (err: Error & { code?: string }) =>
      finish(
        failed(
          req,
          err.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? `validation ran out of memory (${opts.heapMb ?? VALIDATE_HEAP_MB} MiB): the file is refused`
            : `validation failed: ${err.message}`,
        ),
      ),
    );
    worker.once('exit', (code) => finish(failed(req, `validation stopped (exit ${code}) without an answer`)));
  });
}
