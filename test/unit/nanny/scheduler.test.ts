import assert from 'node:assert/strict';
import fc from 'fast-check';
import sinon from 'sinon';
import { type Clock, HeapScheduler, TimerEntry } from '../../../src/nanny/scheduler';
import { fakeClock } from './fixtures';

/** A minimal hand-driven clock (the property test cannot nest sinon's global fake timers). */
class ManualClock implements Clock {
  t = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private next = 1;
  now = (): number => this.t;
  wallNow = (): number => this.t;
  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = this.next++;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  };
  clearTimeout = (h: unknown): void => {
    this.timers = this.timers.filter((x) => x.id !== h);
  };
  run(until: number): void {
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const first = this.timers[0];
      if (!first || first.at > until) break;
      this.timers.shift();
      this.t = Math.max(this.t, first.at);
      first.fn();
    }
    this.t = until;
  }
}

describe('nanny heap scheduler', () => {
  let clock: sinon.SinonFakeTimers;
  let s: HeapScheduler;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 0 });
    s = new HeapScheduler(fakeClock(clock));
  });
  afterEach(() => clock.restore());

  it('fires entries in due order with one underlying timer', () => {
    const fired: string[] = [];
    const mk = (n: string) => new TimerEntry(() => fired.push(`${n}@${clock.now}`));
    s.schedule(mk('c'), 30);
    s.schedule(mk('a'), 10);
    s.schedule(mk('b'), 20);
    assert.equal(clock.countTimers(), 1);
    clock.tick(100);
    assert.deepEqual(fired, ['a@10', 'b@20', 'c@30']);
    assert.equal(s.size, 0);
    assert.equal(clock.countTimers(), 0);
  });

  it('cancel and reschedule move entries', () => {
    const fired: string[] = [];
    const a = new TimerEntry(() => fired.push('a'));
    const b = new TimerEntry(() => fired.push('b'));
    s.schedule(a, 10);
    s.schedule(b, 20);
    s.cancel(a);
    s.schedule(b, 5);
    clock.tick(6);
    assert.deepEqual(fired, ['b']);
    assert.equal(a.scheduled, false);
    clock.tick(100);
    assert.deepEqual(fired, ['b']);
  });

  it('reports lateness and survives a throwing callback', () => {
    const late: number[] = [];
    s.schedule(
      new TimerEntry(() => {
        throw new Error('boom');
      }),
      10,
    );
    s.schedule(new TimerEntry((l) => late.push(l)), 10);
    clock.tick(10);
    assert.deepEqual(late, [0]);
  });

  it('an entry rescheduling itself at now does not starve the loop', () => {
    let n = 0;
    const e: TimerEntry = new TimerEntry(() => {
      n++;
      s.schedule(e, clock.now);
    });
    s.schedule(e, 0);
    clock.tick(10);
    assert.ok(n >= 5 && n <= 12, `fired ${n} times in 10 ms`);
  });

  it('yields after ~5 ms of callbacks so I/O can run in between; late ones still fire', () => {
    const c = new ManualClock();
    const sch = new HeapScheduler(c);
    let arms = 0;
    const setT = c.setTimeout;
    c.setTimeout = (fn, ms) => {
      arms++;
      return setT(fn, ms);
    };
    const fired: number[] = [];
    for (let i = 0; i < 40; i++) {
      sch.schedule(
        new TimerEntry(() => {
          fired.push(i);
          c.t += 1; // each callback costs 1 ms
        }),
        0,
      );
    }
    c.run(0); // the first wake-up serves only a slice
    assert.ok(fired.length >= 5 && fired.length <= 8, `first slice ran ${fired.length}`);
    c.run(1000);
    assert.equal(fired.length, 40);
    assert.ok(arms >= 5, `re-armed ${arms} times`);
  });

  it('property: any schedule/cancel sequence fires exactly the live entries in time order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 1, max: 1000 }), fc.boolean()), {
          maxLength: 60,
        }),
        (ops) => {
          const c = new ManualClock();
          const sch = new HeapScheduler(c);
          const fired: [number, number][] = [];
          const entries = Array.from({ length: 10 }, (_, i) => new TimerEntry(() => fired.push([i, c.t])));
          const due = new Map<number, number>();
          for (const [i, at, cancel] of ops) {
            if (cancel) {
              sch.cancel(entries[i]!);
              due.delete(i);
            } else {
              sch.schedule(entries[i]!, at);
              due.set(i, at);
            }
          }
          c.run(2000);
          assert.equal(fired.length, due.size);
          for (const [i, t] of fired) assert.equal(t, due.get(i));
          for (let k = 1; k < fired.length; k++) assert.ok(fired[k]![1] >= fired[k - 1]![1]);
        },
      ),
      { numRuns: 200 },
    );
  });
});
