/**
 * ConnSync on the nftables backend with a fake conntrackd (injected spawn + exec): its own files, the
 * primary-backup recipe by role, the commit before the claim, the returning router's resync and hold,
 * supervision (death, back-off, the error it printed), a config it cannot write, a stale lock.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import sinon from 'sinon';
import { baseModel, syncDaemonConfig, virtualServerConfig } from '../../../src/config/build';
import type { LvsModel } from '../../../src/config/model';
import type { Exec } from '../../../src/ipvs/exec';
import { ConnSync } from '../../../src/ipvs/sync';
import { MemoryLog } from '../../../src/lib/log';

/** A conntrackd child: prints lines, exits when killed or told to. */
class FakeChild extends EventEmitter {
  stdout = new PassThrough();
  stderr = new PassThrough();
  exitCode: number | null = null;
  signalCode: string | null = null;
  constructor(readonly pid: number) {
    super();
  }
  kill(sig = 'SIGTERM'): boolean {
    if (this.exitCode !== null || this.signalCode !== null) return false;
    this.signalCode = sig;
    setImmediate(() => this.emit('exit', null, sig));
    return true;
  }
  fail(line: string, code = 1): void {
    this.stdout.write(`[Fri Dec  4 20:45:03 2026] (pid=${this.pid}) [ERROR] ${line}\n`);
    this.exitCode = code;
    setTimeout(() => this.emit('exit', code, null), 1);
  }
}

/** conntrackd's state as its control commands see it. */
class FakeConntrackd {
  spawned: { args: string[]; env: NodeJS.ProcessEnv }[] = [];
  flags: string[] = [];
  child: FakeChild | undefined;
  external = 0;
  internal = 0;
  recv = 0;
  changes = 0;
  /** What the peer has: sent 50 ms after a `-n`. */
  peerFlows = 200;
  /** The next start fails with this conntrackd error line. */
  failNext: string | undefined;
  /** A conntrackd of an earlier run answers on the socket until told -k. */
  stale = false;
  private pids = 100;

  spawn = (_file: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess => {
    const c = new FakeChild(this.pids++);
    this.spawned.push({ args, env });
    const fail = this.failNext;
    this.failNext = undefined;
    if (fail) setTimeout(() => c.fail(fail), 5);
    else this.child = c;
    c.once('exit', () => {
      if (this.child === c) this.child = undefined;
    });
    return c as unknown as ChildProcess;
  };

  exec: Exec = async (_file, args) => {
    const flag = args[2]!;
    if (flag !== '-s') this.flags.push(flag);
    const alive = this.child !== undefined || this.stale;
    if (!alive) return { code: 1, stdout: '', stderr: 'connect: No such file or directory' };
    if (flag === '-k') this.stale = false;
    if (flag === '-n')
      setTimeout(() => {
        this.external = this.peerFlows;
        this.changes += this.peerFlows;
        this.recv += 3;
      }, 50);
    if (flag === '-f') this.external = 0;
    if (flag === '-s') return { code: 0, stdout: this.stats(), stderr: '' };
    return { code: 0, stdout: '', stderr: '' };
  };

  stats(): string {
    return [
      'cache internal:',
      `current active connections:\t ${this.internal}`,
      'cache external:',
      `current active connections:\t ${this.external}`,
      `connections created:\t\t ${this.changes}\tfailed:\t 0`,
      'UDP traffic (active device=eth1):',
      `   0 Bytes sent   0 Bytes recv`,
      `   0 Pckts sent   ${this.recv} Pckts recv`,
      '',
    ].join('\n');
  }
}

function model(sync: Partial<LvsModel['syncDaemon']> = {}): LvsModel {
  return baseModel({
    primary: { address: '198.18.0.11', privateAddress: '198.18.1.11', priority: 200 },
    backup: { address: '198.18.0.12', privateAddress: '198.18.1.12', priority: 100 },
    backupActive: true,
    syncDaemon: syncDaemonConfig({ enabled: true, ...sync }),
    lb: { backend: 'nftables', ipvsadmPath: 'ipvsadm', hotStandby: true, onStop: 'keep' },
    virtualServers: [virtualServerConfig('web', '198.18.0.10')],
  });
}

describe('ipvs/sync: conntrackd on the nftables backend (fake conntrackd)', () => {
  let clock: sinon.SinonFakeTimers;
  let ct: FakeConntrackd;
  let log: MemoryLog;
  let dir: string;
  let holds: string[];
  let faults: string[];
  beforeEach(() => {
    clock = sinon.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'],
    });
    ct = new FakeConntrackd();
    log = new MemoryLog();
    dir = mkdtempSync(join(tmpdir(), 'lp-ctd-'));
    holds = [];
    faults = [];
  });
  afterEach(() => {
    clock.restore();
    rmSync(dir, { recursive: true, force: true });
  });

  function make(m = model(), runDir = dir): ConnSync {
    const s = new ConnSync({
      model: m,
      log,
      backend: 'nftables',
      node: 'backup',
      runDir,
      exec: ct.exec,
      spawn: ct.spawn,
      interfaceOf: () => 'eth1',
      conntrackMax: () => 65_536,
    });
    s.on('hold', (h: { on: boolean; detail: string }) => holds.push(`${h.on ? 'on' : 'off'} ${h.detail}`));
    s.on('fault', (f: { on: boolean; detail: string }) => faults.push(`${f.on ? 'on' : 'off'} ${f.detail}`));
    return s;
  }

  async function startedStandby(): Promise<ConnSync> {
    const s = make();
    await s.start();
    await s.onRole('standby');
    await clock.tickAsync(1000);
    return s;
  }

  it('start: its own conf/lock/socket under the run dir (0600), no sd_notify env, then a bulk resync; the hold lasts until it is in', async () => {
    process.env.NOTIFY_SOCKET = '/run/systemd/notify';
    try {
      const s = make();
      await s.start();
      const conf = join(dir, 'sync', 'conntrackd.conf');
      assert.deepEqual(ct.spawned[0]!.args, ['-C', conf]);
      assert.equal(ct.spawned[0]!.env.NOTIFY_SOCKET, undefined);
      assert.equal(statSync(conf).mode & 0o777, 0o600);
      const text = readFileSync(conf, 'utf8');
      assert.match(text, new RegExp(`LockFile ${join(dir, 'sync', 'lock')}\\n`));
      assert.match(text, new RegExp(`Path ${join(dir, 'sync', 'ctl')}\\n`));
      assert.match(text, /HashLimit 131072/);
      assert.deepEqual(holds, ['on connection resync pending']);
      await clock.tickAsync(10);
      assert.deepEqual(ct.flags, ['-n'], 'a returning router asks the peer for its flows at once');
      await clock.tickAsync(400);
      assert.equal(holds.length, 1, 'the external cache must stay still for 500 ms');
      await clock.tickAsync(400);
      assert.deepEqual(holds, ['on connection resync pending', 'off connection resync pending']);
      const st = s.status();
      assert.deepEqual(
        [st.state, st.role, st.resync.state, st.resync.entries],
        ['running', 'backup', 'done', 200],
      );
      assert.ok(st.resync.ms! >= 500 && st.resync.ms! <= 800, `resync took ${st.resync.ms} ms`);
      assert.equal(st.pid, 100);
      await s.onRole('standby');
      assert.deepEqual(ct.flags, ['-n'], 'the first decision (standby) does not ask twice');
    } finally {
      delete process.env.NOTIFY_SOCKET;
    }
  });

  it('becoming active: commit before the claim (-c), then -f -R -B; becoming standby again: -t, -n', async () => {
    const s = await startedStandby();
    ct.flags = [];
    assert.equal(s.commitBeforeClaim(), true);
    const c = await s.commit();
    assert.equal(c.ok, true);
    assert.deepEqual(ct.flags, ['-c']);
    assert.equal(s.status().lastCommit?.ok, true);
    await s.onRole('active');
    assert.deepEqual(ct.flags, ['-c', '-f', '-R', '-B']);
    assert.equal(s.status().role, 'master');
    ct.flags = [];
    await s.onRole('standby');
    assert.deepEqual(ct.flags, ['-t', '-n']);
    assert.equal(holds.at(-1), 'on connection resync pending', 'resyncing after a switchover: hold again');
    await clock.tickAsync(1000);
    assert.equal(holds.at(-1), 'off connection resync pending');
  });

  it('a peer that never answers: the hold ends at the resync timeout, logged', async () => {
    ct.peerFlows = 0;
    const origExec = ct.exec;
    ct.exec = async (f, a, i) => {
      const r = await origExec(f, a, i);
      if (a[2] === '-n') ct.recv -= 3; // nothing heard from the peer
      return r;
    };
    const s = make(model({ resyncTimeoutMs: 2000 }));
    await s.start();
    await clock.tickAsync(1990);
    assert.equal(holds.length, 1);
    await clock.tickAsync(200);
    assert.equal(holds.at(-1), 'off connection resync pending');
    assert.equal(s.status().resync.state, 'timed-out');
    assert.ok(log.records.some((r) => r.level === 'warn' && /resync timed out/.test(r.msg)));
  });

  it('a conntrackd that dies: fault (logged, shown), restarted with a back-off, then resynced again', async () => {
    const s = await startedStandby();
    ct.flags = [];
    // A conntrackd that dies leaves its lock file behind (it cannot remove it when killed).
    writeFileSync(join(dir, 'sync', 'lock'), '');
    ct.child!.fail('ctnetlink: Operation not permitted', 2);
    await clock.tickAsync(5);
    const st = s.status();
    assert.equal(st.state, 'fault');
    assert.match(st.detail!, /conntrackd exited with status 2/);
    assert.equal(faults.at(-1), `on ${st.detail}`);
    assert.ok(
      log.records.some(
        (r) => r.level === 'error' && r.msg === 'conntrackd: ctnetlink: Operation not permitted',
      ),
    );
    await clock.tickAsync(600);
    assert.equal(ct.spawned.length, 2, 'restarted after 0.5 s');
    assert.equal(existsSync(join(dir, 'sync', 'lock')), false, 'its stale lock removed first');
    assert.equal(s.status().state, 'running');
    assert.equal(s.status().restarts, 1);
    assert.equal(faults.at(-1), 'off conntrackd running');
    assert.ok(ct.flags.includes('-n'), 'its caches are empty again: resync requested');
  });

  it('a port in use: the error it printed is the fault, retried 0.5, 1, 2 s apart, never a throw', async () => {
    ct.failNext = "can't open channel socket: Address already in use";
    const s = make();
    const started = s.start();
    await clock.tickAsync(60);
    await started;
    assert.equal(s.status().state, 'fault');
    assert.match(
      s.status().detail!,
      /can't open channel socket: Address already in use \(conntrackd exited with status 1\)/,
    );
    ct.failNext = "can't open channel socket: Address already in use";
    await clock.tickAsync(500);
    assert.equal(ct.spawned.length, 2, 'retried 0.5 s after the first failure');
    await clock.tickAsync(900);
    assert.equal(ct.spawned.length, 2, 'the second retry waits 1 s');
    await clock.tickAsync(200);
    assert.equal(ct.spawned.length, 3);
    assert.equal(s.status().state, 'running');
    assert.equal(s.status().restarts, 2);
  });

  it('a run dir conntrackd cannot name: a fault, nothing started', async () => {
    const bad = join(dir, 'with space');
    mkdirSync(bad);
    const s = make(model(), bad);
    await s.start();
    assert.equal(ct.spawned.length, 0);
    assert.equal(s.status().state, 'fault');
    assert.match(s.status().detail!, /conntrackd\.conf: path .* cannot be written/);
    assert.equal(s.commitBeforeClaim(), false);
  });

  it('a conntrackd left by an earlier run (pulse killed -9) is told to quit first; a stale lock is removed', async () => {
    mkdirSync(join(dir, 'sync'), { recursive: true });
    writeFileSync(join(dir, 'sync', 'lock'), '');
    ct.stale = true;
    const s = make();
    const started = s.start();
    await clock.tickAsync(3000);
    await started;
    assert.equal(ct.flags[0], '-k');
    assert.equal(existsSync(join(dir, 'sync', 'lock')), false);
    assert.equal(s.status().state, 'running');
  });

  it('stop: the child is stopped and not restarted', async () => {
    const s = await startedStandby();
    await s.stop();
    await clock.tickAsync(60_000);
    assert.equal(ct.spawned.length, 1);
    assert.equal(ct.child, undefined);
  });
});
