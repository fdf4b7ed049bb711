import assert from 'node:assert/strict';
import sinon from 'sinon';
import { MemoryLog } from '../../../src/lib/log';
import { HeapScheduler } from '../../../src/nanny/scheduler';
import type { LoadSource, NannyEvent, Probe } from '../../../src/nanny/types';
import { Nanny, WATCHDOG_GRACE_MS } from '../../../src/nanny/nanny';
import { fakeClock, monitor, rs, SwitchProbe } from './fixtures';

/** Equal within 2 ms each (a timer due "now" fires 1 ms later, as in Node). */
function near(actual: number[], expected: number[]): void {
  assert.equal(actual.length, expected.length, `${actual} vs ${expected}`);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= 2, `${actual} vs ${expected}`);
  }
}

describe('nanny worker', () => {
  let clock: sinon.SinonFakeTimers;
  let sched: HeapScheduler;
  let log: MemoryLog;
  let events: (NannyEvent & { t: number })[];
  let probe: SwitchProbe;

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 0 });
    sched = new HeapScheduler(fakeClock(clock));
    log = new MemoryLog();
    events = [];
    probe = new SwitchProbe(clock);
  });
  afterEach(() => clock.restore());

  function make(
    over: Parameters<typeof monitor>[0] = {},
    server = rs('rs1', 1),
    extra: { loadSource?: LoadSource; random?: () => number } = {},
  ): Nanny {
    const n = new Nanny({
      vs: 'web',
      rs: server,
      monitor: monitor(over),
      probe: probe.probe,
      scheduler: sched,
      log,
      onEvent: (e) => events.push({ ...e, t: clock.now }),
      ...extra,
    });
    n.start();
    return n;
  }

  it('Piranha semantics: first probe decides, one failure removes, reentry/timeout successes bring it back', async () => {
    const n = make({ fall: 1, rise: 3, intervalMs: 1000, timeoutMs: 1000 });
    await clock.tickAsync(1);
    assert.deepEqual(
      events.map((e) => [e.t, e.state, e.weight]),
      [[0, 'up', 1]],
    );
    await clock.tickAsync(1000); // probe at 1000 ok
    probe.ok = false;
    await clock.tickAsync(1000); // probe at 2000 fails -> down at once
    assert.equal(n.state, 'down');
    assert.equal(n.weight, null);
    assert.deepEqual(events.at(-1), {
      vs: 'web',
      rs: 'rs1',
      address: '198.18.1.21',
      port: 80,
      state: 'down',
      weight: null,
      reason: 'connection refused (fall 1/1)',
      t: 2000,
    });
    probe.ok = true;
    await clock.tickAsync(2000); // ok at 3000, 4000: rise 2/3, still down
    assert.equal(n.state, 'down');
    await clock.tickAsync(1000); // 5000: rise 3/3
    assert.equal(n.state, 'up');
    assert.equal(events.at(-1)!.t, 5000);
    assert.equal(events.at(-1)!.reason, 'connected (rise 3/3)');
    assert.equal(events.length, 3);
    assert.deepEqual(probe.calls, [0, 1000, 2000, 3000, 4000, 5000]);
  });

  it('logs one line per transition in the issue format', async () => {
    make({ fall: 2, rise: 2 });
    await clock.tickAsync(1);
    probe.ok = false;
    await clock.tickAsync(2000);
    const lines = log.records.filter((r) => r.level !== 'debug').map((r) => r.msg);
    assert.deepEqual(lines, [
      'rs1 198.18.1.21:80 UP: connected (first probe)',
      'rs1 198.18.1.21:80 DOWN: connection refused (fall 2/2)',
    ]);
    const down = log.records.find((r) => r.msg.includes('DOWN'))!;
    assert.equal(down.level, 'warn');
    assert.equal(down.fields['reason'], 'connection refused (fall 2/2)');
  });

  it('fall 2: a single failure keeps the server up; a success resets the count', async () => {
    const n = make({ fall: 2 });
    await clock.tickAsync(1);
    probe.ok = false;
    await clock.tickAsync(1000); // fail 1/2
    assert.equal(n.state, 'up');
    probe.ok = true;
    await clock.tickAsync(1000); // reset
    probe.ok = false;
    await clock.tickAsync(1000); // fail 1/2 again
    assert.equal(n.state, 'up');
    await clock.tickAsync(1000); // 2/2
    assert.equal(n.state, 'down');
    assert.equal(events.length, 2);
  });

  it('rise: a failure while down restarts the count', async () => {
    probe.ok = false;
    const n = make({ rise: 2 });
    await clock.tickAsync(1);
    assert.equal(n.state, 'down');
    probe.ok = true;
    await clock.tickAsync(1000); // 1/2
    probe.ok = false;
    await clock.tickAsync(1000); // reset
    probe.ok = true;
    await clock.tickAsync(1000); // 1/2
    assert.equal(n.state, 'down');
    await clock.tickAsync(1000); // 2/2
    assert.equal(n.state, 'up');
    assert.equal(events.at(-1)!.t, 4000);
  });

  it('quiesce_server: down means weight 0 instead of removal', async () => {
    const n = make({ quiesce: true }, rs('rs1', 1, { weight: 5 }));
    await clock.tickAsync(1);
    assert.equal(n.weight, 5);
    probe.ok = false;
    await clock.tickAsync(1000);
    assert.equal(n.state, 'down');
    assert.equal(n.weight, 0);
    assert.deepEqual(
      events.map((e) => [e.state, e.weight]),
      [
        ['up', 5],
        ['down', 0],
      ],
    );
  });

  it('a probe that never settles fails after timeout + grace, and probes never overlap', async () => {
    const n = make({ timeoutMs: 500, intervalMs: 1000 });
    await clock.tickAsync(1);
    probe.ok = 'hang';
    await clock.tickAsync(1000); // probe at 1000 hangs
    await clock.tickAsync(500 + WATCHDOG_GRACE_MS);
    assert.equal(n.state, 'down');
    assert.match(events.at(-1)!.reason, /did not finish within 1500 ms/);
    assert.equal(events.at(-1)!.t, 2500);
    // next probe right away (due time 2000 passed), not two at once
    near(probe.calls, [0, 1000, 2500]);
  });

  it('timeouts judged during our own stall (inconclusive) are not counted, up to 3 in a row', async () => {
    const n = make({ fall: 1 });
    await clock.tickAsync(1);
    const inconclusive = {
      ok: false,
      detail: 'timeout after 500 ms (our event loop 900 ms late)',
      ms: 1400,
      inconclusive: true,
    };
    let next: typeof inconclusive | undefined = inconclusive;
    const real = probe.probe;
    const wrapped = () => (next ? Promise.resolve(next) : real());
    n.update(n.rs, n.monitor, wrapped, undefined);
    await clock.tickAsync(3000); // three inconclusive: still up
    assert.equal(n.state, 'up');
    await clock.tickAsync(1000); // the fourth in a row counts
    assert.equal(n.state, 'down');
    assert.match(events.at(-1)!.reason, /our event loop 900 ms late/);
    next = undefined;
    await clock.tickAsync(3000);
    assert.equal(n.state, 'up');
    assert.ok(log.records.some((r) => r.level === 'debug' && /not counted.*\(3\/3\)/.test(r.msg)));
  });

  it('a slow probe delays the next one instead of overlapping it', async () => {
    make({ intervalMs: 1000 });
    probe.delayMs = 1500;
    await clock.tickAsync(4000);
    near(probe.calls, [0, 1500, 3000]);
  });

  it('jitter spreads the first probe over [0, jitter) and keeps the interval exact after', async () => {
    make({ jitterMs: 400 }, rs('rs1', 1), { random: () => 0.5 });
    await clock.tickAsync(2500);
    assert.deepEqual(probe.calls, [200, 1200, 2200]);
  });

  it('slow start after a failure: max(1, w>>5) doubling to w, not at start', async () => {
    const n = make({ slowStartMs: 100_000, rise: 1 }, rs('rs1', 1, { weight: 32 }));
    await clock.tickAsync(1);
    assert.equal(n.weight, 32, 'configured weight at once at start');
    probe.ok = false;
    await clock.tickAsync(1000);
    assert.equal(n.weight, null);
    probe.ok = true;
    await clock.tickAsync(1000); // back at 2000
    assert.equal(n.weight, 1);
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      await clock.tickAsync(20_000);
      seen.push(n.weight!);
    }
    assert.deepEqual(seen, [2, 4, 8, 16, 32]);
    const upEvents = events.filter((e) => e.t >= 2000).map((e) => [e.t, e.weight]);
    assert.deepEqual(upEvents, [
      [2000, 1],
      [22000, 2],
      [42000, 4],
      [62000, 8],
      [82000, 16],
      [102000, 32],
    ]);
  });

  it('slow start stops when the server fails again', async () => {
    const n = make({ slowStartMs: 10_000, rise: 1 }, rs('rs1', 1, { weight: 64 }));
    await clock.tickAsync(1);
    probe.ok = false;
    await clock.tickAsync(1000);
    probe.ok = true;
    await clock.tickAsync(1000);
    assert.equal(n.weight, 2);
    probe.ok = false;
    await clock.tickAsync(1000);
    assert.equal(n.weight, null);
    const count = events.length;
    await clock.tickAsync(20_000);
    assert.equal(events.length, count, 'no slow-start steps while down');
  });

  it('load_monitor: low load raises the weight up to 10·w, high load brings it back to w', async () => {
    let load = 0;
    const src: LoadSource = () => Promise.resolve({ ok: true, load, detail: 'ok' });
    const n = make({ loadIntervalMs: 1000 }, rs('rs1', 1, { weight: 4 }), { loadSource: src });
    await clock.tickAsync(1);
    assert.equal(n.weight, 4);
    const seen: number[] = [];
    for (let i = 0; i < 20; i++) {
      await clock.tickAsync(1000);
      seen.push(n.weight!);
    }
    assert.deepEqual(seen.slice(0, 5), [6, 8, 10, 12, 14]);
    assert.equal(seen.at(-1), 40);
    load = 9; // x - 2·cbrt(8) = x - 4
    await clock.tickAsync(1000);
    assert.equal(n.weight, 36);
    await clock.tickAsync(20_000);
    assert.equal(n.weight, 4, 'floored at the configured weight');
  });

  it('weight feedback from the probe sets the weight while up', async () => {
    const n = make({}, rs('rs1', 1, { weight: 10 }));
    await clock.tickAsync(1);
    assert.equal(n.weight, 10);
    probe.weight = 3;
    await clock.tickAsync(1000);
    assert.equal(n.weight, 3);
    assert.equal(n.state, 'up');
    probe.weight = undefined;
    await clock.tickAsync(1000);
    assert.equal(n.weight, 10);
  });

  it('drain keeps probing and publishes weight 0; enable returns to the probed state', async () => {
    const n = make({}, rs('rs1', 1, { weight: 7 }));
    await clock.tickAsync(1);
    assert.equal(n.drain(), true);
    assert.equal(n.drain(), false);
    assert.deepEqual([n.state, n.weight], ['drained', 0]);
    probe.ok = false;
    await clock.tickAsync(1000);
    assert.deepEqual([n.state, n.weight], ['drained', 0]);
    assert.equal(n.enable(), true);
    assert.deepEqual([n.state, n.weight], ['down', null]);
    assert.ok(probe.calls.length >= 2);
  });

  it('update(): a new weight applies at once; stop() silences everything', async () => {
    const n = make({}, rs('rs1', 1, { weight: 2 }));
    await clock.tickAsync(1);
    n.update(rs('rs1', 1, { weight: 9 }), monitor(), probe.probe, undefined);
    assert.equal(n.weight, 9);
    assert.match(events.at(-1)!.reason, /configured weight 2 -> 9/);
    n.stop();
    const calls = probe.calls.length;
    await clock.tickAsync(10_000);
    assert.equal(probe.calls.length, calls);
    assert.equal(sched.size, 0);
  });

  it('a probe with state (keep-alive) is disposed when replaced by a reload and when the worker stops', async () => {
    const disposed: string[] = [];
    const withState = (name: string): Probe =>
      Object.assign(() => Promise.resolve({ ok: true, detail: name, ms: 1 }), {
        dispose: () => disposed.push(name),
      });
    const first = withState('first');
    const n = new Nanny({
      vs: 'web',
      rs: rs('rs1', 1),
      monitor: monitor(),
      probe: first,
      scheduler: sched,
      log,
      onEvent: (e) => events.push({ ...e, t: clock.now }),
    });
    n.start();
    await clock.tickAsync(1);
    n.update(rs('rs1', 1), monitor(), first, undefined); // same probe object: kept
    assert.deepEqual(disposed, []);
    n.update(rs('rs1', 1), monitor(), withState('second'), undefined);
    assert.deepEqual(disposed, ['first']);
    n.stop();
    assert.deepEqual(disposed, ['first', 'second']);
  });
});
