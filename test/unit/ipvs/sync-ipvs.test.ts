/**
 * ConnSync on the ipvsadm backend with the injected exec (a fake kernel sync daemon pair): the sysctls and
 * both daemons at start, adoption of running ones, nothing switched at a role change, the returning
 * router's wait of one refresh window, faults, repairs, entries and updates from /proc, stop.
 */
import assert from 'node:assert/strict';
import sinon from 'sinon';
import { baseModel, syncDaemonConfig, virtualServerConfig } from '../../../src/config/build';
import type { LvsModel } from '../../../src/config/model';
import type { Exec } from '../../../src/ipvs/exec';
import { ConnSync } from '../../../src/ipvs/sync';
import { MemoryLog } from '../../../src/lib/log';

/** The kernel's two sync threads behind `ipvsadm` and `sysctl`. */
class FakeSyncd {
  calls: string[] = [];
  daemons: Partial<Record<'master' | 'backup', string>> = {};
  sysctls: Record<string, string> = {};
  /** --start-daemon fails with this (e.g. a missing interface). */
  startError: string | undefined;
  connSync = '';
  exec: Exec = async (file, args) => {
    this.calls.push(`${file} ${args.join(' ')}`);
    if (file === 'sysctl') {
      const [k, v] = args[1]!.split('=');
      this.sysctls[k!] = v!;
      return { code: 0, stdout: '', stderr: '' };
    }
    if (args[0] === '-L' && args[1] === '--daemon') {
      const out = (['master', 'backup'] as const)
        .filter((s) => this.daemons[s])
        .map((s) => `${s} sync daemon (${this.daemons[s]})\n`)
        .join('');
      return { code: 0, stdout: out, stderr: '' };
    }
    if (args[0] === '--start-daemon') {
      const state = args[1] as 'master' | 'backup';
      if (this.startError) return { code: 1, stdout: '', stderr: this.startError };
      if (this.daemons[state]) return { code: 1, stdout: '', stderr: 'File exists' };
      const v = (k: string) => args[args.indexOf(k) + 1];
      this.daemons[state] =
        `mcast=${v('--mcast-interface')}, syncid=${v('--syncid')}, maxlen=${state === 'master' ? v('--sync-maxlen') : 1472}, group=224.0.0.81, port=8848, ttl=${v('--mcast-ttl')}`;
      return { code: 0, stdout: '', stderr: '' };
    }
    if (args[0] === '--stop-daemon') {
      delete this.daemons[args[1] as 'master' | 'backup'];
      return { code: 0, stdout: '', stderr: '' };
    }
    return { code: 1, stdout: '', stderr: `unexpected ${args.join(' ')}` };
  };
}

function model(sync: Partial<LvsModel['syncDaemon']> = {}): LvsModel {
  return baseModel({
    primary: { address: '198.18.0.11', privateAddress: '198.18.1.11', priority: 200 },
    backup: { address: '198.18.0.12', privateAddress: '198.18.1.12', priority: 100 },
    backupActive: true,
    syncDaemon: syncDaemonConfig({ enabled: true, id: 7, ...sync }),
    lb: { backend: 'ipvsadm', ipvsadmPath: 'ipvsadm', hotStandby: true, onStop: 'keep' },
    virtualServers: [virtualServerConfig('web', '198.18.0.10')],
  });
}

describe('ipvs/sync: the IPVS sync daemons (fake ipvsadm)', () => {
  let clock: sinon.SinonFakeTimers;
  let k: FakeSyncd;
  let log: MemoryLog;
  let holds: string[];
  let faults: string[];
  beforeEach(() => {
    clock = sinon.useFakeTimers();
    k = new FakeSyncd();
    log = new MemoryLog();
    holds = [];
    faults = [];
  });
  afterEach(() => clock.restore());

  function make(m = model()): ConnSync {
    const s = new ConnSync({
      model: m,
      log,
      backend: 'ipvsadm',
      node: 'backup',
      runDir: '/nonexistent',
      exec: k.exec,
      interfaceOf: () => 'eth1',
      readProc: async () => k.connSync,
    });
    s.on('hold', (h: { on: boolean; detail: string }) => holds.push(`${h.on ? 'on' : 'off'} ${h.detail}`));
    s.on('fault', (f: { on: boolean; detail: string }) => faults.push(`${f.on ? 'on' : 'off'} ${f.detail}`));
    return s;
  }

  it('start: the sysctls, then backup and master on the private interface; a returning router holds one refresh window', async () => {
    const s = make();
    await s.start();
    assert.deepEqual(k.sysctls, {
      'net.ipv4.vs.sync_version': '1',
      'net.ipv4.vs.sync_threshold': '3 0',
      'net.ipv4.vs.sync_refresh_period': '1',
      'net.ipv4.vs.sync_persist_mode': '0',
      'net.ipv4.vs.backup_only': '0',
    });
    assert.deepEqual(
      k.calls.filter((c) => c.includes('--start-daemon')),
      [
        'ipvsadm --start-daemon backup --mcast-interface eth1 --syncid 7 --sync-maxlen 80 --mcast-ttl 1',
        'ipvsadm --start-daemon master --mcast-interface eth1 --syncid 7 --sync-maxlen 80 --mcast-ttl 1',
      ],
    );
    assert.deepEqual(holds, ['on connection resync pending']);
    const st = s.status();
    assert.deepEqual(
      [st.mechanism, st.state, st.role, st.resync.state],
      ['ipvs', 'running', 'master+backup', 'pending'],
    );
    await clock.tickAsync(3999);
    assert.equal(holds.length, 1, 'still holding inside the refresh window');
    await clock.tickAsync(1);
    assert.deepEqual(holds, ['on connection resync pending', 'off connection resync pending']);
    assert.deepEqual(s.status().resync, { state: 'done', ms: 4000 });
  });

  it('a restarted pulse adopts the running daemons: nothing restarted, no wait (the backup heard the peer all along)', async () => {
    k.daemons.master = 'mcast=eth1, syncid=7, maxlen=80, group=224.0.0.81, port=8848, ttl=1';
    k.daemons.backup = 'mcast=eth1, syncid=7, maxlen=1472, group=224.0.0.81, port=8848, ttl=1';
    const s = make();
    await s.start();
    assert.equal(
      k.calls.filter((c) => c.includes('--start-daemon') || c.includes('--stop-daemon')).length,
      0,
    );
    assert.deepEqual(holds, ['on connection resync pending', 'off connection resync pending']);
    assert.equal(s.status().resync.state, 'done');
  });

  it('a daemon running with other settings is stopped and started again', async () => {
    k.daemons.backup = 'mcast=eth0, syncid=7';
    const s = make();
    await s.start();
    assert.deepEqual(
      k.calls.filter((c) => /-daemon backup/.test(c)).map((c) => c.split(' ').slice(1, 3).join(' ')),
      ['--stop-daemon backup', '--start-daemon backup'],
    );
    assert.equal(s.status().state, 'running');
  });

  it('role changes switch nothing: both daemons run on the active and the standby', async () => {
    const s = make();
    await s.start();
    const n = k.calls.length;
    await s.onRole('active');
    await s.onRole('standby');
    assert.equal(k.calls.length, n);
    assert.equal(s.status().role, 'master+backup');
    assert.equal(
      s.commitBeforeClaim(),
      false,
      'no commit on IPVS: the backup thread writes the kernel table',
    );
    assert.deepEqual(
      holds,
      ['on connection resync pending', 'off connection resync pending'],
      'active: hold moot',
    );
  });

  it('a daemon that cannot start (missing interface) is a fault: logged, shown, retried at reconcile, cleared', async () => {
    k.startError = 'ipvsadm: No such device';
    const s = make();
    await s.start();
    const st = s.status();
    assert.equal(st.state, 'fault');
    assert.match(st.detail!, /--start-daemon backup .*: ipvsadm: No such device/);
    assert.equal(faults.length, 1);
    assert.ok(log.records.some((r) => r.level === 'error' && /connection sync fault/.test(r.msg)));
    await s.reconcile();
    assert.equal(s.status().state, 'fault');
    k.startError = undefined;
    await s.reconcile();
    assert.equal(s.status().state, 'running');
    assert.equal(s.status().restarts, 2, 'two repairs');
    assert.deepEqual(faults, [faults[0], 'off IPVS sync daemons running']);
  });

  it('a daemon stopped by hand is started again at the next reconcile', async () => {
    const s = make();
    await s.start();
    delete k.daemons.master;
    await s.reconcile();
    assert.ok(k.daemons.master);
    assert.equal(s.status().restarts, 1);
  });

  it('entries by origin and the age of the last update, from /proc/net/ip_vs_conn_sync', async () => {
    const s = make();
    await s.start();
    const row = (port: string, exp: number, origin = 'Sync') =>
      `TCP C6120064 ${port} C612000A 1B58 C6120115 1B58 ESTABLISHED ${origin} ${exp}\n`;
    k.connSync = `Pro FromIP FPrt ToIP TPrt DestIP DPrt State Origin Expires\n${row('B9A2', 899)}${row('B9A4', 890)}`;
    await s.reconcile();
    assert.deepEqual(s.status().entries, { local: 0, synced: 2 });
    assert.equal(s.status().lastUpdateMs, 0);
    await clock.tickAsync(2000);
    k.connSync = `${row('B9A2', 897)}${row('B9A4', 888)}`;
    await s.reconcile();
    assert.equal(s.status().lastUpdateMs, 2000, 'expiries only ran down: no update');
    k.connSync = `${row('B9A2', 899)}${row('B9A4', 886)}`;
    await s.reconcile();
    assert.equal(s.status().lastUpdateMs, 0, 'a refreshed entry');
  });

  it('stop: the kernel daemons are kept with keepKernelDaemons, stopped without', async () => {
    const s = make();
    await s.start();
    await s.stop({ keepKernelDaemons: true });
    assert.ok(k.daemons.master && k.daemons.backup);
    const t = make();
    await t.start();
    await t.stop({ keepKernelDaemons: false });
    assert.deepEqual(k.daemons, {});
  });

  it('sync off or no backend: nothing runs, nothing held, status says why', async () => {
    const off = make(model({ enabled: false }));
    await off.start();
    assert.equal(k.calls.length, 0);
    assert.deepEqual(holds, []);
    assert.deepEqual([off.status().state, off.status().mechanism], ['off', 'none']);
    assert.match(off.status().detail!, /off/);
  });
});

describe('ipvs/sync: reload', () => {
  it('a changed sync id restarts only what changed; an unchanged model touches nothing', async () => {
    const k = new FakeSyncd();
    const m = model();
    const s = new ConnSync({
      model: m,
      log: new MemoryLog(),
      backend: 'ipvsadm',
      node: 'backup',
      runDir: '/x',
      exec: k.exec,
      interfaceOf: () => 'eth1',
    });
    await s.start();
    const n = k.calls.length;
    await s.reconfigure(model());
    assert.equal(k.calls.length, n, 'same plan: nothing run');
    await s.reconfigure(model({ id: 9 }));
    const after = k.calls.slice(n);
    assert.ok(
      after.includes('ipvsadm --stop-daemon backup') && after.includes('ipvsadm --stop-daemon master'),
    );
    assert.match(k.daemons.master!, /syncid=9/);
    assert.match(k.daemons.backup!, /syncid=9/);
    await s.stop();
  });
});
