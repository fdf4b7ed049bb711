/**
 * Issue 17 items 5 and 12: the control socket checks its caller (SO_PEERCRED) against the grant table,
 * with real uids (setpriv from util-linux runs the clients as throwaway uids that need no account); the
 * run directory and the socket file are made so that nobody else can reach or replace them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sinon from 'sinon';
import { CONSOLE_GRANTS, refusal, roleOf } from '../../../src/daemon/access';
import { ControlServer, request } from '../../../src/daemon/control';
import type { ControlCommand } from '../../../src/daemon/protocol';
import { MemoryLog } from '../../../src/lib/log';
import { need, needRoot } from '../../helpers/need';

const CONSOLE = { name: 'lp-console', uid: 64123, gid: 64123 };
const CONFIG = '/etc/lvs-pulse/lvs-pulse.yaml';
const POLICY = { console: CONSOLE, configPath: CONFIG };

describe('control socket access (grant table)', () => {
  const ALL: ControlCommand[] = [
    { cmd: 'ping' },
    { cmd: 'status' },
    { cmd: 'events' },
    { cmd: 'takeover' },
    { cmd: 'release' },
    { cmd: 'drain', server: 'web/rs1' },
    { cmd: 'enable', server: 'web/rs1' },
    { cmd: 'reload' },
    { cmd: 'check-config' },
    { cmd: 'check-config', path: CONFIG },
    { cmd: 'check-config', path: '/etc/shadow' },
  ];

  it('root may run everything; the console its grants (check-config of its own file only); others nothing', () => {
    assert.equal(roleOf({ pid: 1, uid: 0, gid: 0 }, POLICY), 'root');
    assert.equal(roleOf({ pid: 1, uid: CONSOLE.uid, gid: 1 }, POLICY), 'console');
    for (const c of ALL) assert.equal(refusal('root', c, POLICY), undefined, c.cmd);
    for (const c of ALL) {
      const r = refusal('console', c, POLICY);
      if (c.cmd === 'check-config' && c.path === '/etc/shadow')
        assert.match(r ?? '', /may check only the daemon's own file.*check-config PATH is for root/);
      else assert.equal(r, undefined, c.cmd);
    }
    const other = roleOf({ pid: 1, uid: 1000, gid: CONSOLE.gid }, POLICY);
    assert.match((other as { error: string }).error, /uid 1000 is neither root nor the console user/);
    const none = roleOf({ pid: 1, uid: CONSOLE.uid, gid: CONSOLE.gid }, { configPath: CONFIG });
    assert.match((none as { error: string }).error, /none configured/);
    assert.match((roleOf(undefined, POLICY) as { error: string }).error, /SO_PEERCRED/);
  });

  it('a command outside the grant table is root-only (the table is an allow-list)', () => {
    const fake = { cmd: 'set-active-cmd' } as unknown as ControlCommand;
    assert.ok(!CONSOLE_GRANTS.has(fake.cmd));
    assert.match(refusal('console', fake, POLICY) ?? '', /set-active-cmd is for root only/);
    assert.equal(refusal('root', fake, POLICY), undefined);
  });
});

/** Runs a control request as another uid/gid (setpriv), returning the reply line or the error code. */
function requestAs(uid: number, gid: number, dir: string, cmd: string, args?: unknown): Promise<string> {
  const script = `
    const s = require('net').connect(process.argv[1]);
    let buf = '';
    s.on('connect', () => s.write(JSON.stringify({ cmd: process.argv[2], args: JSON.parse(process.argv[3]) }) + '\\n'));
    s.on('data', (d) => { buf += d; const i = buf.indexOf('\\n'); if (i >= 0) { process.stdout.write(buf.slice(0, i)); s.destroy(); } });
    s.on('error', (e) => process.stdout.write('ERR ' + e.code));
    s.on('end', () => { if (!buf.includes('\\n')) process.stdout.write(buf || 'EOF'); });
  `;
  return new Promise((resolve, reject) => {
    execFile(
      'setpriv',
      [
        `--reuid=${uid}`,
        `--regid=${gid}`,
        '--clear-groups',
        process.execPath,
        '-e',
        script,
        join(dir, 'pulse.sock'),
        cmd,
        JSON.stringify(args ?? {}),
      ],
      { timeout: 10_000 },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message} ${stderr}`)) : resolve(stdout)),
    );
  });
}

describe('control socket with real uids (SO_PEERCRED)', function () {
  this.timeout(30_000);
  let dir: string;
  let server: ControlServer;
  const handled: { cmd: string; uid: number }[] = [];

  before(function () {
    needRoot(this);
    need(this, existsSync('/usr/bin/setpriv') ? undefined : 'setpriv (util-linux) not installed');
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lp-acl-'));
    handled.length = 0;
    server = new ControlServer(
      dir,
      {
        async handle(cmd, caller) {
          handled.push({ cmd: cmd.cmd, uid: caller.uid });
          return { done: cmd.cmd };
        },
        subscribe: () => () => {},
      },
      new MemoryLog(),
      POLICY,
    );
    await server.listen();
  });
  afterEach(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the socket is 0660 with the console group, the directory 0710 with it: nothing more', () => {
    const s = lstatSync(server.path);
    assert.ok(s.isSocket());
    assert.equal(s.mode & 0o777, 0o660);
    assert.equal(s.uid, 0);
    assert.equal(s.gid, CONSOLE.gid);
    const d = lstatSync(dir);
    assert.equal(d.mode & 0o777, 0o710);
    assert.equal(d.gid, CONSOLE.gid);
  });

  it('the console user may run its commands; check-config of another file is refused', async () => {
    const st = JSON.parse(await requestAs(CONSOLE.uid, CONSOLE.gid, dir, 'status'));
    assert.deepEqual(st, { ok: true, result: { done: 'status' } });
    const own = JSON.parse(await requestAs(CONSOLE.uid, CONSOLE.gid, dir, 'check-config'));
    assert.equal(own.ok, true);
    const shadow = JSON.parse(
      await requestAs(CONSOLE.uid, CONSOLE.gid, dir, 'check-config', { path: '/etc/shadow' }),
    );
    assert.equal(shadow.ok, false);
    assert.match(shadow.error, /permission denied: the console user may check only/);
    assert.deepEqual(handled, [
      { cmd: 'status', uid: CONSOLE.uid },
      { cmd: 'check-config', uid: CONSOLE.uid },
    ]);
  });

  it('another uid is refused by the daemon even when the file mode would let it in (console group)', async () => {
    const r = JSON.parse(await requestAs(64124, CONSOLE.gid, dir, 'status'));
    assert.equal(r.ok, false);
    assert.match(r.error, /permission denied: uid 64124 is neither root nor the console user \(lp-console/);
    assert.deepEqual(handled, []);
  });

  it('another uid outside the console group cannot even connect (EACCES)', async () => {
    assert.equal(await requestAs(64125, 64125, dir, 'status'), 'ERR EACCES');
  });

  it('without CAP_CHOWN (a custom unit) the socket stays root-only and the daemon still starts', async () => {
    const run = join(dir, 'nochown');
    const code = `
      const { ControlServer } = require(${JSON.stringify(join(__dirname, '../../../src/daemon/control'))});
      const { MemoryLog } = require(${JSON.stringify(join(__dirname, '../../../src/lib/log'))});
      const log = new MemoryLog();
      const s = new ControlServer(${JSON.stringify(run)}, { handle: async () => 1, subscribe: () => () => {} }, log,
        { console: ${JSON.stringify(CONSOLE)}, configPath: '/x' });
      s.listen().then(() => {
        const fs = require('fs');
        process.stdout.write(JSON.stringify({ sock: fs.lstatSync(s.path).mode & 0o777, dir: fs.statSync(${JSON.stringify(run)}).mode & 0o777,
          warned: log.records.some((r) => /root only/.test(r.msg)) }));
        return s.close();
      }, (e) => { process.stdout.write('ERR ' + e.message); });
    `;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        'setpriv',
        ['--inh-caps=-chown', '--bounding-set=-chown', process.execPath, '--import', 'tsx', '-e', code],
        { timeout: 20_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message} ${stderr}`)) : resolve(stdout)),
      ),
    );
    assert.deepEqual(JSON.parse(out), { sock: 0o600, dir: 0o700, warned: true });
  });

  it('root may run everything, check-config of any regular file included', async () => {
    assert.deepEqual(await request(dir, 'check-config', { path: '/etc/hostname' }), {
      ok: true,
      result: { done: 'check-config' },
    });
  });
});

describe('control socket files (run directory, socket creation)', () => {
  let base: string;
  let server: ControlServer | undefined;
  const make = (dir: string) =>
    new ControlServer(dir, { handle: async () => 'x', subscribe: () => () => {} }, new MemoryLog(), {
      configPath: CONFIG,
    });

  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'lp-run-'));
  });
  afterEach(async () => {
    sinon.restore();
    await server?.close().catch(() => {});
    server = undefined;
    rmSync(base, { recursive: true, force: true });
  });

  it('refuses a run directory that is a symlink', async () => {
    const real = join(base, 'real');
    mkdirSync(real, { mode: 0o700 });
    symlinkSync(real, join(base, 'run'));
    server = make(join(base, 'run'));
    await assert.rejects(server.listen(), /run directory .*run is a symlink: refusing to start/);
    assert.ok(!existsSync(join(real, 'pulse.sock')));
  });

  it('refuses a run directory writable by its group or others', async () => {
    const run = join(base, 'run');
    mkdirSync(run);
    chmodSync(run, 0o770);
    server = make(run);
    await assert.rejects(server.listen(), /writable by its group \(mode 770\): refusing to start/);
    chmodSync(run, 0o703);
    await assert.rejects(make(run).listen(), /writable by others/);
  });

  it('refuses a run directory owned by another user', async function () {
    needRoot(this);
    const run = join(base, 'run');
    mkdirSync(run, { mode: 0o700 });
    chownSync(run, 65534, 65534);
    server = make(run);
    await assert.rejects(server.listen(), /owned by uid 65534, not by the daemon's uid 0/);
  });

  it('without a console user: socket 0600 and directory 0700, made so at creation', async () => {
    const run = join(base, 'run');
    server = make(run);
    await server.listen();
    assert.equal(lstatSync(server.path).mode & 0o777, 0o600);
    assert.equal(statSync(run).mode & 0o777, 0o700);
  });

  it('a symlink planted at the socket path as it is created is never followed: listen fails', async () => {
    const run = join(base, 'run');
    const victim = join(base, 'victim');
    writeFileSync(victim, 'precious');
    chmodSync(victim, 0o644);
    const path = join(run, 'pulse.sock');
    // The attacker wins the race: right after bind, the socket path becomes a symlink to the victim.
    const real = net.createServer;
    sinon.stub(net, 'createServer').callsFake(((...a: Parameters<typeof net.createServer>) => {
      const srv = real(...a);
      srv.prependListener('listening', () => {
        unlinkSync(path);
        symlinkSync(victim, path);
      });
      return srv;
    }) as typeof net.createServer);
    server = make(run);
    await assert.rejects(server.listen(), /was replaced while the control socket was being created/);
    assert.equal(statSync(victim).mode & 0o777, 0o644, 'the victim file kept its mode');
  });
});
