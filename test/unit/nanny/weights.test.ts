import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  exitCodeFeedback,
  loadMonitorStep,
  parseLoadAverage,
  parseWeight,
  SlowStart,
  slowStartInitial,
} from '../../../src/nanny/weights';

describe('nanny weights', () => {
  describe('loadMonitorStep (Piranha formula)', () => {
    it('low load raises by (w/2)·cbrt(1−L)', () => {
      assert.equal(loadMonitorStep(4, 4, 0), 6);
      assert.equal(loadMonitorStep(4, 4, 0.5), 6); // 4 + 2·0.794 = 5.59 → 6
      assert.equal(loadMonitorStep(100, 100, 0.875), 125); // 100 + 50·0.5
    });
    it('high load lowers by (w/2)·cbrt(L−1)', () => {
      assert.equal(loadMonitorStep(4, 20, 9), 16); // 20 − 2·2
      assert.equal(loadMonitorStep(100, 300, 2), 250);
    });
    it('caps at 10·w and floors at w', () => {
      assert.equal(loadMonitorStep(4, 39, 0), 40);
      assert.equal(loadMonitorStep(4, 40, 0), 40);
      assert.equal(loadMonitorStep(4, 5, 9), 4, 'floored at w; a change of exactly w/4 applies');
    });
    it('applies only when |new − x| ≥ w/4', () => {
      assert.equal(loadMonitorStep(4, 4, 0.99), 4); // 2·cbrt(0.01)=0.43 < 1
      assert.equal(loadMonitorStep(8, 8, 0.9), 8); // 4·cbrt(0.1) = 1.86 < 2: unchanged
      assert.equal(loadMonitorStep(8, 8, 0.8), 10); // 4·cbrt(0.2) = 2.34 ≥ 2: 10.34 → 10
    });
    it('L = 1 changes nothing; garbage load changes nothing', () => {
      assert.equal(loadMonitorStep(4, 7, 1), 7);
      assert.equal(loadMonitorStep(4, 7, Number.NaN), 7);
      assert.equal(loadMonitorStep(4, 7, -1), 7);
    });
    it('property: result stays within [min(x,w), max(x,10w)] and moves by ≥ w/4 or not at all', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 1000 }),
          fc.integer({ min: 0, max: 10000 }),
          fc.double({ min: 0, max: 50, noNaN: true }),
          (w, x, load) => {
            const n = loadMonitorStep(w, x, load);
            assert.ok(n === x || Math.abs(n - x) >= w / 4 - 0.5, `w=${w} x=${x} L=${load} n=${n}`);
            assert.ok(n >= Math.min(x, w) && n <= Math.max(x, 10 * w), `w=${w} x=${x} L=${load} n=${n}`);
          },
        ),
      );
    });
  });

  describe('slow start', () => {
    it('starts at max(1, w>>5)', () => {
      assert.equal(slowStartInitial(32), 1);
      assert.equal(slowStartInitial(100), 3);
      assert.equal(slowStartInitial(1), 1);
      assert.equal(slowStartInitial(0), 0);
    });
    it('doubles in equal steps to the target', () => {
      const s = new SlowStart(100, 60_000);
      assert.equal(s.current, 3);
      assert.equal(s.steps, 6); // 3 6 12 24 48 96 100
      assert.equal(s.stepMs, 10_000);
      const seen = [];
      while (!s.done) seen.push(s.step());
      assert.deepEqual(seen, [6, 12, 24, 48, 96, 100]);
    });
    it('weight 1 needs no slow start', () => {
      assert.equal(new SlowStart(1, 60_000).done, true);
    });
  });

  describe('parsers (untrusted input)', () => {
    it('parseLoadAverage reads bare numbers, /proc/loadavg, uptime and JSON', () => {
      assert.equal(parseLoadAverage('0.42\n'), 0.42);
      assert.equal(parseLoadAverage('1.50 0.30 0.10 1/123 4567\n'), 1.5);
      assert.equal(parseLoadAverage(' 17:02:11 up 3 days,  2 users,  load average: 2.31, 1.02, 0.50'), 2.31);
      assert.equal(parseLoadAverage('load averages: 0,75 0,60 0,55'), 0.75);
      assert.equal(parseLoadAverage('{"load1": 0.25}'), 0.25);
      assert.equal(parseLoadAverage('{"load": "3"}'), 3);
    });
    it('parseLoadAverage rejects garbage', () => {
      for (const s of ['', 'abc', '-1', '{"x":1}', '{bad json', 'NaN', '1e999', '<html>0.5</html>']) {
        assert.equal(parseLoadAverage(s), undefined, s);
      }
    });
    it('parseWeight accepts 0..65535 only', () => {
      assert.equal(parseWeight(' 12 '), 12);
      assert.equal(parseWeight('0'), 0);
      assert.equal(parseWeight('65535'), 65535);
      for (const s of ['65536', '-1', '1.5', '', 'x', '99999']) assert.equal(parseWeight(s), undefined, s);
    });
    it('exitCodeFeedback follows misc_dynamic', () => {
      assert.deepEqual(exitCodeFeedback(0), { ok: true });
      assert.deepEqual(exitCodeFeedback(1), { ok: false });
      assert.deepEqual(exitCodeFeedback(2), { ok: true, weight: 0 });
      assert.deepEqual(exitCodeFeedback(12), { ok: true, weight: 10 });
      assert.deepEqual(exitCodeFeedback(-1), { ok: false });
    });
  });
});
