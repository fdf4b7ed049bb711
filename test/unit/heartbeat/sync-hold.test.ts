/**
 * The heartbeat's hold (a returning router's connection resync, docs/sync.md): voluntary claims wait for
 * it, the peer does not release to a router that holds, and nothing else changes — above all, a crash of
 * the active is taken over at deadtime whatever the hold says.
 */
import assert from 'node:assert/strict';
import { decode, encode, type HeartbeatMessage } from '../../../src/heartbeat/codec.js';
import { Pair } from './pair.js';

const hold = (on: boolean) => ({
  type: 'hold' as const,
  now: performance.now(),
  on,
  detail: 'resync pending',
});

describe('heartbeat: the resync hold of a returning router', () => {
  let pair: Pair;
  afterEach(() => pair?.restore());

  /** r1 active, r2 standby, then r1 crashes, r2 takes over and r1 returns (standby) with a hold. */
  async function returning(opts = {}) {
    pair = new Pair(opts);
    pair.nodes.r1.core.start();
    pair.nodes.r2.core.start();
    await pair.tick(pair.opts.deadtimeMs + 5 * pair.opts.keepaliveMs);
    pair.crash('r1');
    await pair.until(() => pair.state('r2') === 'active', 500);
    const r1 = pair.restart('r1');
    r1.core.feed(hold(true));
    r1.core.start();
    await pair.until(() => pair.state('r1') === 'standby', 100);
    return r1;
  }

  it('holds preemption until the hold clears, then preempts at once (the delay ran meanwhile)', async () => {
    const r1 = await returning({ preempt: true, preemptDelayMs: 200 });
    await pair.tick(1000);
    assert.equal(pair.state('r1'), 'standby', 'no preemption while the resync is pending');
    assert.equal(pair.state('r2'), 'active');
    assert.ok(r1.log.records.some((r) => r.msg === 'preempt held: resync pending'));
    r1.core.feed(hold(false));
    const took = await pair.until(() => pair.state('r1') === 'active', 200);
    assert.ok(took < 50, `preempted ${took} ms after the hold cleared`);
  });

  it('refuses a takeover request while held; takes over on request once clear', async () => {
    const r1 = await returning();
    r1.core.feed({ type: 'takeover', now: performance.now() });
    await pair.tick(500);
    assert.equal(pair.state('r1'), 'standby');
    assert.ok(r1.log.records.some((r) => /takeover request refused: resync pending/.test(r.msg)));
    r1.core.feed(hold(false));
    r1.core.feed({ type: 'takeover', now: performance.now() });
    await pair.until(() => pair.state('r1') === 'active', 200);
  });

  it('the active refuses to release to a peer that holds, and releases once the hold is gone', async () => {
    const r1 = await returning();
    const r2 = pair.nodes.r2;
    await pair.tick(50);
    assert.equal(r2.core.fsm.peer.resyncPending, true, 'the hold travels in the heartbeat');
    r2.core.feed({ type: 'release', now: performance.now() });
    await pair.tick(300);
    assert.equal(pair.state('r2'), 'active');
    assert.ok(r2.log.records.some((r) => /release refused: .* is resyncing its connections/.test(r.msg)));
    r1.core.feed(hold(false));
    await pair.tick(50);
    assert.equal(r2.core.fsm.peer.resyncPending, false);
    r2.core.feed({ type: 'release', now: performance.now() });
    await pair.until(() => pair.state('r1') === 'active', 200);
  });

  it('never delays a crash takeover: a held standby takes over at deadtime', async () => {
    const r1 = await returning();
    const since = performance.now();
    pair.crash('r2');
    await pair.until(() => pair.state('r1') === 'active', pair.opts.deadtimeMs + 50);
    const took = performance.now() - since;
    assert.ok(took <= pair.opts.deadtimeMs + 2 * pair.opts.keepaliveMs, `took ${took} ms`);
    assert.equal(r1.transitions.at(-1)!.reason, 'peer-dead');
    assert.equal(r1.core.fsm.wire().flags.resyncPending, undefined, 'an active never says resync pending');
  });

  it('wire: byte 7 bit 0 carries it; a message without it decodes without the flag (older senders)', () => {
    const msg: HeartbeatMessage = {
      type: 'keepalive',
      state: 'standby',
      flags: { linkFault: false, lbFault: false, preempt: false, resyncPending: true },
      path: 'public',
      priority: 100,
      keepaliveUs: 20000,
      newestKeyId: 0,
      macKeyId: 0,
      bootId: '0123456789abcdef',
      seq: 7,
      echoBootId: '0000000000000000',
      configHash: '0011223344556677',
      sender: '198.18.0.12',
    };
    const buf = encode(msg);
    assert.equal(buf[7], 1);
    const back = decode(buf, 'none', {});
    assert.ok(back.ok);
    assert.equal(back.msg.flags.resyncPending, true);
    const plain = encode({ ...msg, flags: { linkFault: false, lbFault: false, preempt: false } });
    assert.equal(plain[7], 0);
    const d = decode(plain, 'none', {});
    assert.ok(d.ok);
    assert.deepEqual(d.msg.flags, { linkFault: false, lbFault: false, preempt: false });
  });
});
