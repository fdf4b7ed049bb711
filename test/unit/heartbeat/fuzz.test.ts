import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type DropReason, encode, makeKey, type PathName } from '../../../src/heartbeat/codec.js';
import { zeroRejected } from '../../../src/heartbeat/receiver.js';
import { Pair, R1 } from './pair.js';

/** xorshift32: cheap deterministic randomness for a million packets. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

describe('heartbeat receiver fuzz and replay', function () {
  this.timeout(60_000);
  let pair: Pair;
  afterEach(() => pair?.restore());

  it('10^6 random, truncated, bit-flipped, replayed and forged packets: no exception, no state change, counts match', async () => {
    pair = new Pair();
    pair.nodes.r1.core.start();
    pair.nodes.r2.core.start();
    await pair.tick(300);
    assert.equal(pair.state('r2'), 'standby');
    const r2 = pair.nodes.r2.core;
    // Only packets already delivered (none in flight).
    const captured = pair.wire.filter((w) => w.from === 'r1' && w.at < performance.now() - 5);
    assert.ok(captured.length > 20);

    const before = {
      state: r2.fsm.state,
      peer: JSON.stringify(r2.fsm.peer),
      rx: r2.receiver.snapshot(),
      counters: r2.counters(),
      transitions: pair.nodes.r2.transitions.length,
      wire: pair.wire.length,
    };
    const expected = zeroRejected();
    const next = rng(0xc0ffee);
    const pool = randomBytes(1 << 20);
    const wrongKey = makeKey(randomBytes(32));
    const template = captured.at(-1)!.buf;
    const templatePath = captured.at(-1)!.path;
    const peerAddr: Record<PathName, string> = {
      public: R1.address,
      private: R1.privateAddress,
      multicast: R1.address,
    };
    const N = 1_000_000;
    const t0 = process.hrtime.bigint();
    const expectFor = (b: Buffer): DropReason => {
      if (b.length !== 88) return 'wrong-length';
      if (b[0] !== 0x4c || b[1] !== 0x50 || b[2] !== 1) return 'unknown-version';
      return 'bad-mac';
    };
    for (let i = 0; i < N; i++) {
      const kind = i % 6;
      let path: PathName = next() & 1 ? 'public' : 'private';
      let buf: Buffer;
      let from = peerAddr[path];
      let want: DropReason;
      switch (kind) {
        case 0: {
          // random bytes, random length (some exactly 88)
          const len = next() % 3 === 0 ? 88 : next() % 200;
          const off = next() % (pool.length - len);
          buf = pool.subarray(off, off + len);
          want = expectFor(buf);
          break;
        }
        case 1: {
          // truncated or extended valid packet
          const len = next() % 2 ? next() % 88 : 89 + (next() % 100);
          buf = Buffer.alloc(len);
          template.copy(buf, 0, 0, Math.min(len, 88));
          want = 'wrong-length';
          break;
        }
        case 2: {
          // 1–3 bit flips anywhere in a valid packet
          buf = Buffer.from(template);
          path = templatePath;
          from = peerAddr[path];
          const flips = 1 + (next() % 3);
          for (let f = 0; f < flips; f++) {
            const bit = next() % (88 * 8);
            buf[bit >> 3]! ^= 1 << (bit & 7);
          }
          want = buf.equals(template) ? 'replay' : expectFor(buf);
          break;
        }
        case 3: {
          // replay of a captured packet, on its own path, from its own address
          const c = captured[next() % captured.length]!;
          buf = c.buf;
          path = c.path;
          from = peerAddr[c.path];
          want = 'replay';
          break;
        }
        case 4: {
          // forged: well-formed, fresh seq, but wrong key or unsigned
          const m = {
            type: 'farewell' as const,
            state: 'stopping' as const,
            flags: { linkFault: false, lbFault: false, preempt: false },
            path,
            priority: 65535,
            keepaliveUs: 1000,
            newestKeyId: 0,
            macKeyId: 0,
            bootId: template.toString('hex', 24, 32),
            seq: 2 ** 40 + i,
            echoBootId: r2.bootId,
            configHash: '0000000000000000',
            sender: R1.address,
          };
          buf = encode(m, next() % 2 ? wrongKey : undefined);
          want = 'bad-mac';
          break;
        }
        default: {
          // a valid packet from an address that is not the peer (client namespace)
          buf = template;
          from = `198.18.0.${100 + (next() % 50)}`;
          want = 'not-peer';
          break;
        }
      }
      r2.receive(path, buf, from);
      expected[want]++;
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const after = r2.counters();
    assert.equal(r2.fsm.state, before.state);
    assert.equal(JSON.stringify(r2.fsm.peer), before.peer, 'peer view unchanged');
    assert.equal(r2.receiver.snapshot(), before.rx, 'replay state unchanged');
    assert.equal(pair.nodes.r2.transitions.length, before.transitions);
    assert.equal(pair.wire.length, before.wire, 'nothing sent in reaction');
    assert.equal(after.accepted, before.counters.accepted);
    assert.equal(after.received - before.counters.received, N);
    for (const [reason, n] of Object.entries(expected))
      assert.equal(
        after.rejected[reason as DropReason] - before.counters.rejected[reason as DropReason],
        n,
        reason,
      );
    console.log(
      `      fuzz: ${N} packets in ${seconds.toFixed(2)} s (${((seconds / N) * 1e6).toFixed(2)} µs/packet); ` +
        JSON.stringify(expected),
    );
    // The pair still works afterwards.
    await pair.tick(500);
    assert.equal(pair.state('r1'), 'active');
    assert.equal(pair.state('r2'), 'standby');
  });

  it('a crashed active stays dead while its captured heartbeats are replayed from its own address', async () => {
    pair = new Pair({ keepaliveMs: 20, deadtimeMs: 100 });
    pair.nodes.r1.core.start();
    pair.nodes.r2.core.start();
    await pair.tick(1000);
    assert.equal(pair.state('r1'), 'active');
    const captured = pair.wire.filter((w) => w.from === 'r1');
    pair.crash('r1');
    await pair.tick(2); // in-flight packets land
    const crashAt = performance.now();
    // The attacker replays every captured packet, in order, one per ms, from r1's addresses.
    let i = 0;
    const replayer = setInterval(() => {
      const c = captured[i++ % captured.length]!;
      pair.deliver('r2', c.path, c.buf, c.path === 'private' ? R1.privateAddress : R1.address);
    }, 1);
    const took = await pair.until(() => pair.state('r2') === 'active', 300);
    await pair.tick(2000);
    clearInterval(replayer);
    assert.equal(pair.state('r2'), 'active', 'r2 took over and stayed active');
    assert.equal(pair.nodes.r2.transitions.length, 2, 'starting→standby, standby→active only');
    assert.ok(took <= 101, `took over ${took} ms after the crash`);
    const rej = pair.nodes.r2.core.counters().rejected;
    assert.ok(rej.replay >= 2000, `replays dropped: ${rej.replay}`);
    void crashAt;
  });
});
