/** Helpers for nanny lab tests. */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** A throw-away self-signed EC certificate for `cn` (also its subjectAltName) in `dir`; returns the paths. */
export function selfSignedCert(dir: string, cn: string): { key: string; cert: string } {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
    ].concat(['-subj', `/CN=${cn}`, '-addext', `subjectAltName=DNS:${cn}`, '-keyout', key, '-out', cert]),
    { stdio: 'ignore' },
  );
  return { key, cert };
}

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
