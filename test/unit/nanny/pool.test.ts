import assert from 'node:assert/strict';
import sinon from 'sinon';
import type { LvsModel } from '../../../src/config/model';
import { MemoryLog } from '../../../src/lib/log';
import { desiredTable, sorryChanges } from '../../../src/ipvs/table';
import { NannyPool, type WeightEvent } from '../../../src/nanny/pool';
import type { Probe } from '../../../src/nanny/types';
import { fakeClock, model, monitor, rs, SwitchProbe, vs } from './fixtures';

describe('NannyPool', () => {
  let clock: sinon.SinonFakeTimers;
  let probes: Map<string, SwitchProbe>;
  let weights: (WeightEvent & { t: number })[];
  /** The sorry server's moves as the LB table decides them from the pool's weights (after ready()). */
  let sorry: { vsName: string; on: boolean; t: number }[];
  let pool: NannyPool;

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 0 });
    probes = new Map();
    weights = [];
    sorry = [];
  });
  afterEach(() => {
    pool?.stop();
    clock.restore();
  });

  /** Probe per address:port, shared across virtuals and reloads, so tests can switch a server's health. */
  function probeFor(address: string, port: number): SwitchProbe {
    const k = `${address}:${port}`;
    let p = probes.get(k);
    if (!p) {
      p = new SwitchProbe(clock);
      probes.set(k, p);
    }
    return p;
  }

  function make(m: LvsModel): NannyPool {
    pool = new NannyPool({
      model: m,
      log: new MemoryLog(),
      clock: fakeClock(clock),
      random: () => 0,
      createProbe: (_mon, r): Probe => probeFor(r.address, r.port).probe,
      createLoadSource: () => undefined,
    });
    pool.on('weight', (e: WeightEvent) => weights.push({ ...e, t: clock.now }));
    // as the daemon does: the LB table is built once every first verdict is in, then follows the weights
    let table = desiredTable(model([]), new Map()).table;
    let current = m;
    const follow = (): void => {
      const next = desiredTable(current, pool.initialWeights()).table;
      for (const c of sorryChanges(table, next)) sorry.push({ vsName: c.vsName, on: c.in, t: clock.now });
      table = next;
    };
    const reconfigure = pool.reconfigure.bind(pool);
    pool.reconfigure = (m2: LvsModel) => {
      current = m2;
      reconfigure(m2);
      follow();
    };
    void pool.ready().then(() => {
      follow();
      pool.on('weight', follow);
    });
    return pool;
  }

  /** Whether the LB table built from the pool's weights now has `vsName`'s sorry server in. */
  const sorryIn = (m: LvsModel, vsName: string): boolean =>
    desiredTable(m, pool.initialWeights())
      .table.services.find((s) => s.vsName === vsName)!
      .reals.some((r) => r.sorry);

  const twoServers = (over = {}) =>
    model([
      vs('web', [rs('rs1', 1, { weight: 3 }), rs('rs2', 2, { weight: 5 })], {
        sorryServer: { address: '198.18.1.99', port: 80 },
        monitor: monitor({ rise: 2 }),
        ...over,
      }),
      vs('api', [rs('rs1', 1, { port: 8080 })], { port: 8080 }),
    ]);

  it('starts every server unknown (null), first probes decide, ready() resolves', async () => {
    make(twoServers()).start();
    assert.deepEqual(
      [...pool.initialWeights()],
      [
        ['web/rs1', null],
        ['web/rs2', null],
        ['api/rs1', null],
      ],
    );
    probeFor('198.18.1.22', 80).ok = false;
    let ready = false;
    const r = pool.ready().then(() => {
      ready = true;
    });
    await Promise.resolve();
    assert.equal(ready, false);
    await clock.tickAsync(1);
    await r;
    assert.deepEqual(
      [...pool.initialWeights()],
      [
        ['web/rs1', 3],
        ['web/rs2', null],
        ['api/rs1', 1],
      ],
    );
    assert.equal(clock.now, 1, 'ready within the first probe round');
    assert.deepEqual(sorry, []);
  });

  it('sorry server (the LB table rule on the pool weights) in while no real server of the virtual is up, out when one returns', async () => {
    for (const a of ['198.18.1.21', '198.18.1.22']) probeFor(a, 80).ok = false;
    make(twoServers()).start();
    await clock.tickAsync(1);
    assert.deepEqual(sorry, [{ vsName: 'web', on: true, t: 0 }]);
    assert.equal(sorryIn(twoServers(), 'web'), true);
    probeFor('198.18.1.22', 80).ok = true;
    await clock.tickAsync(2000); // rise 2
    assert.deepEqual(sorry.at(-1), { vsName: 'web', on: false, t: 2000 });
    assert.equal(sorryIn(twoServers(), 'web'), false);
  });

  it('a virtual without real servers gets its sorry server at start', async () => {
    make(model([vs('empty', [], { sorryServer: { address: '198.18.1.99', port: 80 } })])).start();
    await clock.tickAsync(0);
    assert.deepEqual(sorry, [{ vsName: 'empty', on: true, t: 0 }]);
  });

  it('logs once which transport the probes run on: the engine, or net/tls with why', async () => {
    const run = (status: { available: boolean; why?: string; ipv6?: boolean }) => {
      const log = new MemoryLog();
      const p = new NannyPool({
        model: twoServers(),
        log,
        clock: fakeClock(clock),
        random: () => 0,
        createProbe: (_mon, r): Probe => probeFor(r.address, r.port).probe,
        createLoadSource: () => undefined,
        engineStatus: () => status,
      });
      p.start();
      p.reconfigure(twoServers());
      p.stop();
      p.start();
      p.stop();
      return log.records.filter((r) => r.fields?.['transport'] !== undefined).map((r) => [r.level, r.msg]);
    };
    assert.deepEqual(run({ available: false, why: 'ABI check: EAGAIN is 35, the engine assumes 11' }), [
      [
        'warn',
        'probe engine not used: ABI check: EAGAIN is 35, the engine assumes 11; probes run on net/tls sockets',
      ],
    ]);
    assert.deepEqual(run({ available: true, ipv6: true }), [['info', 'probe sockets: the engine (epoll)']]);
  });

  it('drain/enable by vs/rs, rs name and address:port; counts; kept across reconfigure', async () => {
    make(twoServers()).start();
    await clock.tickAsync(1);
    assert.equal(pool.drain('rs1'), 2); // both virtuals
    assert.deepEqual(
      weights.filter((e) => e.state === 'drained').map((e) => `${e.vsName}/${e.rsName}=${e.weight}`),
      ['web/rs1=0', 'api/rs1=0'],
    );
    assert.equal(pool.enable('api/rs1'), 1);
    assert.equal(pool.drain('198.18.1.22:80'), 1);
    assert.equal(pool.drain('nope'), 0);
    assert.equal(pool.drain('198.18.1.22:81'), 0);
    const before = weights.length;
    pool.reconfigure(twoServers());
    assert.equal(weights.length, before, 'an unchanged reload emits nothing (no blip)');
    const st = pool.status().find((v) => v.name === 'web')!;
    assert.deepEqual(
      st.realServers.map((r) => [r.name, r.state, r.weight]),
      [
        ['rs1', 'drained', 0],
        ['rs2', 'drained', 0],
      ],
    );
    // every real server of web drained: nothing takes new connections → sorry in
    assert.equal(sorryIn(twoServers(), 'web'), true);
    // drained survives remove + re-add by a later reload too
    pool.reconfigure(model([]));
    pool.reconfigure(twoServers());
    assert.equal(pool.status().find((v) => v.name === 'web')!.realServers[0]!.state, 'drained');
    assert.equal(pool.enable('web/rs1'), 1);
    await clock.tickAsync(1);
    assert.equal(pool.status().find((v) => v.name === 'web')!.realServers[0]!.state, 'up');
    assert.equal(sorryIn(twoServers(), 'web'), false);
  });

  it('reconfigure keeps unchanged servers (state, timer phase), starts new, stops removed', async () => {
    make(twoServers()).start();
    await clock.tickAsync(1500);
    const rs1 = probeFor('198.18.1.21', 80);
    const callsBefore = rs1.calls.slice();
    const m2 = model([
      vs('web', [rs('rs1', 1, { weight: 3 }), rs('rs3', 3, { weight: 2 })], {
        monitor: monitor({ rise: 2 }),
      }),
    ]);
    weights.splice(0);
    pool.reconfigure(m2);
    assert.equal(weights.length, 0, 'no event for kept servers; the new one is unknown until probed');
    await clock.tickAsync(1);
    assert.deepEqual(
      weights.map((e) => `${e.vsName}/${e.rsName} ${e.state} ${e.weight}`),
      ['web/rs3 up 2'],
    );
    await clock.tickAsync(600); // t = 2101
    assert.deepEqual(rs1.calls, [...callsBefore, 2000], 'phase kept: 0, 1000, 2000');
    const rs2 = probeFor('198.18.1.22', 80);
    const n2 = rs2.calls.length;
    await clock.tickAsync(3000);
    assert.equal(rs2.calls.length, n2, 'removed server no longer probed');
    assert.equal(pool.stats().realServers, 2);
  });

  it('reconfigure with a new weight updates the weight at once; address change restarts the nanny', async () => {
    make(twoServers()).start();
    await clock.tickAsync(1);
    weights.splice(0);
    const m2 = model([
      vs('web', [rs('rs1', 1, { weight: 9 }), rs('rs2', 7, { weight: 5 })], {
        sorryServer: { address: '198.18.1.99', port: 80 },
        monitor: monitor({ rise: 2 }),
      }),
    ]);
    pool.reconfigure(m2);
    assert.deepEqual(
      weights.map((e) => `${e.rsName} ${e.state} ${e.weight}`),
      ['rs1 up 9'],
    );
    await clock.tickAsync(1);
    assert.deepEqual(weights.at(-1)!.address, '198.18.1.27');
  });

  it('stats count probes and failures and sample durations and lateness', async () => {
    probeFor('198.18.1.22', 80).ok = false;
    make(twoServers()).start();
    await clock.tickAsync(2001);
    const s = pool.stats();
    assert.equal(s.probesTotal, 9);
    assert.equal(s.probesFailed, 3);
    assert.equal(s.probeDurationsMs.length, 9);
    assert.equal(s.latenessMs.length, 9);
    assert.equal(s.realServers, 3);
  });

  it('status reports the last probe', async () => {
    make(twoServers()).start();
    await clock.tickAsync(1);
    const r = pool.status()[0]!.realServers[0]!;
    assert.equal(r.name, 'rs1');
    assert.equal(r.state, 'up');
    assert.equal(r.weight, 3);
    assert.deepEqual(r.lastProbe, { ok: true, detail: 'connected', atMs: 0, ms: 0 });
  });
});
