import assert from 'node:assert/strict';
import sinon from 'sinon';
import { MemoryLog } from '../../../src/lib/log';
import { Takeover } from '../../../src/takeover/index';
import {
  ANNOUNCE,
  type Event,
  FakeAddressTable,
  fakeSocketFactory,
  labInterfaces,
  model,
  virtualServer,
} from './support';

describe('takeover/index: Takeover', () => {
  let clock: sinon.SinonFakeTimers;
  let events: Event[];
  let table: FakeAddressTable;
  let log: MemoryLog;
  let opened: string[];
  let hookCalls: string[][];
  let ipForward: string;

  const make = (m = model()) =>
    new Takeover({
      model: m,
      log,
      edges: {
        addresses: table,
        openSocket: fakeSocketFactory(events, opened),
        timers: {
          setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
          clearTimeout: (h) => clock.clearTimeout(h as never),
        },
        now: () => clock.now,
        readIpForward: () => ipForward,
        hookExec: async (file, args) => {
          hookCalls.push([file, ...args]);
          return { code: 0, signal: null, stdout: '', stderr: '', timedOut: false };
        },
      },
    });
  const frames = () => events.filter((e) => e.kind === 'frame');

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1000 });
    events = [];
    table = new FakeAddressTable(labInterfaces(), events);
    log = new MemoryLog();
    opened = [];
    hookCalls = [];
    ipForward = '1\n';
  });
  afterEach(() => clock.restore());

  it('open(): one socket per device, devices picked from connected subnets, nothing sent', async () => {
    const t = make(
      model({
        network: 'nat',
        natRouter: { address: '198.18.1.1', prefixLength: 24 },
        virtualServers: [
          virtualServer('web', '198.18.0.10'),
          virtualServer('dns', '198.18.0.10', { port: 53 }), // same VIP: deduplicated
          virtualServer('v6', '2001:db8:1::10', { vip: { address: '2001:db8:1::10', prefixLength: 64 } }),
          virtualServer('off', '198.18.0.99', { active: false }),
        ],
      }),
    );
    await t.open();
    assert.deepEqual(opened.sort(), ['eth0', 'eth1']);
    assert.deepEqual(
      t.status().vips.map((v) => `${v.address} ${v.device}`),
      ['198.18.0.10 eth0', '2001:db8:1::10 eth1', '198.18.1.1 eth1'],
    );
    // open() rehearses a claim on stand-ins: nothing real may be touched.
    assert.equal(events.length, 0);
    assert.deepEqual({ add: table.calls.add, del: table.calls.del }, { add: 0, del: 0 });
    assert.equal(clock.countTimers(), 0);
    assert.deepEqual(hookCalls, []);
    assert.equal(t.status().active, false);
  });

  it('claim(): first frame of every VIP before any address is added, in the same tick', async () => {
    const t = make(
      model({
        network: 'nat',
        natRouter: { address: '198.18.1.1', device: 'eth1', label: 'eth1:1', prefixLength: 24 },
        virtualServers: [
          virtualServer('web', '198.18.0.10'),
          virtualServer('v6', '2001:db8:1::10', { vip: { address: '2001:db8:1::10', prefixLength: 64 } }),
        ],
      }),
    );
    await t.open();
    const p = t.claim('peer dead');
    // Synchronously, before awaiting anything: one frame per VIP already out, no address added yet.
    assert.deepEqual(
      events.map((e) => e.kind),
      ['frame', 'frame', 'frame', 'add', 'add', 'add'].slice(0, events.length),
    );
    assert.equal(frames().length, 3);
    assert.equal(
      events.slice(0, 3).every((e) => e.kind === 'frame'),
      true,
    );
    await p;
    assert.ok(table.has('198.18.0.10', 'eth0'));
    assert.ok(table.has('198.18.1.1', 'eth1'));
    assert.ok(table.has('2001:db8:1::10', 'eth1'));
    const adds = events.filter((e) => e.kind === 'add').map((e) => (e.kind === 'add' ? e.spec : undefined));
    assert.deepEqual(adds.find((s) => s?.address === '198.18.1.1')?.label, 'eth1:1');
    // The NA for the IPv6 VIP is ICMPv6 type 136 and the ARP frames carry the right VIP.
    const na = frames().find((e) => e.kind === 'frame' && e.frame.readUInt16BE(12) === 0x86dd);
    assert.equal(na?.kind === 'frame' && na.frame[54], 136);
    // Bursts continue: count 3 at 100 ms → 2 more per VIP.
    clock.tick(1000);
    assert.equal(frames().length, 9);
    const st = t.status();
    assert.equal(st.garpSent, 9);
    assert.equal(st.active, true);
    assert.ok(st.vips.every((v) => v.present));
    assert.equal(st.lastFirstFramesMs, 0);
    await t.hooksIdle();
  });

  it('claim twice = one address, no delete/re-add churn', async () => {
    const t = make();
    await t.open();
    await t.claim('first');
    await t.claim('again');
    const eth0 = table.interfaces.find((i) => i.device === 'eth0')!;
    assert.equal(eth0.addresses.filter((a) => a.address === '198.18.0.10').length, 1);
    assert.equal(events.filter((e) => e.kind === 'del').length, 0);
  });

  it('an address already there with another mask is left alone (warned), not duplicated', async () => {
    table.interfaces[1]!.addresses.push({
      device: 'eth0',
      address: '198.18.0.10',
      prefixLength: 32,
      family: 4,
    });
    const t = make();
    await t.open();
    await t.claim('x');
    assert.equal(table.interfaces[1]!.addresses.filter((a) => a.address === '198.18.0.10').length, 1);
    assert.equal(events.filter((e) => e.kind === 'add').length, 0);
    assert.ok(log.records.some((r) => r.level === 'warn' && /different mask/.test(r.msg)));
  });

  it('release(): removes exactly our VIPs, stops announcing, leaves other addresses', async () => {
    table.interfaces[1]!.addresses.push({
      device: 'eth0',
      address: '198.18.0.77',
      prefixLength: 24,
      family: 4,
    });
    const t = make(model({ announce: { ...ANNOUNCE, refreshMs: 500 } }));
    await t.open();
    await t.claim('up');
    await t.release('shutdown');
    const n = frames().length;
    clock.tick(10_000);
    assert.equal(frames().length, n, 'no frames after release');
    assert.equal(table.has('198.18.0.10'), false);
    assert.equal(table.has('198.18.0.77'), true);
    assert.equal(table.has('198.18.0.11'), true);
    assert.equal(t.status().active, false);
    assert.equal(clock.countTimers(), 0);
  });

  it('reconcile(false): a VIP left on the interface by a dead daemon is removed and logged', async () => {
    table.interfaces[1]!.addresses.push({
      device: 'eth0',
      address: '198.18.0.10',
      prefixLength: 24,
      family: 4,
      label: 'eth0:1',
    });
    const t = make();
    await t.open();
    assert.equal(t.status().vips[0]?.present, true);
    const r = await t.reconcile(false);
    assert.deepEqual(r, { added: [], removed: ['198.18.0.10'] });
    assert.equal(table.has('198.18.0.10'), false);
    assert.ok(log.records.some((x) => x.level === 'warn' && /held while standby/.test(x.msg)));
    assert.deepEqual(await t.reconcile(false), { added: [], removed: [] });
    assert.equal(frames().length, 0);
  });

  it('reconcile(true): a VIP removed behind our back is re-added and re-announced', async () => {
    const t = make();
    await t.open();
    await t.claim('up');
    clock.tick(1000);
    const before = frames().length;
    table.interfaces[1]!.addresses = table.interfaces[1]!.addresses.filter(
      (a) => a.address !== '198.18.0.10',
    );
    const r = await t.reconcile(true);
    assert.deepEqual(r, { added: ['198.18.0.10'], removed: [] });
    assert.ok(table.has('198.18.0.10', 'eth0'));
    assert.equal(frames().length, before + 1, 'first frame of a new burst at once');
    assert.deepEqual(await t.reconcile(true), { added: [], removed: [] });
  });

  it('reannounce(): an immediate burst for every VIP while active, nothing while standby', async () => {
    const t = make();
    await t.open();
    t.reannounce();
    assert.equal(frames().length, 0);
    await t.claim('up');
    clock.tick(1000);
    const n = frames().length;
    t.reannounce();
    assert.equal(frames().length, n + 1);
  });

  it('reconfigure(): new VIP claimed while active, dropped VIP removed', async () => {
    const t = make();
    await t.open();
    await t.claim('up');
    await t.reconfigure(model({ virtualServers: [virtualServer('mail', '198.18.0.20')] }));
    assert.equal(table.has('198.18.0.10'), false);
    assert.ok(table.has('198.18.0.20', 'eth0'));
    assert.deepEqual(
      t.status().vips.map((v) => v.address),
      ['198.18.0.20'],
    );
    const arpTargets = frames().map((e) =>
      e.kind === 'frame' ? [...e.frame.subarray(38, 42)].join('.') : '',
    );
    assert.ok(arpTargets.includes('198.18.0.20'));
  });

  it('NAT mode with ip_forward off: a clear warning', async () => {
    ipForward = '0\n';
    const t = make(model({ network: 'nat', natRouter: { address: '198.18.1.1', prefixLength: 24 } }));
    await t.open();
    assert.ok(log.records.some((r) => r.level === 'warn' && /ip_forward is off/.test(r.msg)));
  });

  it('open() fails saying which VIP has no interface', async () => {
    const t = make(model({ virtualServers: [virtualServer('far', '203.0.113.5')] }));
    await assert.rejects(t.open(), /virtual far: no interface for VIP 203\.0\.113\.5/);
  });

  it('hooks: active_cmd then notify with state and reason; inactive_cmd on release', async () => {
    const t = make(
      model({
        hooks: {
          activeCmd: '/bin/up  --fast',
          inactiveCmd: '/bin/down',
          notifyCmd: '/bin/notify x',
          timeoutMs: 500,
        },
      }),
    );
    await t.open();
    await t.claim('peer dead');
    await t.release('stop');
    await t.hooksIdle();
    assert.deepEqual(hookCalls, [
      ['/bin/up', '--fast'],
      ['/bin/notify', 'x', 'active', 'peer dead'],
      ['/bin/down'],
      ['/bin/notify', 'x', 'inactive', 'stop'],
    ]);
  });

  it('a device whose raw socket cannot be opened does not stop the others; retried on claim', async () => {
    let eth1Broken = true;
    const factory = fakeSocketFactory(events, opened);
    const t = new Takeover({
      model: model({
        network: 'nat',
        natRouter: { address: '198.18.1.1', device: 'eth1', prefixLength: 24 },
      }),
      log,
      edges: {
        addresses: table,
        openSocket: (d) => {
          if (d === 'eth1' && eth1Broken) throw new Error('raw socket on eth1: no such interface');
          return factory(d);
        },
        timers: {
          setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
          clearTimeout: (h) => clock.clearTimeout(h as never),
        },
        now: () => clock.now,
        readIpForward: () => '1',
      },
    });
    await t.open();
    assert.ok(log.records.some((r) => r.level === 'error' && r.fields.vip === '198.18.1.1'));
    eth1Broken = false;
    await t.claim('up');
    assert.deepEqual(
      frames().map((e) => (e.kind === 'frame' ? e.device : '')),
      ['eth0', 'eth1'],
    );
    assert.ok(table.has('198.18.1.1', 'eth1'));
  });

  it('a reconcile(false) overtaken by a claim does not remove the VIP just claimed (and vice versa)', async () => {
    const t = make();
    await t.open();
    // Hold the next list() until released by hand, as a slow `ip -json addr show` would.
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const realList = table.list.bind(table);
    table.list = async () => {
      await gate;
      return realList();
    };
    const standbyPass = t.reconcile(false); // started while standby...
    await t.claim('peer dead'); // ...a claim lands while its list() is in flight
    release();
    assert.deepEqual(await standbyPass, { added: [], removed: [] });
    assert.ok(table.has('198.18.0.10', 'eth0'), 'the claimed VIP is still there');
    assert.equal(events.filter((e) => e.kind === 'del').length, 0);

    // The other way round: a reconcile(true) overtaken by a release does not re-add the VIP.
    let release2!: () => void;
    const gate2 = new Promise<void>((r) => {
      release2 = r;
    });
    table.list = async () => {
      await gate2;
      return realList(); // read after the release: the VIP is missing
    };
    const activePass = t.reconcile(true);
    table.list = realList;
    await t.release('stop');
    release2();
    assert.deepEqual(await activePass, { added: [], removed: [] });
    assert.equal(table.has('198.18.0.10'), false);
  });
});
