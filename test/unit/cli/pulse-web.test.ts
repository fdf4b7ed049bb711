import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { main, parseListen } from '../../../src/cli/pulse-web';
import { readPasswordFile, verifyPassword } from '../../../src/web/password';
import { startWeb } from '../../../src/web/server';
import { login, makeEnv } from '../web/fixture';
import { needRoot } from '../../helpers/need';
import { capture } from './capture';

const CLI = join(__dirname, '../../../src/cli/pulse-web.ts');
const run = (args: string[], input?: string) =>
  new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    p.stderr.on('data', (d) => {
      stderr += d;
    });
    p.on('close', (code) => resolve({ code, stderr }));
    p.stdin.end(input ?? '');
  });

describe('pulse-web command line', function () {
  this.timeout(20_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pulse-web-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('parses --listen', () => {
    assert.deepEqual(parseListen('127.0.0.1:3636'), { host: '127.0.0.1', port: 3636 });
    assert.deepEqual(parseListen('[::1]:8443'), { host: '::1', port: 8443 });
    assert.deepEqual(parseListen('4000'), { host: '127.0.0.1', port: 4000 });
    assert.throws(() => parseListen('host:99999'));
    assert.throws(() => parseListen('a:b:c'));
  });

  it('--help exits 0; usage errors exit 2 before anything is read or served', async () => {
    const help = await capture(main, 'pulse-web', ['--help']);
    assert.equal(help.code, 0);
    for (const o of ['--listen', '--tls-cert', '--set-password', '--peer-url', '--accept-peer-push'])
      assert.ok(help.stdout.includes(o), o);
    const none = join(dir, 'no-such-password-file');
    const cases: [string[], RegExp][] = [
      [['--bogus'], /unknown option '--bogus'/],
      [['--listen', 'a:b:c'], /expected HOST:PORT, \[IPv6\]:PORT or PORT/],
      [['--tls-cert', join(dir, 'cert.pem')], /--tls-cert and --tls-key go together/],
      [['--peer-url', 'ftp://198.18.0.12'], /--peer-url must be https:\/\/HOST:PORT/],
      [['--peer-url', 'http://198.18.0.12:3636'], /--peer-url must be https:\/\/HOST:PORT/],
      [['--set-password', '--owner', 'no such user!'], /expected a user name or UID\[:GID\]/],
      [['--session-idle', '0'], /--session-idle and --session-max must be positive numbers/],
      [['--session-max', 'soon'], /--session-idle and --session-max must be positive numbers/],
    ];
    for (const [argv, why] of cases) {
      const r = await capture(main, 'pulse-web', ['--password-file', none, ...argv]);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.stderr, why, argv.join(' '));
    }
    assert.equal(existsSync(none), false);
  });

  it('sets the password (hashed, 0600), refuses a short one, and refuses to start without one', async () => {
    const pw = join(dir, 'web.passwd');
    const noFile = await run(['--password-file', pw, '--run-dir', dir, '--listen', '0']);
    assert.equal(noFile.code, 2);
    assert.match(
      noFile.stderr,
      /no console password is set \(there is no default password\); run `pulse-web --set-password/,
    );
    const short = await run(['--set-password', '--password-file', pw], 'short\n');
    assert.equal(short.code, 2);
    assert.equal(existsSync(pw), false);
    const ok = await run(['--set-password', '--password-file', pw], 'a long enough password\n');
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(statSync(pw).mode & 0o777, 0o600);
    assert.doesNotMatch(readFileSync(pw, 'utf8'), /long enough/);
    assert.equal(await verifyPassword('a long enough password', readPasswordFile(pw)), true);
  });

  it('--set-password --owner gives the file to the console user (as root)', async function () {
    needRoot(this);
    const pw = join(dir, 'owned.passwd');
    const r = await run(
      ['--set-password', '--password-file', pw, '--owner', '65534:65534'],
      'a long enough password\n',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(statSync(pw).uid, 65534);
    assert.equal(statSync(pw).mode & 0o777, 0o600);
  });

  it('refuses a peer push set-up that cannot be safe: no TLS, no push key', async () => {
    const env = await makeEnv();
    await env.web.close();
    try {
      const base = ['--password-file', env.passwordFile, '--run-dir', env.runDir, '--listen', '127.0.0.1:0'];
      const noTls = await capture(main, 'pulse-web', [
        ...base,
        '--accept-peer-push',
        '--peer-address',
        '127.0.0.1',
      ]);
      assert.equal(noTls.code, 2);
      assert.match(noTls.stderr, /--accept-peer-push needs --tls-cert and --tls-key/);
      const noKey = await capture(main, 'pulse-web', [...base, '--peer-url', 'https://127.0.0.1:1']);
      assert.equal(noKey.code, 2);
      assert.match(noKey.stderr, /--peer-url needs --push-key FILE/);
    } finally {
      await env.cleanup();
    }
  });

  it('refuses a non-loopback address without TLS', async () => {
    const r = await run(['--password-file', join(dir, 'x'), '--listen', '0.0.0.0:3636']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /refusing to listen on 0\.0\.0\.0 without TLS/);
  });

  it('serves HTTPS with --tls-cert/--tls-key: Secure cookies and HSTS', async () => {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
    ]);
    const env = await makeEnv();
    await env.web.close();
    const web = await startWeb({
      runDir: env.runDir,
      passwordFile: env.passwordFile,
      log: env.log,
      port: 0,
      tls: { cert: readFileSync(cert), key: readFileSync(key) },
    });
    try {
      assert.match(web.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const c = await login(web); // inject: same app, TLS flags apply
      assert.ok(c.sid);
      const res = await web.app.inject({ method: 'GET', url: '/login' });
      assert.match(String(res.headers['strict-transport-security']), /max-age/);
      assert.ok(
        res.cookies.every((k) => k.secure === true),
        'every cookie Secure',
      );
      const status = await new Promise<number>((resolve, reject) => {
        const r = request(
          `${web.url}/login`,
          { ca: readFileSync(cert), checkServerIdentity: () => undefined },
          (x) => {
            x.resume();
            resolve(x.statusCode!);
          },
        );
        r.on('error', reject);
        r.end();
      });
      assert.equal(status, 200);
    } finally {
      await web.close();
      await env.cleanup();
    }
  });
});
