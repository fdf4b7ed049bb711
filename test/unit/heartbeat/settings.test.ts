import assert from 'node:assert/strict';
import { serialize } from 'node:v8';
import {
  baseModel,
  heartbeatConfig,
  realServerConfig,
  virtualServerConfig,
} from '../../../src/config/build.js';
import type { LvsModel } from '../../../src/config/model.js';
import { detectNode, fsmConfigFrom, heartbeatSettings } from '../../../src/heartbeat/settings.js';

/** A pair with private addresses, multicast, a key and its predecessor, and `servers` real servers per VIP. */
function pairModel(servers = 1, virtuals = 1): LvsModel {
  return baseModel({
    primary: { address: '198.18.0.11', privateAddress: '198.18.1.11', priority: 200 },
    backup: { address: '198.18.0.12', privateAddress: '198.18.1.12', priority: 100 },
    backupActive: true,
    heartbeat: heartbeatConfig({
      port: 5390,
      keepaliveMs: 20,
      deadtimeMs: 120,
      auth: 'hmac',
      keyFile: '/etc/lvs-pulse/hb.key',
      previousKeyFile: '/etc/lvs-pulse/hb.key.old',
      multicast: { group: '239.1.2.3', interface: 'eth1', ttl: 1 },
      preempt: true,
      preemptDelayMs: 1500,
      handoverTimeoutMs: 300,
      rtPriority: 10,
      isolation: 'process',
    }),
    monitorLinks: true,
    natRouter: { address: '198.18.2.1', prefixLength: 24, device: 'eth2' },
    virtualServers: Array.from({ length: virtuals }, (_, v) =>
      virtualServerConfig(`vs${v}`, `198.18.0.${100 + (v % 100)}`, {
        vip: { address: `198.18.0.${100 + (v % 100)}`, prefixLength: 32, device: v % 2 ? 'eth0' : 'eth1' },
        realServers: Array.from({ length: servers }, (_, i) =>
          realServerConfig(`rs${i}`, `198.19.${Math.floor(i / 250)}.${(i % 250) + 1}`),
        ),
      }),
    ),
  });
}

describe('heartbeat settings (settings.ts): the one object the heartbeat process gets', () => {
  it('primary: self and peer, every path, timers, key file paths, priorities, links and hash', () => {
    assert.deepEqual(heartbeatSettings(pairModel(), 'primary', 'feedfacefeedface'), {
      node: 'primary',
      self: { address: '198.18.0.11', privateAddress: '198.18.1.11', priority: 200 },
      peer: { address: '198.18.0.12', privateAddress: '198.18.1.12', priority: 100 },
      port: 5390,
      paths: ['public', 'private', 'multicast'],
      multicast: { group: '239.1.2.3', interface: 'eth1', ttl: 1 },
      keepaliveMs: 20,
      deadtimeMs: 120,
      preempt: true,
      preemptDelayMs: 1500,
      handoverTimeoutMs: 300,
      auth: 'hmac',
      keyFile: '/etc/lvs-pulse/hb.key',
      previousKeyFile: '/etc/lvs-pulse/hb.key.old',
      piranhaCompat: false,
      rtPriority: 10,
      monitorLinks: true,
      linkInterfaces: ['eth1', 'eth2'],
      configHash: 'feedfacefeedface',
    });
  });

  it('backup: the same pair seen from the other side', () => {
    const s = heartbeatSettings(pairModel(), 'backup', '0123456789abcdef');
    assert.equal(s.node, 'backup');
    assert.deepEqual(s.self, { address: '198.18.0.12', privateAddress: '198.18.1.12', priority: 100 });
    assert.deepEqual(s.peer, { address: '198.18.0.11', privateAddress: '198.18.1.11', priority: 200 });
    assert.deepEqual(s.paths, ['public', 'private', 'multicast']);
  });

  it('no backup running: no peer, no path, no multicast (active at once)', () => {
    const m = pairModel();
    m.backupActive = false;
    const s = heartbeatSettings(m, 'primary', 'h');
    assert.equal(s.peer, undefined);
    assert.deepEqual(s.paths, []);
    assert.equal(s.multicast, undefined);
    assert.equal(fsmConfigFrom(s).peer, undefined);
  });

  it('private path only when both routers have a private address', () => {
    const m = pairModel();
    delete m.backup!.privateAddress;
    m.heartbeat.multicast = undefined;
    const s = heartbeatSettings(m, 'primary', 'h');
    assert.deepEqual(s.paths, ['public']);
    assert.deepEqual(fsmConfigFrom(s).peer, { address: '198.18.0.12', priority: 100 });
  });

  it('hmac only with a key file; no key file paths without hmac', () => {
    const m = pairModel();
    m.heartbeat.keyFile = undefined;
    let s = heartbeatSettings(m, 'primary', 'h');
    assert.equal(s.auth, 'none');
    assert.equal(s.keyFile, undefined);
    assert.equal(s.previousKeyFile, undefined);
    m.heartbeat.keyFile = '/k';
    m.heartbeat.auth = 'none';
    s = heartbeatSettings(m, 'primary', 'h');
    assert.equal(s.auth, 'none');
    assert.equal(s.keyFile, undefined);
  });

  it('link interfaces: the configured list wins over the VIP and NAT router devices', () => {
    const m = pairModel(1, 3);
    assert.deepEqual(heartbeatSettings(m, 'primary', 'h').linkInterfaces, ['eth1', 'eth0', 'eth2']);
    m.linkInterfaces = ['bond0'];
    assert.deepEqual(heartbeatSettings(m, 'primary', 'h').linkInterfaces, ['bond0']);
  });

  it('does not grow with the virtual and real servers: 1 × 1 and 40 × 500 give the same message', () => {
    const small = heartbeatSettings(pairModel(1, 1), 'primary', 'h');
    const large = heartbeatSettings(pairModel(500, 40), 'primary', 'h');
    // 40 virtual servers on two devices add one link interface, nothing else.
    assert.deepEqual({ ...large, linkInterfaces: small.linkInterfaces }, small);
    assert.deepEqual(large.linkInterfaces, ['eth1', 'eth0', 'eth2']);
    const bytes = serialize({ init: large }).length;
    assert.ok(bytes < 1024, `${bytes} bytes`);
    assert.doesNotMatch(JSON.stringify(large), /198\.19\.|rs0|vs0/, 'no real or virtual server in it');
  });

  it('fsmConfigFrom: canonical addresses for the state machine', () => {
    const m = pairModel();
    m.primary.address = '2001:2:0:0::11';
    m.backup!.address = '2001:2::0:12';
    m.heartbeat.multicast = undefined;
    delete m.primary.privateAddress;
    const f = fsmConfigFrom(heartbeatSettings(m, 'primary', 'abcd'));
    assert.deepEqual(f.self, { address: '2001:2::11', priority: 200 });
    assert.deepEqual(f.peer, { address: '2001:2::12', priority: 100 });
    assert.deepEqual(f.paths, ['public']);
    assert.equal(f.configHash, 'abcd');
  });

  it('throws for a backup node when the model has no backup router', () => {
    assert.throws(
      () => heartbeatSettings(baseModel(), 'backup', 'h'),
      /--node backup but the config has no backup router/,
    );
  });

  it('detectNode: by public or private address, --node wins, a clear error otherwise', () => {
    const m = pairModel();
    assert.equal(detectNode(m, ['127.0.0.1', '198.18.0.11']), 'primary');
    assert.equal(detectNode(m, ['198.18.1.12', 'fe80::1%eth0']), 'backup');
    assert.equal(detectNode(m, [], 'backup'), 'backup');
    assert.throws(
      () => detectNode(m, ['10.0.0.1']),
      /none of this host's addresses \(10\.0\.0\.1\) is a router address \(198\.18\.0\.11, 198\.18\.1\.11, 198\.18\.0\.12, 198\.18\.1\.12\); set --node/,
    );
  });
});
