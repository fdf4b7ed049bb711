/** Helpers for nanny lab tests. */
import type { ChildProcess } from 'node:child_process';

/** Starts a lab process and resolves once it prints `ready`. */
export function waitReady(child: ChildProcess, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const t = setTimeout(() => reject(new Error(`${what} not ready: ${out} ${err}`)), 15000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d;
      if (out.includes('ready')) {
        clearTimeout(t);
        resolve();
      }
    });
    child.stderr?.on('data', (d: Buffer) => {
      err += d;
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`${what} exited ${code}: ${err}`));
    });
  });
}
