/**
 * The connection-sync keys (src/config/keys.ts, docs/sync.md): Piranha's syncdaemon / syncd_iface /
 * syncd_id read as Piranha wrote them, the added keys through both front ends, the shipped defaults, and
 * every bad value reported at FILE:LINE:COL.
 */
import assert from 'node:assert/strict';
import { checkConfig, dumpConfig } from '../../../src/config/index.js';

const host = { fileExists: () => true, interfaceExists: (n: string) => n !== 'eth7' };
const head =
  'primary = 198.18.0.11\nprimary_private = 198.18.1.11\nbackup = 198.18.0.12\nbackup_private = 198.18.1.12\nbackup_active = 1\nnetwork = direct\n';
const cf = (lines: string) => checkConfig('s.cf', { host, text: `${head}${lines}\n` });
const errors = (lines: string) =>
  cf(lines)
    .diagnostics.filter((d) => d.severity === 'error')
    .map((d) => `${d.line}:${d.col}: ${d.message}`);

describe('config: connection sync keys', () => {
  it('Piranha’s keys as Piranha wrote them, and the shipped defaults for the rest', () => {
    const m = cf('syncdaemon = 1\nsyncd_iface = eth1\nsyncd_id = 7').model!;
    assert.deepEqual(m.syncDaemon, {
      enabled: true,
      interface: 'eth1',
      id: 7,
      ttl: 1,
      maxlen: 80,
      version: 1,
      threshold: 3,
      period: 0,
      refreshPeriodS: 1,
      persistMode: 0,
      mode: 'ftfw',
      transport: 'udp',
      resyncTimeoutMs: 5000,
      conntrackdPath: '/usr/sbin/conntrackd',
    });
    assert.equal(
      cf('syncdaemon = 1').model!.syncDaemon.interface,
      undefined,
      'unset: the private address’s interface',
    );
  });

  it('the added keys from lvs.cf and YAML, written back by both dumps (defaults left out)', () => {
    const m = cf(
      'syncdaemon = 1\nsyncd_port = 9000\nsyncd_ttl = 2\nsyncd_maxlen = 1472\nsyncd_version = 0\nsyncd_threshold = 3\nsyncd_period = 50\nsyncd_refresh_period = 10\nsyncd_persist_mode = 1\nsyncd_mode = notrack\nsyncd_transport = multicast\nsyncd_resync_timeout = 2.5\nconntrackd = /opt/ct/conntrackd',
    ).model!;
    assert.deepEqual(
      [m.syncDaemon.port, m.syncDaemon.ttl, m.syncDaemon.maxlen, m.syncDaemon.version, m.syncDaemon.period],
      [9000, 2, 1472, 0, 50],
    );
    assert.deepEqual(
      [m.syncDaemon.refreshPeriodS, m.syncDaemon.persistMode, m.syncDaemon.mode, m.syncDaemon.transport],
      [10, 1, 'notrack', 'multicast'],
    );
    assert.equal(m.syncDaemon.resyncTimeoutMs, 2500);
    const out = dumpConfig(m, 'lvs.cf');
    for (const l of [
      'syncd_port = 9000',
      'syncd_maxlen = 1472',
      'syncd_resync_timeout = 2.5',
      'syncd_transport = multicast',
    ])
      assert.match(out, new RegExp(`^${l}$`, 'm'));
    assert.doesNotMatch(
      dumpConfig(cf('syncdaemon = 1').model!, 'lvs.cf'),
      /syncd_(ttl|maxlen|threshold|mode)/,
    );
    const y = checkConfig('s.yaml', {
      host,
      text: 'primary: { address: 198.18.0.11 }\nsync_daemon: { enabled: true, refresh_period: 5, transport: multicast }\n',
    }).model!;
    assert.deepEqual([y.syncDaemon.refreshPeriodS, y.syncDaemon.transport], [5, 'multicast']);
    assert.match(dumpConfig(m, 'yaml'), /^ {2}refresh_period: 10$/m);
  });

  it('bad values at FILE:LINE:COL: port, TTL, id, maxlen, version, an interface name, threshold ≥ period', () => {
    assert.deepEqual(errors('syncd_port = 70000'), [
      '7:14: syncd_port: must be a port number 1–65535: value was 70000',
    ]);
    assert.deepEqual(errors('syncd_ttl = 300'), ['7:13: syncd_ttl: must be a TTL 1–255: value was 300']);
    assert.deepEqual(errors('syncd_id = 256'), ['7:12: syncd_id: must be a sync id 0–255 (ipvsadm --syncid): value was 256']);
    assert.deepEqual(errors('syncd_maxlen = 0'), [
      '7:16: syncd_maxlen: must be a sync message length 1–65507 bytes',
    ]);
    assert.deepEqual(errors('syncd_version = 2'), [
      '7:17: syncd_version: must be a sync protocol version 0 or 1: value was 2',
    ]);
    assert.deepEqual(errors('syncd_iface = "eth/1"'), [
      '7:15: syncd_iface: must be an interface name: it has a character other than letters, digits and _ . @ - (no blanks, quotes, ; / or :): value was "eth/1"',
    ]);
    assert.deepEqual(errors('syncd_iface = averyveryverylongname'), [
      '7:15: syncd_iface: must be an interface name: it is longer than 15 characters: value was "averyveryverylongname"',
    ]);
    assert.deepEqual(errors('syncd_transport = tcp').length, 1);
    assert.deepEqual(errors('syncd_threshold = 50\nsyncd_period = 50'), [
      '7:19: sync threshold 50 must be below the sync period 50 (or set the period to 0)',
    ]);
  });

  it('warnings: conntrackd missing on a host that may use it (nftables/auto backends)', () => {
    const noCt = { fileExists: (f: string) => f !== '/usr/sbin/conntrackd', interfaceExists: () => true };
    const w = checkConfig('c.cf', {
      host: noCt,
      text: `${head}syncdaemon = 1\nlb_backend = nftables\n`,
    }).diagnostics;
    assert.ok(
      w.some(
        (d) =>
          d.severity === 'warning' && /conntrackd \/usr\/sbin\/conntrackd does not exist/.test(d.message),
      ),
      JSON.stringify(w),
    );
    const ipvs = checkConfig('c.cf', {
      host: noCt,
      text: `${head}syncdaemon = 1\nlb_backend = ipvsadm\n`,
    }).diagnostics;
    assert.ok(!ipvs.some((d) => /conntrackd/.test(d.message)), 'IPVS needs no conntrackd');
  });

  it('warnings: sync without a backup router; an interface this host lacks', () => {
    const alone = checkConfig('a.cf', { host, text: 'primary = 198.18.0.11\nsyncdaemon = 1\n' });
    assert.ok(
      alone.diagnostics.some(
        (d) => d.severity === 'warning' && d.line === 2 && /no backup router/.test(d.message),
      ),
    );
    const w = cf('syncdaemon = 1\nsyncd_iface = eth7').diagnostics.filter((d) => d.severity === 'warning');
    assert.ok(
      w.some((d) => d.line === 8 && /syncd_iface interface eth7 does not exist/.test(d.message)),
      JSON.stringify(w),
    );
  });
});
