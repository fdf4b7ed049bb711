/**
 * Connection sync's pure core (src/ipvs/sync-plan.ts) and conntrackd.conf writer (conntrackd-conf.ts):
 * what each router runs, the values refused, the parsers against real output, the resync rule, the
 * restart back-off.
 */
import assert from 'node:assert/strict';
import { baseModel, syncDaemonConfig, virtualServerConfig } from '../../../src/config/build';
import type { LvsModel } from '../../../src/config/model';
import { ConntrackdConfError, conntrackdConf } from '../../../src/ipvs/conntrackd-conf';
import {
  CONNTRACKD_RECIPE,
  ipvsDaemonArgs,
  ipvsDaemonMatches,
  parseConntrackdStats,
  parseIpvsConnSync,
  parseIpvsDaemons,
  ResyncTracker,
  restartDelayMs,
  syncPlan,
} from '../../../src/ipvs/sync-plan';

function pair(sync: Partial<LvsModel['syncDaemon']> = {}, over: Partial<LvsModel> = {}): LvsModel {
  return baseModel({
    primary: { address: '198.18.0.11', privateAddress: '198.18.1.11', priority: 200 },
    backup: { address: '198.18.0.12', privateAddress: '198.18.1.12', priority: 100 },
    backupActive: true,
    natRouter: { address: '198.18.1.1', prefixLength: 24, device: 'eth1' },
    syncDaemon: syncDaemonConfig({ enabled: true, ...sync }),
    virtualServers: [virtualServerConfig('web', '198.18.0.10')],
    ...over,
  });
}
const ifaceOf = (a: string) =>
  a.startsWith('198.18.1.') ? 'eth1' : a.startsWith('198.18.0.') ? 'eth0' : undefined;

/** `conntrackd -s` of conntrack-tools 1.4.7, as it printed on this host (tabs kept). */
const STATS = [
  'cache internal:',
  'current active connections:\t           5',
  'connections created:\t\t           5\tfailed:\t           0',
  'connections updated:\t\t           9\tfailed:\t           0',
  'connections destroyed:\t\t           0\tfailed:\t           0',
  '',
  'cache external:',
  'current active connections:\t           2',
  'connections created:\t\t           2\tfailed:\t           0',
  'connections updated:\t\t           4\tfailed:\t           0',
  'connections destroyed:\t\t           0\tfailed:\t           0',
  '',
  'traffic processed:',
  '                   0 Bytes                         0 Pckts',
  '',
  'UDP traffic (active device=eth1):',
  '                 128 Bytes sent                  504 Bytes recv',
  '                   8 Pckts sent                   14 Pckts recv',
  '                   0 Error send                    0 Error recv',
  '',
  'message tracking:',
  '                   0 Malformed msgs                    0 Lost msgs',
  '',
].join('\n');

describe('ipvs/sync-plan: what each router runs', () => {
  it('IPVS: both daemons on the private interface, the sysctls in our namespace, ipvsadm arguments', () => {
    const p = syncPlan(pair({ id: 7, port: 9000, mcastGroup: '239.1.2.3' }), 'primary', 'ipvsadm', ifaceOf);
    assert.equal(p.mechanism, 'ipvs');
    assert.equal(p.ipvs!.iface, 'eth1', 'unset interface: the one holding the private address');
    assert.deepEqual(p.ipvs!.sysctls, {
      sync_version: '1',
      sync_threshold: '3 0',
      sync_refresh_period: '1',
      sync_persist_mode: '0',
      backup_only: '0',
    });
    assert.deepEqual(ipvsDaemonArgs(p.ipvs!, 'backup'), [
      '--start-daemon',
      'backup',
      '--mcast-interface',
      'eth1',
      '--syncid',
      '7',
      '--sync-maxlen',
      '80',
      '--mcast-group',
      '239.1.2.3',
      '--mcast-port',
      '9000',
      '--mcast-ttl',
      '1',
    ]);
    assert.equal(p.refreshWindowMs, 4000, 'one refresh period + the kernel’s 2 s flush and 1 s check');
  });

  it('conntrackd: unicast to the peer’s private address, our own addresses and VIPs ignored, TCP (+UDP)', () => {
    const p = syncPlan(pair(), 'backup', 'nftables', ifaceOf);
    assert.equal(p.mechanism, 'conntrackd');
    assert.deepEqual(p.conntrackd!.channel, {
      kind: 'udp',
      self: '198.18.1.12',
      peer: '198.18.1.11',
      port: 3780,
      iface: 'eth1',
    });
    assert.deepEqual(p.conntrackd!.ignore, [
      '127.0.0.1',
      '198.18.0.11',
      '198.18.1.11',
      '198.18.0.12',
      '198.18.1.12',
      '198.18.1.1',
      '198.18.0.10',
    ]);
    assert.deepEqual(p.conntrackd!.protocols, ['TCP']);
    const udp = pair(
      {},
      { virtualServers: [virtualServerConfig('dns', '198.18.0.53', { protocol: 'udp', port: 53 })] },
    );
    assert.deepEqual(syncPlan(udp, 'primary', 'nftables', ifaceOf).conntrackd!.protocols, ['TCP', 'UDP']);
    const mc = syncPlan(pair({ transport: 'multicast', interface: 'eth2' }), 'primary', 'nftables', ifaceOf);
    assert.deepEqual(mc.conntrackd!.channel, {
      kind: 'multicast',
      group: '225.0.0.50',
      self: '198.18.1.11',
      port: 3780,
      iface: 'eth2',
    });
  });

  it('says why nothing runs: off, backend none, no interface, no peer for udp, bad interface', () => {
    assert.match(syncPlan(pair({ enabled: false }), 'primary', 'ipvsadm', ifaceOf).reason!, /off/);
    assert.match(syncPlan(pair(), 'primary', 'none', ifaceOf).reason!, /nothing to sync/);
    const noIf = syncPlan(pair(), 'primary', 'ipvsadm', () => undefined);
    assert.deepEqual([noIf.mechanism, noIf.error], ['none', true]);
    assert.match(noIf.reason!, /no interface holds 198\.18\.1\.11/);
    const alone = syncPlan(
      pair({}, { backup: undefined, backupActive: false }),
      'primary',
      'nftables',
      ifaceOf,
    );
    assert.match(alone.reason!, /needs a backup router/);
    assert.match(
      syncPlan(pair({ interface: 'bad name' }), 'primary', 'ipvsadm', ifaceOf).reason!,
      /not a valid/,
    );
  });
});

describe('ipvs/conntrackd-conf: a structured writer, no raw strings', () => {
  const files = { lockFile: '/run/lvs-pulse/sync/lock', socket: '/run/lvs-pulse/sync/ctl' };
  const plan = () => syncPlan(pair(), 'primary', 'nftables', ifaceOf).conntrackd!;
  const udp = (o: Partial<{ self: string; peer: string; port: number; iface: string }>) => ({
    kind: 'udp' as const,
    self: '198.18.1.11',
    peer: '198.18.1.12',
    port: 3780,
    iface: 'eth1',
    ...o,
  });

  it('writes FTFW over UDP with the filter, our lock and socket, no systemd, no log file', () => {
    const text = conntrackdConf(plan(), files, { hashLimit: 262_144 });
    for (const l of [
      '\tMode FTFW {',
      '\t\tDisableExternalCache off',
      '\t\tIPv4_address 198.18.1.11',
      '\t\tIPv4_Destination_Address 198.18.1.12',
      '\t\tInterface eth1',
      '\tSystemd off',
      '\tLogFile off',
      '\tLockFile /run/lvs-pulse/sync/lock',
      '\t\tPath /run/lvs-pulse/sync/ctl',
      '\tFilter From Userspace {',
      '\t\tAddress Ignore {',
      '\t\t\tIPv4_address 198.18.0.10',
    ])
      assert.ok(text.split('\n').includes(l), `missing line ${JSON.stringify(l)}\n${text}`);
    assert.equal((text.match(/{/g) ?? []).length, (text.match(/}/g) ?? []).length);
  });

  it('refuses what conntrackd cannot read as its token instead of writing it', () => {
    const bad = [
      () => conntrackdConf(plan(), { ...files, lockFile: '/run/a b/lock' }, { hashLimit: 1 }),
      () => conntrackdConf(plan(), { ...files, socket: 'relative/ctl' }, { hashLimit: 1 }),
      () => conntrackdConf(plan(), { ...files, socket: `/${'x'.repeat(120)}` }, { hashLimit: 1 }),
      () =>
        conntrackdConf({ ...plan(), channel: udp({ iface: 'eth1 }\nGeneral {' }) }, files, { hashLimit: 1 }),
      () => conntrackdConf({ ...plan(), channel: udp({ self: '198.18.1.11; x' }) }, files, { hashLimit: 1 }),
      () => conntrackdConf({ ...plan(), channel: udp({ port: 2 ** 40 }) }, files, { hashLimit: 1 }),
      () => conntrackdConf({ ...plan(), protocols: [] }, files, { hashLimit: 1 }),
    ];
    for (const b of bad) assert.throws(b, ConntrackdConfError);
  });
});

describe('ipvs/sync-plan: parsers and rules', () => {
  it('ipvsadm -L --daemon: both forms (ipvsadm 1.31 with the extra fields, and the short one)', () => {
    const d = parseIpvsDaemons(
      'master sync daemon (mcast=eth1, syncid=7, maxlen=80, group=224.0.0.81, port=8848, ttl=1)\n' +
        'backup sync daemon (mcast=eth1, syncid=7)\n',
    );
    assert.deepEqual(d.master, {
      iface: 'eth1',
      syncid: 7,
      maxlen: 80,
      group: '224.0.0.81',
      port: 8848,
      ttl: 1,
    });
    assert.deepEqual(d.backup, { iface: 'eth1', syncid: 7 });
    const c = syncPlan(pair({ id: 7 }), 'primary', 'ipvsadm', ifaceOf).ipvs!;
    assert.ok(ipvsDaemonMatches(d.master, c, 'master'));
    assert.ok(ipvsDaemonMatches(d.backup, c, 'backup'));
    assert.ok(!ipvsDaemonMatches({ ...d.master!, maxlen: 1472 }, c, 'master'));
    assert.ok(
      ipvsDaemonMatches({ ...d.backup!, maxlen: 1472 }, c, 'backup'),
      'a backup’s maxlen is the kernel’s clamp',
    );
    assert.ok(!ipvsDaemonMatches({ ...d.backup!, iface: 'eth0' }, c, 'backup'));
    assert.deepEqual(parseIpvsDaemons('nonsense\n'), {});
  });

  it('/proc/net/ip_vs_conn_sync: entries by origin, synced entries’ expiry', () => {
    const n = parseIpvsConnSync(
      'Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Origin Expires\n' +
        'TCP C6120064 B9A2 C612000A 1B58 C6120115 1B58 ESTABLISHED Sync         899\n' +
        'TCP C6120064 B9A4 C612000A 1B58 C6120116 1B58 ESTABLISHED Sync         897\n' +
        'TCP C6120064 B9A6 C612000A 1B58 C6120116 1B58 ESTABLISHED Local        900\n',
    );
    assert.equal(n.local, 1);
    assert.equal(n.synced, 2);
    assert.equal(n.expires.get('TCP C6120064 B9A2 C612000A 1B58 C6120115 1B58'), 899);
  });

  it('conntrackd -s: caches, external changes and the channel’s traffic', () => {
    assert.deepEqual(parseConntrackdStats(STATS), {
      internal: 5,
      external: 2,
      externalChanges: 6,
      bytesSent: 128,
      bytesRecv: 504,
      pktsSent: 8,
      pktsRecv: 14,
      sendErrors: 0,
      recvErrors: 0,
      lostMsgs: 0,
    });
  });

  it('the recipe: commit before the claim, then flush, resync, bulk; standby shortens timers and asks', () => {
    assert.deepEqual(CONNTRACKD_RECIPE, {
      commitFirst: ['-c'],
      afterActive: ['-f', '-R', '-B'],
      standby: ['-t', '-n'],
    });
  });

  it('resync: done once the peer was heard and the external cache stayed still for 500 ms; else timed out', () => {
    const t = new ResyncTracker(0, 5000);
    assert.equal(t.sample(0, { external: 0, pktsRecv: 10 }), undefined);
    assert.equal(t.sample(100, { external: 150, pktsRecv: 30 }), undefined);
    assert.equal(t.sample(300, { external: 200, pktsRecv: 40 }), undefined);
    assert.equal(t.sample(700, { external: 200, pktsRecv: 41 }), undefined, '400 ms still: not yet');
    assert.equal(t.sample(800, { external: 200, pktsRecv: 41 }), 'done');
    assert.equal(t.entries, 200);
    const silent = new ResyncTracker(0, 2000);
    for (let ms = 0; ms < 2000; ms += 100)
      assert.equal(silent.sample(ms, { external: 0, pktsRecv: 3 }), undefined);
    assert.equal(silent.sample(2000, { external: 0, pktsRecv: 3 }), 'timed-out', 'never heard the peer');
    const empty = new ResyncTracker(0, 5000);
    empty.sample(0, { external: 0, pktsRecv: 3 });
    assert.equal(empty.sample(600, { external: 0, pktsRecv: 4 }), 'done', 'a peer with nothing to send');
  });

  it('restart back-off: 0.5 s doubling, at most 30 s', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 7, 8, 20].map(restartDelayMs),
      [500, 1000, 2000, 4000, 30_000, 30_000, 30_000],
    );
  });
});
