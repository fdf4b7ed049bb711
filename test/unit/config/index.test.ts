import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as D from '../../../src/config/defaults.js';
import {
  configHash,
  detectFormat,
  diffModels,
  type LvsModel,
  loadConfig,
  summarize,
} from '../../../src/config/index.js';

const ETC = join(__dirname, '../../../etc');
const MIN_CF =
  'primary = 198.18.0.11\nbackup = 198.18.0.12\nnetwork = direct\nvirtual web {\n address = 198.18.0.10\n server a {\n  address = 198.18.0.21\n }\n}\n';
// A native file with a peer must say how its heartbeat is authenticated (issue 17 item 7).
const MIN_YAML =
  'primary: { address: 198.18.0.11 }\nbackup: { address: 198.18.0.12 }\nheartbeat: { auth: none }\nnetwork: direct\nvirtual_servers:\n  - name: web\n    vip: { address: 198.18.0.10 }\n    real_servers: [{ name: a, address: 198.18.0.21 }]\n';

describe('config/index', () => {
  it('detects the format by extension, else by content', () => {
    assert.equal(detectFormat('/etc/sysconfig/ha/lvs.cf', ''), 'lvs.cf');
    assert.equal(detectFormat('a.YML', ''), 'yaml');
    assert.equal(detectFormat('a.json', ''), 'json');
    assert.equal(detectFormat('conf', '# c\nserial_no = 1\n'), 'lvs.cf');
    assert.equal(detectFormat('conf', '\n{ "a": 1 }'), 'json');
    assert.equal(detectFormat('conf', 'serial_no: 1\n'), 'yaml');
  });

  it('a key left out gets the same (modern) default from lvs.cf and from YAML', () => {
    const a = loadConfig('min.cf', MIN_CF).model;
    const b = loadConfig('min.yaml', MIN_YAML).model;
    assert.deepEqual(a, b);
    assert.deepEqual(
      loadConfig(
        'min.json',
        JSON.stringify({
          primary: { address: '198.18.0.11' },
          backup: { address: '198.18.0.12' },
          heartbeat: { auth: 'none' },
          network: 'direct',
          virtual_servers: [
            {
              name: 'web',
              vip: { address: '198.18.0.10' },
              real_servers: [{ name: 'a', address: '198.18.0.21' }],
            },
          ],
        }),
      ).model,
      a,
    );
    assert.equal(a.heartbeat.keepaliveMs, D.KEEPALIVE_MS);
    assert.equal(a.heartbeat.deadtimeMs, D.DEADTIME_MS);
    assert.equal(a.heartbeat.port, 539);
    assert.equal(a.backupActive, true, 'a backup that is named runs');
    assert.deepEqual(a.announce, {
      count: 3,
      intervalMs: 100,
      repeatDelayMs: 1000,
      repeatCount: 2,
      refreshMs: 0,
      form: 'both',
    });
    const mo = a.virtualServers[0]!.monitor;
    assert.deepEqual([mo.timeoutMs, mo.intervalMs, mo.fall, mo.rise], [500, 500, 1, 2]);
    assert.ok(mo.intervalMs + mo.timeoutMs <= 1000, 'a dead real server is out within 1 s');
    assert.ok(a.heartbeat.deadtimeMs + a.heartbeat.keepaliveMs <= 150, 'crash failover target ≤ 150 ms');
    assert.deepEqual(
      [mo.kind, mo.send, mo.expect],
      ['send_expect', 'GET / HTTP/1.0\r\n\r\n', 'HTTP'],
      "Piranha's port-80 probe",
    );
    assert.equal(a.virtualServers[0]!.scheduler, 'wlc');
    assert.equal(a.virtualServers[0]!.active, true);
  });

  it('a key that is written is honoured exactly (keepalive = 6 → 6000 ms)', () => {
    const m = loadConfig('k.cf', `${MIN_CF}keepalive = 6\ndeadtime = 18\n`).model;
    assert.equal(m.heartbeat.keepaliveMs, 6000);
    assert.equal(m.heartbeat.deadtimeMs, 18000);
  });

  it('summarizes on one screen: routers, heartbeat, VIPs, virtual and real servers', () => {
    const s = summarize(loadConfig(join(ETC, 'lvs.cf')).model);
    assert.ok(s.split('\n').length < 25);
    for (const re of [
      /^primary: 198\.18\.0\.11 private 198\.18\.1\.11, priority 200$/m,
      /^backup: {2}198\.18\.0\.12 private 198\.18\.1\.12, priority 100$/m,
      /heartbeat: udp\/539 198\.18\.0\.11 <-> 198\.18\.0\.12, 198\.18\.1\.11 <-> 198\.18\.1\.12; keepalive 20 ms, deadtime 120 ms/,
      /^VIPs: 198\.18\.0\.10\/24 on eth0 \(eth0:1\), 198\.18\.1\.1\/24 on eth1 \(eth1:1\) \(nat_router\)$/m,
      /^ {2}http: tcp 198\.18\.0\.10:80 wlc/m,
      /^ {4}rs1: 198\.18\.1\.21:80 weight 1 nat$/m,
      /^ {4}rs2: 198\.18\.1\.22:80 weight 1 nat$/m,
    ])
      assert.match(s, re);
  });

  it('configHash is short, stable, and changes with the LB part only', () => {
    const m = loadConfig(join(ETC, 'lvs.cf')).model;
    const h = configHash(m);
    assert.match(h, /^[0-9a-f]{16}$/);
    assert.equal(configHash(loadConfig(join(ETC, 'lvs.yaml')).model), h, 'same LVS from YAML');
    const other = structuredClone(m);
    other.heartbeat.keepaliveMs = 30;
    other.serialNo = 99;
    assert.equal(configHash(other), h, 'heartbeat timers and serial are not LB');
    other.virtualServers[0]!.realServers[0]!.weight = 5;
    assert.notEqual(configHash(other), h);
  });

  it('diffModels says which virtual/real servers were added, removed or changed, and what else changed', () => {
    const a = loadConfig(join(ETC, 'lvs.cf')).model;
    assert.equal(diffModels(a, structuredClone(a)).unchanged, true);
    const b: LvsModel = structuredClone(a);
    b.virtualServers[0]!.scheduler = 'rr';
    b.virtualServers[0]!.realServers[0]!.weight = 3;
    b.virtualServers[0]!.realServers.pop();
    b.virtualServers[0]!.realServers.push({
      name: 'rs3',
      address: '198.18.1.23',
      port: 80,
      weight: 1,
      active: true,
    });
    b.virtualServers.push({
      ...structuredClone(a.virtualServers[0]!),
      name: 'https',
      port: 443,
      realServers: [],
    });
    b.heartbeat.deadtimeMs = 200;
    const d = diffModels(a, b);
    assert.equal(d.unchanged, false);
    assert.deepEqual(d.virtualServers, {
      added: ['https'],
      removed: [],
      changed: [{ name: 'http', fields: ['scheduler'] }],
    });
    assert.deepEqual(d.realServers, {
      added: [{ virtual: 'http', name: 'rs3' }],
      removed: [{ virtual: 'http', name: 'rs2' }],
      changed: [{ virtual: 'http', name: 'rs1', fields: ['weight'] }],
    });
    assert.equal(d.heartbeatChanged, true);
    assert.equal(d.announceChanged, false);
    assert.equal(d.vipsChanged, false, 'the new virtual uses the same VIP');
    assert.equal(d.lbGlobalChanged, false);
    assert.equal(d.hashChanged, true);
    const c = structuredClone(a);
    c.virtualServers[0]!.vip.address = '198.18.0.20';
    c.announce.count = 5;
    const e = diffModels(a, c);
    assert.equal(e.vipsChanged, true);
    assert.equal(e.announceChanged, true);
    assert.deepEqual(e.virtualServers.changed, [{ name: 'http', fields: ['vip'] }]);
    assert.deepEqual(diffModels(b, a).virtualServers.removed, ['https']);
  });
});
