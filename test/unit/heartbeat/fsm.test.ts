import assert from 'node:assert/strict';
import { decodePiranha, encodePiranha } from '../../../src/heartbeat/codec.js';
import { Pair } from './pair.js';

describe('heartbeat fsm (fake timers, two routers on a fake network)', () => {
  let pair: Pair;
  afterEach(() => pair?.restore());

  async function bootPair(opts = {}) {
    pair = new Pair(opts);
    pair.nodes.r1.core.start();
    pair.nodes.r2.core.start();
    await pair.tick(pair.opts.deadtimeMs + 5 * pair.opts.keepaliveMs);
    assert.equal(pair.state('r1'), 'active');
    assert.equal(pair.state('r2'), 'standby');
    return pair;
  }

  describe('start', () => {
    it('listens one deadtime before claiming when alone', async () => {
      pair = new Pair({ deadtimeMs: 100 });
      pair.crash('r2');
      pair.nodes.r1.core.start();
      await pair.tick(99);
      assert.equal(pair.state('r1'), 'starting');
      await pair.tick(1);
      assert.equal(pair.state('r1'), 'active');
      const t = pair.nodes.r1.transitions[0]!;
      assert.equal(t.reason, 'peer-dead');
      assert.match(
        t.evidence,
        /peer 198\.18\.0\.12 not heard since start \(100 ms\) on public\+private: taking over/,
      );
    });

    it('both starting together: exactly one active (higher priority), never two', async () => {
      pair = new Pair();
      pair.nodes.r2.core.start();
      pair.nodes.r1.core.start();
      for (let i = 0; i < 300; i++) {
        await pair.tick(1);
        assert.ok(
          !(pair.state('r1') === 'active' && pair.state('r2') === 'active'),
          `double active at ${i} ms`,
        );
      }
      assert.equal(pair.state('r1'), 'active');
      assert.equal(pair.state('r2'), 'standby');
    });

    it('takes over at once when the peer says standby (no wait for deadtime)', async () => {
      pair = new Pair({ deadtimeMs: 1000 });
      // r2 (lower priority) starts first and, alone, r1 is silent → r2 goes active at 1000 ms.
      // Instead: make r1 start while r2 is standby: r2 lost an election and r1 restarted.
      pair.nodes.r1.core.start();
      pair.nodes.r2.core.start();
      await pair.tick(1100);
      assert.equal(pair.state('r1'), 'active');
      // r1 restarts (new boot): r2 (standby) takes over at deadtime... unless it is quick:
      pair.crash('r1');
      await pair.tick(1010);
      assert.equal(pair.state('r2'), 'active');
      // Now r2 releases so it says standby, and a fresh r1 starts: r1 must take over at once.
      const r1 = pair.restart('r1');
      r1.core.start();
      await pair.tick(50);
      assert.equal(pair.state('r1'), 'standby', 'fresh r1 hears active r2 and stands by at once');
      r1.core.feed({ type: 'tick', now: performance.now() });
      pair.nodes.r2.core.feed({ type: 'release', now: performance.now() });
      const took = await pair.until(() => pair.state('r1') === 'active', 200);
      assert.ok(took < 50, `took ${took} ms`);
    });

    it('a starting router whose peer says standby takes over before its deadtime ends', async () => {
      pair = new Pair({ deadtimeMs: 1000, keepaliveMs: 20 });
      const r2 = pair.nodes.r2;
      pair.crash('r1');
      r2.core.start();
      // r2 alone → active after 1000 ms; put an LB fault on it so it is in fault state instead.
      r2.core.feed({
        type: 'fault',
        now: performance.now(),
        source: 'lb',
        on: true,
        detail: 'lb apply failed',
      });
      await pair.tick(1100);
      assert.equal(pair.state('r2'), 'fault');
      const r1 = pair.restart('r1');
      r1.core.start();
      const took = await pair.until(() => pair.state('r1') === 'active', 200);
      assert.ok(took <= 25, `r1 took ${took} ms (deadtime 1000)`);
      assert.equal(r1.transitions[0]!.reason, 'start-peer-inactive');
      assert.match(r1.transitions[0]!.evidence, /peer 198\.18\.0\.12 says fault: taking over/);
    });
  });

  describe('crash of the active', () => {
    it('standby takes over when every path is silent for deadtime, not before', async () => {
      await bootPair({ deadtimeMs: 100, keepaliveMs: 20 });
      const crashAt = performance.now();
      pair.crash('r1');
      const took = await pair.until(() => pair.state('r2') === 'active', 500);
      assert.ok(took >= 80 && took <= 101, `took ${took} ms`);
      const t = pair.nodes.r2.transitions.at(-1)!;
      assert.equal(t.reason, 'peer-dead');
      assert.match(t.evidence, /^peer 198\.18\.0\.11 silent for 10\d ms on public\+private: taking over$/);
      assert.ok(t.at - crashAt <= 101);
    });

    it('one path cut: no failover', async () => {
      await bootPair();
      pair.cut.add('r1>public');
      await pair.tick(2000);
      assert.equal(pair.state('r1'), 'active');
      assert.equal(pair.state('r2'), 'standby');
      assert.equal(pair.nodes.r2.transitions.length, 1);
    });

    it('both paths cut then healed: split brain repaired, survivor re-announces', async () => {
      await bootPair();
      for (const c of ['r1>public', 'r1>private', 'r2>public', 'r2>private']) pair.cut.add(c);
      await pair.tick(300);
      assert.equal(pair.state('r2'), 'active', 'partition: r2 took over');
      assert.equal(pair.state('r1'), 'active');
      pair.cut.clear();
      const healedAt = performance.now();
      await pair.until(() => pair.state('r2') !== 'active', 100);
      const took = performance.now() - healedAt;
      assert.ok(
        took <= pair.opts.keepaliveMs + 1,
        `resolved in ${took} ms (keepalive ${pair.opts.keepaliveMs})`,
      );
      assert.equal(pair.state('r1'), 'active');
      assert.equal(pair.state('r2'), 'standby');
      const t = pair.nodes.r2.transitions.at(-1)!;
      assert.equal(t.reason, 'split-brain');
      assert.match(t.evidence, /wins \(priority 100 vs peer 200\): releasing/);
      await pair.tick(100);
      assert.deepEqual(
        pair.nodes.r1.reannounces.map((r) => r.reason),
        ['peer-returned', 'split-brain', 'split-brain-resolved', 'peer-released'],
      );
      assert.equal(pair.state('r1'), 'active');
      assert.equal(pair.state('r2'), 'standby');
    });

    it('split brain with equal priorities: the lower address survives', async () => {
      pair = new Pair();
      pair.nodes.r1.core.fsm.reconfigure({ self: { address: '198.18.0.11', priority: 100 } });
      pair.cut.add('r1>public').add('r1>private').add('r2>public').add('r2>private');
      pair.nodes.r1.core.start();
      pair.nodes.r2.core.start();
      await pair.tick(200);
      assert.equal(pair.state('r1'), 'active');
      assert.equal(pair.state('r2'), 'active');
      pair.cut.clear();
      await pair.tick(50);
      assert.equal(pair.state('r1'), 'active');
      assert.equal(pair.state('r2'), 'standby');
      assert.match(
        pair.nodes.r2.transitions.at(-1)!.evidence,
        /equal priority 100, address 198\.18\.0\.12 vs 198\.18\.0\.11/,
      );
    });
  });

  describe('stalls of our own (the whole machine stops, then resumes)', () => {
    /** Both routers stall: every timer due meanwhile fires late, at the end (clock.jump). */
    const stall = (ms: number) => pair.clock.jump(ms);

    it('a stall of both routers longer than deadtime is not read as peer death', async () => {
      await bootPair({ keepaliveMs: 2, deadtimeMs: 8 });
      const before = pair.nodes.r2.transitions.length;
      await pair.tick(1); // between keepalives: nothing in flight when the machine stops
      stall(54);
      await pair.tick(31);
      stall(25);
      await pair.tick(30);
      assert.equal(pair.state('r2'), 'standby');
      assert.equal(pair.state('r1'), 'active');
      assert.equal(pair.nodes.r2.transitions.length, before, 'no false failover');
      assert.ok(pair.nodes.r2.core.fsm.ownStallsExcused >= 2);
    });

    it('a crash hidden by our stall is still decided, one deadtime after we resume', async () => {
      await bootPair({ keepaliveMs: 2, deadtimeMs: 8 });
      pair.crash('r1');
      await pair.tick(1); // packets already in flight land
      stall(54);
      const ms = await pair.until(() => pair.state('r2') === 'active', 100);
      assert.ok(ms <= 8 + 2, `decided ${ms} ms after resuming`);
      const t = pair.nodes.r2.transitions.at(-1)!;
      assert.equal(t.reason, 'peer-dead');
      assert.match(t.evidence, /since our own stall ended/);
    });

    it('a router that keeps stalling still decides a real crash (one excuse per silence)', async () => {
      await bootPair({ keepaliveMs: 2, deadtimeMs: 8 });
      pair.crash('r1');
      for (let i = 0; i < 6 && pair.state('r2') !== 'active'; i++) stall(5);
      await pair.tick(1);
      assert.equal(pair.state('r2'), 'active');
    });
  });

  describe('graceful stop and release', () => {
    it('graceful stop: farewell on every path, peer takes over at once, VIPs dropped after peer confirms', async () => {
      await bootPair({ deadtimeMs: 1000, keepaliveMs: 100, latencyMs: 2 });
      const stopAt = performance.now();
      const wireBefore = pair.wire.length;
      pair.nodes.r1.core.feed({ type: 'stop', now: stopAt, graceful: true });
      // Until r2 confirms, r1 still holds the VIPs.
      assert.equal(pair.state('r1'), 'active');
      const farewells = pair.wire.slice(wireBefore).filter((w) => w.from === 'r1');
      assert.deepEqual(
        farewells.map((w) => w.path),
        ['public', 'private'],
      );
      await pair.until(() => pair.state('r2') === 'active', 50);
      assert.ok(performance.now() - stopAt <= 3, 'peer took over within one network hop');
      assert.equal(pair.state('r1'), 'active', 'leaving router keeps VIPs until confirmation arrives');
      await pair.until(() => pair.state('r1') === 'stopped', 50);
      const leave = pair.nodes.r1.transitions.find((t) => t.from === 'active')!;
      assert.equal(leave.to, 'stopping');
      assert.equal(leave.reason, 'handover');
      assert.ok(leave.at >= pair.nodes.r2.transitions.at(-1)!.at, 'r1 left active after r2 became active');
      assert.match(
        leave.evidence,
        /peer 198\.18\.0\.12 confirmed active 4 ms after our farewell \(graceful stop\)/,
      );
      assert.equal(pair.nodes.r2.transitions.at(-1)!.reason, 'peer-farewell');
    });

    it('graceful stop with a silent peer: bounded wait (handoverTimeoutMs), then release anyway', async () => {
      await bootPair({ handoverTimeoutMs: 300 });
      pair.crash('r2');
      await pair.tick(50); // r2 not yet dead to r1's eyes (deadtime 100 from last heard)
      const stopAt = performance.now();
      pair.nodes.r1.core.feed({ type: 'stop', now: stopAt, graceful: true });
      await pair.until(() => pair.state('r1') === 'stopped', 400);
      assert.ok(performance.now() - stopAt >= 299);
      assert.equal(pair.nodes.r1.transitions.find((t) => t.to === 'stopping')!.reason, 'handover-timeout');
    });

    it('a standby that stops says farewell; the active does not re-announce for it', async () => {
      await bootPair();
      pair.nodes.r2.core.feed({ type: 'stop', now: performance.now(), graceful: true });
      await pair.tick(50);
      assert.equal(pair.state('r2'), 'stopped');
      assert.equal(pair.state('r1'), 'active');
      assert.deepEqual(pair.nodes.r1.reannounces, []);
    });

    it('release: peer takes over at once; the released router does not take the VIPs back', async () => {
      await bootPair({ deadtimeMs: 1000, keepaliveMs: 100 });
      pair.nodes.r1.core.feed({ type: 'release', now: performance.now() });
      await pair.until(() => pair.state('r1') === 'standby', 20);
      assert.equal(pair.state('r2'), 'active');
      await pair.tick(3000);
      assert.equal(pair.state('r1'), 'standby');
      assert.equal(pair.state('r2'), 'active');
    });

    it('takeover request from the standby: the active hands over', async () => {
      await bootPair({ keepaliveMs: 20 });
      pair.nodes.r2.core.feed({ type: 'takeover', now: performance.now() });
      await pair.until(() => pair.state('r2') === 'active' && pair.state('r1') === 'standby', 20);
    });
  });

  describe('preemption', () => {
    it('off by default: a returning primary stays standby', async () => {
      await bootPair();
      pair.crash('r1');
      await pair.until(() => pair.state('r2') === 'active', 200);
      const r1 = pair.restart('r1');
      r1.core.start();
      await pair.tick(5000);
      assert.equal(pair.state('r1'), 'standby');
      assert.equal(pair.state('r2'), 'active');
    });

    it('on with preempt delay: the primary takes back the VIPs after the delay (make-before-break, one hop)', async () => {
      await bootPair({ preempt: true, preemptDelayMs: 1000 });
      pair.crash('r1');
      await pair.until(() => pair.state('r2') === 'active', 200);
      const r1 = pair.restart('r1');
      r1.core.start();
      await pair.until(() => pair.state('r1') === 'standby', 50);
      const since = performance.now();
      for (let i = 0; i < 1200 && pair.state('r1') !== 'active'; i++) {
        await pair.tick(1);
        assert.equal(pair.state('r2'), 'active', 'r2 keeps the VIPs until r1 holds them');
      }
      const took = performance.now() - since;
      assert.equal(pair.state('r1'), 'active');
      assert.ok(took >= 1000 && took < 1050, `preempted after ${took} ms`);
      await pair.tick(10);
      assert.equal(pair.state('r2'), 'standby');
      const r1Active = r1.transitions.at(-1)!;
      const r2Left = pair.nodes.r2.transitions.at(-1)!;
      assert.equal(r1Active.reason, 'peer-farewell');
      assert.equal(r2Left.reason, 'handover');
      assert.match(r2Left.evidence, /preempted by higher-priority peer/);
      // Overlap (both hold the VIPs) is one network hop (fake timers round it up to 1 ms).
      assert.ok(r2Left.at - r1Active.at <= 1, `overlap ${r2Left.at - r1Active.at} ms`);
    });
  });

  describe('faults', () => {
    it('link fault on the active: hands over to a healthy peer; goes to fault', async () => {
      await bootPair();
      pair.nodes.r1.core.feed({
        type: 'fault',
        now: performance.now(),
        source: 'link',
        on: true,
        detail: 'eth1 down (carrier 0, operstate down)',
      });
      await pair.until(() => pair.state('r1') === 'fault', 20);
      assert.equal(pair.state('r2'), 'active');
      const t = pair.nodes.r1.transitions.at(-1)!;
      assert.equal(t.reason, 'handover');
      // Cleared: r1 goes standby, r2 stays active (no preempt).
      pair.nodes.r1.core.feed({
        type: 'fault',
        now: performance.now(),
        source: 'link',
        on: false,
        detail: 'eth1 up',
      });
      await pair.tick(200);
      assert.equal(pair.state('r1'), 'standby');
      assert.equal(pair.state('r2'), 'active');
    });

    it('link fault on the active with an unhealthy peer: stays active', async () => {
      await bootPair();
      pair.nodes.r2.core.feed({
        type: 'fault',
        now: performance.now(),
        source: 'link',
        on: true,
        detail: 'eth0 down',
      });
      await pair.tick(50);
      assert.equal(pair.state('r2'), 'fault');
      pair.nodes.r1.core.feed({
        type: 'fault',
        now: performance.now(),
        source: 'link',
        on: true,
        detail: 'eth1 down',
      });
      await pair.tick(1000);
      assert.equal(pair.state('r1'), 'active');
    });

    it('a standby with a link down never takes over, even when the active dies', async () => {
      await bootPair();
      pair.nodes.r2.core.feed({
        type: 'fault',
        now: performance.now(),
        source: 'link',
        on: true,
        detail: 'eth0 down',
      });
      pair.crash('r1');
      await pair.tick(2000);
      assert.equal(pair.state('r2'), 'fault');
      // Link back: peer still dead → now it takes over.
      pair.nodes.r2.core.feed({
        type: 'fault',
        now: performance.now(),
        source: 'link',
        on: false,
        detail: 'eth0 up',
      });
      assert.equal(pair.state('r2'), 'active');
    });

    it('LB fault (hard_shutdown) on the active: same handover', async () => {
      await bootPair();
      pair.nodes.r1.core.feed({
        type: 'fault',
        now: performance.now(),
        source: 'lb',
        on: true,
        detail: 'lb apply failed',
      });
      await pair.until(() => pair.state('r2') === 'active' && pair.state('r1') === 'fault', 20);
    });
  });

  describe('config hash', () => {
    it('a mismatch is reported once, with both hashes', async () => {
      pair = new Pair({ hash1: '1111111111111111', hash2: '2222222222222222' });
      pair.nodes.r1.core.start();
      pair.nodes.r2.core.start();
      await pair.tick(500);
      assert.deepEqual(pair.nodes.r1.mismatches, [{ ours: '1111111111111111', theirs: '2222222222222222' }]);
      assert.equal(pair.nodes.r2.mismatches.length, 1);
      assert.ok(pair.nodes.r1.core.fsm.configMismatch());
    });
  });

  describe('timing', () => {
    it('reconfigure changes timers in place without a state change', async () => {
      await bootPair({ keepaliveMs: 20, deadtimeMs: 100 });
      for (const n of ['r1', 'r2'] as const)
        pair.nodes[n].core.fsm.reconfigure({ keepaliveMs: 200, deadtimeMs: 1000 });
      const sent = pair.wire.length;
      await pair.tick(1000);
      assert.ok(pair.wire.length - sent <= 25, `${pair.wire.length - sent} packets in 1 s at 200 ms`);
      pair.crash('r1');
      await pair.tick(500);
      assert.equal(pair.state('r2'), 'standby', 'new deadtime (1000) in force');
      await pair.tick(600);
      assert.equal(pair.state('r2'), 'active');
    });
  });

  describe('Piranha compatibility (4-byte heartbeats)', () => {
    it('pairs with an old Piranha pulse: standby while it runs, takes over when it stops or dies', async () => {
      pair = new Pair({ piranha: true, paths: ['public'] });
      pair.crash('r1'); // r1 is "Piranha": we play it by hand
      const us = pair.nodes.r2;
      us.core.start();
      const piranha = (running: boolean) =>
        pair.deliver('r2', 'public', encodePiranha(running), '198.18.0.11');
      const beat = setInterval(() => piranha(true), 20);
      await pair.tick(300);
      assert.equal(pair.state('r2'), 'standby');
      // We speak Piranha too: STOPPED while standby.
      const ours = pair.wire.filter((w) => w.from === 'r2' && w.buf.length === 4);
      assert.ok(ours.length > 5);
      assert.deepEqual(decodePiranha(ours.at(-1)!.buf), { ok: true, running: false });
      clearInterval(beat);
      await pair.until(() => pair.state('r2') === 'active', 200);
      const last = pair.wire.filter((w) => w.from === 'r2' && w.buf.length === 4).at(-1)!;
      assert.deepEqual(decodePiranha(last.buf), { ok: true, running: true });
      // Piranha comes back running (both active): the primary (Piranha, priority 200) keeps it.
      piranha(true);
      await pair.tick(5);
      assert.equal(pair.state('r2'), 'standby');
      assert.equal(us.transitions.at(-1)!.reason, 'split-brain');
      // Piranha says STOPPED (its lvs stopped): we take over at once.
      piranha(false);
      await pair.tick(1);
      assert.equal(pair.state('r2'), 'active');
      assert.equal(us.core.counters().unauthenticated > 0, true);
    });
  });
});
