/**
 * Issue 17 item 8: a farewell, standby or claim of the peer captured earlier and replayed at our start,
 * before a live packet confirms the peer's boot, must not make us take over from a live peer. Only a
 * confirmed boot (one that echoed our boot id) is heard as a state or an order; the live peer confirms
 * within a few network hops because each step of the boot handshake is answered at once.
 */
import assert from 'node:assert/strict';
import { decode, type HeartbeatMessage, type PathName } from '../../../src/heartbeat/codec.js';
import { FailoverFsm } from '../../../src/heartbeat/fsm.js';
import { MemoryLog } from '../../../src/lib/log.js';
import { KEY, Pair, R1, R2 } from './pair.js';

const src = (path: PathName) => (path === 'private' ? R1.privateAddress : R1.address);

describe('heartbeat: replayed farewell / standby / claim at start', () => {
  let pair: Pair;
  afterEach(() => pair?.restore());

  /** A pair where r1 (primary) is active, after a release to r2 and back: its farewells are on the wire. */
  async function pairWithHistory(): Promise<Pair> {
    pair = new Pair({ keepaliveMs: 20, deadtimeMs: 100, latencyMs: 0.2 });
    pair.nodes.r1.core.start();
    pair.nodes.r2.core.start();
    await pair.tick(200);
    assert.equal(pair.state('r1'), 'active');
    // r1 releases (farewell, state standby), r2 takes over; r2 takes over back by request (claims).
    pair.nodes.r1.core.feed({ type: 'release', now: performance.now() });
    await pair.until(() => pair.state('r2') === 'active' && pair.state('r1') === 'standby', 500);
    await pair.tick(50);
    pair.nodes.r1.core.feed({ type: 'takeover', now: performance.now() });
    await pair.until(() => pair.state('r1') === 'active' && pair.state('r2') === 'standby', 1000);
    await pair.tick(50);
    return pair;
  }

  /** The packets r1 sent (its current, live boot) of the given kind, decoded. */
  function captured(p: Pair, pick: (m: HeartbeatMessage) => boolean) {
    const out: { path: PathName; buf: Buffer; msg: HeartbeatMessage }[] = [];
    for (const w of p.wire) {
      if (w.from !== 'r1') continue;
      const d = decode(w.buf, 'hmac', { current: KEY });
      if (d.ok && pick(d.msg)) out.push({ path: w.path, buf: w.buf, msg: d.msg });
    }
    return out;
  }

  const kinds: [string, (m: HeartbeatMessage) => boolean][] = [
    ['farewell', (m) => m.type === 'farewell'],
    ['keepalive saying standby', (m) => m.type === 'keepalive' && m.state === 'standby'],
    ['claim saying standby (takeover request)', (m) => m.type === 'claim' && m.state === 'standby'],
  ];

  for (const [name, pick] of kinds) {
    it(`a captured ${name} replayed into a restarting router does not make it take over from the live active`, async () => {
      const p = await pairWithHistory();
      const caps = captured(p, pick);
      assert.ok(caps.length > 0, `captured some ${name}`);
      // r2 restarts; the attacker's replay reaches it before any live packet of r1.
      const r2 = p.restart('r2');
      r2.core.start();
      for (const c of caps.slice(0, 4)) p.deliver('r2', c.path, c.buf, src(c.path));
      for (let i = 0; i < 300; i++) {
        await p.tick(1);
        assert.notEqual(
          p.state('r2'),
          'active',
          `r2 took over at ${i} ms: ${JSON.stringify(r2.transitions)}`,
        );
      }
      assert.equal(p.state('r2'), 'standby');
      assert.equal(p.state('r1'), 'active');
      assert.equal(r2.transitions[0]?.reason, 'start-peer-active');
      assert.deepEqual(p.nodes.r1.transitions.slice(-1)[0]?.to, 'active', 'r1 was never disturbed');
    });
  }

  it('a live peer is still heard within a few hops at our start (the handshake is answered at once)', async () => {
    const p = await pairWithHistory();
    const r2 = p.restart('r2');
    const t0 = performance.now();
    r2.core.start();
    const ms = await p.until(() => p.state('r2') === 'standby', 100);
    // Four one-way hops of 0.2 ms (our hello, its answer, our echo, its confirmation), not keepalives.
    assert.ok(ms < p.opts.keepaliveMs / 2, `standby after ${ms} ms`);
    assert.ok(performance.now() - t0 < 20);
  });

  it('a standby that hears a replayed farewell of an old boot of the active stays standby', async () => {
    const p = await pairWithHistory();
    const old = captured(p, (m) => m.type === 'farewell');
    // r1 restarts for real: its new boot takes over again (election), its old boot's farewells are stale.
    const r1 = p.restart('r1');
    r1.core.start();
    await p.until(() => p.state('r1') === 'active' && p.state('r2') === 'standby', 2000);
    const before = p.nodes.r2.transitions.length;
    for (const c of old.slice(0, 4)) p.deliver('r2', c.path, c.buf, src(c.path));
    await p.tick(200);
    assert.equal(p.state('r2'), 'standby');
    assert.equal(p.nodes.r2.transitions.length, before, 'no transition');
  });
});

describe('fsm: unconfirmed messages are signs of life only (pure)', () => {
  const cfg = {
    node: 'backup' as const,
    self: { address: R2.address, priority: R2.priority },
    peer: { ...R1 },
    paths: ['public' as PathName],
    keepaliveMs: 20,
    deadtimeMs: 100,
    preempt: false,
    preemptDelayMs: 0,
    handoverTimeoutMs: 500,
    configHash: 'aaaaaaaaaaaaaaaa',
  };
  const farewell: HeartbeatMessage = {
    type: 'farewell',
    state: 'standby',
    flags: { linkFault: false, lbFault: false, preempt: false },
    path: 'public',
    priority: 200,
    keepaliveUs: 20000,
    newestKeyId: 0,
    macKeyId: 0,
    bootId: '1111111111111111',
    seq: 7,
    echoBootId: '0000000000000001',
    configHash: 'aaaaaaaaaaaaaaaa',
    sender: R1.address,
  };

  it('starting: an unconfirmed farewell does nothing; the same farewell confirmed takes over at once', () => {
    const f = new FailoverFsm(cfg, new MemoryLog());
    f.step({ type: 'start', now: 0 });
    const out = f.step({ type: 'message', now: 1, path: 'public', msg: farewell, confirmed: false });
    assert.equal(f.state, 'starting');
    assert.ok(!out.some((o) => o.type === 'transition'));
    assert.equal(f.peer.state, undefined, 'its state is not taken');
    assert.equal(f.peerAlive(1), true, 'but it is a sign of life');
    f.step({ type: 'message', now: 2, path: 'public', msg: farewell, confirmed: true });
    assert.equal(f.state, 'active');
    assert.equal(f.transitions[0]!.reason, 'peer-farewell');
  });

  it('a handshake message is answered at once; an ordinary one waits for the keepalive', () => {
    const f = new FailoverFsm(cfg, new MemoryLog());
    f.step({ type: 'start', now: 0 });
    const ka = { ...farewell, type: 'keepalive' as const, state: 'starting' as const };
    const a = f.step({ type: 'message', now: 1, path: 'public', msg: ka, confirmed: false, handshake: true });
    assert.ok(a.some((o) => o.type === 'send'));
    const b = f.step({ type: 'message', now: 2, path: 'public', msg: { ...ka, seq: 8 }, confirmed: false });
    assert.ok(!b.some((o) => o.type === 'send'));
  });
});
