/**
 * The worker thread of ./validate.ts: loads or checks one configuration file and posts the result. It
 * shares nothing with the daemon but the message; the daemon terminates it at its deadline.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { checkConfig, ConfigError, loadConfig } from '../config';
import type { ValidateRequest, ValidateResult } from './validate';

function run(req: ValidateRequest): ValidateResult {
  if (req.mode === 'check') {
    const r = checkConfig(req.path);
    return { mode: 'check', ok: r.ok, diagnostics: r.diagnostics };
  }
  try {
    const { model, warnings } = loadConfig(req.path);
    return { mode: 'load', ok: true, model, diagnostics: warnings };
  } catch (err) {
    if (err instanceof ConfigError) return { mode: 'load', ok: false, diagnostics: err.diagnostics };
    throw err;
  }
}

parentPort?.postMessage(run(workerData as ValidateRequest));
