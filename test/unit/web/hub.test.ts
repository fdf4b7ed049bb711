import assert from 'node:assert/strict';
import sinon from 'sinon';
import { MemoryLog } from '../../../src/lib/log';
import type { DaemonClient } from '../../../src/web/daemon-client';
import { type LiveMessage, LiveHub } from '../../../src/web/live';
import { cannedStatus } from './fixture';

/** A scripted daemon client: status answers, and event streams the test ends or feeds. */
function fakeDaemon() {
  const streams: { onEvent: (e: unknown) => void; end: (err?: Error) => void; stopped: boolean }[] = [];
  let up = true;
  let role: 'active' | 'standby' = 'active';
  let statusCalls = 0;
  const client: DaemonClient = {
    call: async () => ({}),
    status: async () => {
      statusCalls++;
      if (!up) throw new Error('cannot talk to the daemon');
      return cannedStatus(role);
    },
    follow(onEvent) {
      let end!: (err?: Error) => void;
      const done = new Promise<void>((resolve, reject) => {
        end = (err) => (err ? reject(err) : resolve());
      });
      const s = { onEvent, end, stopped: false };
      streams.push(s);
      return { done, stop: () => (s.stopped = true) };
    },
  };
  return {
    client,
    streams,
    setUp: (v: boolean) => (up = v),
    setRole: (r: 'active' | 'standby') => (role = r),
    get statusCalls() {
      return statusCalls;
    },
  };
}

describe('web console: live hub', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers();
  });
  afterEach(() => clock.restore());

  it('polls while watched, refreshes right after an event, stops when nobody watches', async () => {
    const d = fakeDaemon();
    const hub = new LiveHub(d.client, { log: new MemoryLog(), statusIntervalMs: 2000, refreshDelayMs: 20 });
    const got: LiveMessage[] = [];
    const unsubscribe = hub.subscribe((m) => got.push(m));
    await clock.tickAsync(0);
    assert.equal(got.at(-1)?.event, 'status');
    assert.equal(d.streams.length, 1);
    d.setRole('standby');
    d.streams[0]!.onEvent({ type: 'transition', to: 'standby' });
    assert.equal(got.at(-1)?.event, 'daemon');
    await clock.tickAsync(20);
    assert.equal(
      (got.at(-1) as { data: { role: string } }).data.role,
      'standby',
      'status fetched 20 ms after the event',
    );
    const calls = d.statusCalls;
    await clock.tickAsync(4000);
    assert.equal(d.statusCalls, calls + 2, 'polled every 2 s');
    // A late subscriber gets the last status at once.
    const late: LiveMessage[] = [];
    const u2 = hub.subscribe((m) => late.push(m));
    assert.equal(late[0]?.event, 'status');
    u2();
    unsubscribe();
    assert.equal(d.streams[0]!.stopped, true);
    const after = d.statusCalls;
    await clock.tickAsync(10_000);
    assert.equal(d.statusCalls, after, 'no polling without subscribers');
  });

  it('reports the daemon down and reconnects the event stream', async () => {
    const d = fakeDaemon();
    const hub = new LiveHub(d.client, { log: new MemoryLog(), statusIntervalMs: 2000, reconnectMs: 1000 });
    const got: LiveMessage[] = [];
    hub.subscribe((m) => got.push(m));
    await clock.tickAsync(0);
    d.setUp(false);
    d.streams[0]!.end(new Error('cannot talk to the daemon: ECONNREFUSED'));
    await clock.tickAsync(0);
    assert.equal(got.at(-1)?.event, 'down');
    await clock.tickAsync(1000);
    assert.equal(d.streams.length, 2, 'reconnected after 1 s');
    d.setUp(true);
    await clock.tickAsync(2000);
    assert.equal(got.at(-1)?.event, 'status');
    hub.stop();
  });
});
