import assert from 'node:assert/strict';
import sinon from 'sinon';
import { MemoryLog } from '../../../src/lib/log';
import { type AnnounceSchedule, Announcer, burstOffsets } from '../../../src/takeover/announcer';

describe('takeover/announcer: schedule', () => {
  let clock: sinon.SinonFakeTimers;
  let sends: { key: string; at: number }[];
  const make = (schedule: AnnounceSchedule, send?: (key: string) => void) =>
    new Announcer({
      schedule,
      send: send ?? ((key) => sends.push({ key, at: clock.now })),
      timers: {
        setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
        clearTimeout: (h) => clock.clearTimeout(h as never),
      },
      log: new MemoryLog(),
    });

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 0 });
    sends = [];
  });
  afterEach(() => clock.restore());

  it('burstOffsets: first burst then the second burst', () => {
    assert.deepEqual(
      burstOffsets({ count: 3, intervalMs: 100, repeatDelayMs: 2000, repeatCount: 2, refreshMs: 0 }),
      [0, 100, 200, 2000, 2100],
    );
    assert.deepEqual(
      burstOffsets({ count: 0, intervalMs: 100, repeatDelayMs: 0, repeatCount: 5, refreshMs: 0 }),
      [0],
    );
  });

  it('sends the first announcement synchronously inside start()', () => {
    const a = make({ count: 5, intervalMs: 200, repeatDelayMs: 0, repeatCount: 0, refreshMs: 0 });
    a.start('198.18.0.10');
    assert.deepEqual(sends, [{ key: '198.18.0.10', at: 0 }]);
    assert.equal(a.sent, 1);
  });

  it('firstSent: the caller already sent frame 1; the rest of the schedule follows from t = 0', () => {
    const a = make({ count: 3, intervalMs: 100, repeatDelayMs: 0, repeatCount: 0, refreshMs: 0 });
    a.start('v', undefined, { firstSent: true });
    assert.equal(sends.length, 0);
    assert.equal(a.sent, 1);
    clock.tick(1000);
    assert.deepEqual(
      sends.map((s) => s.at),
      [100, 200],
    );
  });

  it('first burst: count frames interval apart, then stops', () => {
    const a = make({ count: 5, intervalMs: 200, repeatDelayMs: 0, repeatCount: 0, refreshMs: 0 });
    a.start('v');
    clock.tick(10_000);
    assert.deepEqual(
      sends.map((s) => s.at),
      [0, 200, 400, 600, 800],
    );
    assert.equal(a.isRunning('v'), false);
  });

  it('second burst after repeatDelay', () => {
    const a = make({ count: 2, intervalMs: 50, repeatDelayMs: 1000, repeatCount: 3, refreshMs: 0 });
    a.start('v');
    clock.tick(5000);
    assert.deepEqual(
      sends.map((s) => s.at),
      [0, 50, 1000, 1050, 1100],
    );
  });

  it('periodic refresh keeps going until stopped, one frame when it coincides with a burst', () => {
    const a = make({ count: 3, intervalMs: 500, repeatDelayMs: 0, repeatCount: 0, refreshMs: 1000 });
    a.start('v');
    clock.tick(3500);
    assert.deepEqual(
      sends.map((s) => s.at),
      [0, 500, 1000, 2000, 3000],
    );
    assert.equal(a.isRunning('v'), true);
    a.stop('v');
    clock.tick(10_000);
    assert.equal(sends.length, 5);
    assert.equal(clock.countTimers(), 0);
  });

  it('AbortSignal cancels mid-burst, and an aborted signal sends nothing', () => {
    const a = make({ count: 10, intervalMs: 100, repeatDelayMs: 5000, repeatCount: 5, refreshMs: 0 });
    const ac = new AbortController();
    a.start('v', ac.signal);
    clock.tick(250);
    ac.abort();
    clock.tick(60_000);
    assert.deepEqual(
      sends.map((s) => s.at),
      [0, 100, 200],
    );
    assert.equal(clock.countTimers(), 0);
    a.start('w', ac.signal);
    assert.equal(sends.length, 3);
    assert.equal(a.isRunning('w'), false);
  });

  it('restart (reannounce) begins a fresh burst at once; keys run independently; stopAll stops all', () => {
    const a = make({ count: 3, intervalMs: 100, repeatDelayMs: 0, repeatCount: 0, refreshMs: 0 });
    a.start('a');
    clock.tick(150);
    a.start('b');
    a.start('a');
    clock.tick(1000);
    const at = (k: string) => sends.filter((s) => s.key === k).map((s) => s.at);
    assert.deepEqual(at('a'), [0, 100, 150, 250, 350]);
    assert.deepEqual(at('b'), [150, 250, 350]);
    a.start('a');
    a.start('b');
    a.stopAll();
    clock.tick(1000);
    assert.equal(sends.length, 10);
    assert.deepEqual(a.running(), []);
  });

  it('a send that throws is logged and counted, and the schedule continues', () => {
    let n = 0;
    const log = new MemoryLog();
    const a = new Announcer({
      schedule: { count: 3, intervalMs: 10, repeatDelayMs: 0, repeatCount: 0, refreshMs: 0 },
      send: () => {
        n++;
        if (n === 1) throw new Error('ENETDOWN');
      },
      timers: {
        setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
        clearTimeout: (h) => clock.clearTimeout(h as never),
      },
      log,
    });
    a.start('v');
    clock.tick(100);
    assert.equal(n, 3);
    assert.equal(a.errors, 1);
    assert.equal(a.sent, 2);
    assert.match(String(log.records[0]?.fields.error), /ENETDOWN/);
  });
});
