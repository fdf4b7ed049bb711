/**
 * `pulse-web` without root (issue 17 item 5, web half; needs root to create the user): the real CLI runs
 * as a throwaway system user, as the systemd unit runs it as `lvs-pulse`. It logs in, reads and saves the
 * configuration file it owns in a sticky group directory (root:USER 1770), upgrades the password hash in
 * place and asks the daemon to reload over the control socket. What it saved can name no program root
 * would run: the daemon's loader (run here as root) refuses a program-naming key in a file that user owns.
 *
 * The daemon here is the fake of test/unit/web/fixture.ts on a real control socket; granting the socket
 * to the console's user (SO_PEERCRED, group mode) is the daemon's side, so the test hands the socket file
 * to the user itself.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { checkConfig } from '../../../src/config';
import { hashPassword, parseHash, writePasswordFile } from '../../../src/web/password';
import { need, needRoot } from '../../helpers/need';
import { FakeDaemon, PASSWORD, TEST_SCRYPT } from '../../unit/web/fixture';

const CLI = resolve(__dirname, '../../../src/cli/pulse-web.ts');

describe('pulse-web as its own user, without root (lab)', function () {
  this.timeout(60_000);
  const user = `lpw${randomBytes(3).toString('hex')}`;
  let uid = 0;
  let gid = 0;
  let dir = '';
  let web: ChildProcess | undefined;
  let daemon: FakeDaemon | undefined;
  let stderr = '';

  before(function () {
    needRoot(this);
    // setpriv (util-linux) and useradd/userdel (passwd) run the console as another user.
    const missing = ['setpriv', 'useradd', 'userdel'].find((t) => !hasTool(t));
    need(this, missing && `needs ${missing}`);
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', user]);
    uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }));
    gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }));
  });

  after(async function () {
    if (this.currentTest?.state === 'failed') console.log(stderr);
    // The user can only be deleted once none of its processes runs.
    if (web && web.exitCode === null && web.signalCode === null) {
      const exited = new Promise<void>((r) => web!.once('exit', () => r()));
      web.kill('SIGTERM');
      const t = setTimeout(() => web!.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    await daemon?.server.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (uid) execFileSync('userdel', [user]);
  });

  it('logs in, saves an edit to the file it owns and reloads the daemon, as a user that is not root', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lp-nonroot-'));
    chmodSync(dir, 0o755);
    const etc = join(dir, 'etc');
    mkdirSync(etc);
    chownSync(etc, 0, gid);
    chmodSync(etc, 0o1770);
    const config = join(etc, 'lvs-pulse.yaml');
    copyFileSync('etc/lvs.yaml', config);
    chownSync(config, uid, gid);
    chmodSync(config, 0o640);
    const passwd = join(etc, 'web.passwd');
    writePasswordFile(passwd, await hashPassword(PASSWORD, TEST_SCRYPT), { uid, gid });
    const rootKey = join(etc, 'heartbeat.key');
    writeFileSync(rootKey, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    const run = join(dir, 'run');
    // The console's account as the real daemon grants it (pulse --console-user): its commands only.
    daemon = new FakeDaemon(run, config, { console: { name: user, uid, gid }, configPath: config });
    await daemon.server.listen();
    chmodSync(run, 0o755);
    chownSync(join(run, 'pulse.sock'), uid, gid);

    const port = 40000 + Math.floor(Math.random() * 20000);
    web = spawn(
      'setpriv',
      [
        `--reuid=${uid}`,
        `--regid=${gid}`,
        '--clear-groups',
        '--',
        process.execPath,
        '--import',
        'tsx',
        CLI,
        '--config',
        config,
        '--run-dir',
        run,
        '--password-file',
        passwd,
        '--listen',
        `127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], cwd: resolve(__dirname, '../../..') },
    );
    web.stderr!.on('data', (d) => {
      stderr += d;
    });
    const url = `http://127.0.0.1:${port}`;
    const end = Date.now() + 30_000;
    while (!/web console listening/.test(stderr)) {
      if (Date.now() > end || web.exitCode !== null) throw new Error(`pulse-web did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const status = readFileSync(`/proc/${web.pid}/status`, 'utf8');
    // setpriv execs node in place: the listening process is the one spawned.
    assert.match(
      status,
      new RegExp(`^Uid:\\s+${uid}\\s+${uid}\\s+${uid}\\s+${uid}$`, 'm'),
      'runs as the user',
    );
    assert.match(status, /^CapEff:\s+0+$/m, 'no capability');

    const page = await fetch(`${url}/login`);
    let cookie = page.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const token = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
    const loggedIn = await fetch(`${url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: `_csrf=${encodeURIComponent(token)}&password=${encodeURIComponent(PASSWORD)}`,
    });
    assert.equal(loggedIn.status, 303);
    cookie = `${cookie}; ${loggedIn.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ')}`;
    assert.equal(
      parseHash(readFileSync(passwd, 'utf8'))!.params.N,
      1 << 17,
      'hash upgraded in place by the user',
    );
    assert.equal(statSync(passwd).uid, uid);
    const app = await (await fetch(`${url}/`, { headers: { cookie } })).text();
    const csrf = /name="csrf-token" content="([^"]+)"/.exec(app)![1]!;
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`${url}${path}`, {
        method,
        headers: { cookie, 'x-csrf-token': csrf, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    const cfg = (await (await api('GET', '/api/config')).json()) as { version: string };
    const saved = await api('PUT', '/api/config/virtual/http/real/rs1', {
      version: cfg.version,
      fields: { weight: '7' },
    });
    assert.equal(saved.status, 200, await saved.clone().text());
    assert.match(readFileSync(config, 'utf8'), /weight: 7/);
    assert.equal(statSync(config).uid, uid, 'still the user’s file');
    assert.deepEqual(daemon.commands, [{ cmd: 'reload' }], 'reload over the control socket');
    // The user cannot touch root's key in the sticky directory.
    const replaced = await api('PUT', '/api/config/redundancy', {
      version: ((await (await api('GET', '/api/config')).json()) as { version: string }).version,
      fields: { 'heartbeat.keyFile': rootKey },
    });
    assert.equal(replaced.status, 422, 'key files are read-only from the web');

    // A root-owned file (the choice when hooks are needed) cannot be saved by the console, and says why.
    chownSync(config, 0, 0);
    chmodSync(config, 0o644);
    const v = ((await (await api('GET', '/api/config')).json()) as { version: string }).version;
    const rootOwned = await api('PUT', '/api/config/virtual/http/real/rs1', {
      version: v,
      fields: { weight: '8' },
    });
    assert.equal(rootOwned.status, 500);
    assert.match(
      await rootOwned.text(),
      /cannot save .*\(EPERM\): the console runs as uid \d+, which may not write it/,
    );
    assert.match(readFileSync(config, 'utf8'), /weight: 7/, 'unchanged');
    chownSync(config, uid, gid);

    // A compromised console writes a hook into its own file: the daemon (root) refuses to load it.
    const doc = parseYaml(readFileSync(config, 'utf8')) as { hooks?: Record<string, unknown> };
    doc.hooks = { ...doc.hooks, active_cmd: '/bin/sh -c id' };
    const evil = stringifyYaml(doc);
    execFileSync('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', 'tee', config], {
      input: evil,
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    const check = checkConfig(config);
    assert.equal(check.ok, false);
    assert.ok(
      check.diagnostics.some((d) =>
        /active_cmd: names a program that root runs, but .* is owned by uid/.test(d.message),
      ),
      JSON.stringify(check.diagnostics),
    );
  });
});

/** Whether a program is on PATH. */
function hasTool(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
