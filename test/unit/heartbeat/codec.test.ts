import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import {
  addressToBytes,
  bytesToAddress,
  canonicalAddress,
  decode,
  decodePiranha,
  encode,
  encodePiranha,
  type HeartbeatMessage,
  MESSAGE_LENGTH,
  makeKey,
} from '../../../src/heartbeat/codec.js';
import { chooseSendKey, Receiver, type ReceiverOptions } from '../../../src/heartbeat/receiver.js';

const K1 = makeKey(Buffer.alloc(32, 1));
const K2 = makeKey(Buffer.alloc(32, 2));
const OUR_BOOT = 'aaaaaaaaaaaaaaaa';
const PEER_BOOT = '1111111111111111';

function msg(over: Partial<HeartbeatMessage> = {}): HeartbeatMessage {
  return {
    type: 'keepalive',
    state: 'active',
    flags: { linkFault: false, lbFault: true, preempt: false },
    path: 'public',
    priority: 200,
    keepaliveUs: 20_000,
    newestKeyId: K1.id,
    macKeyId: 0,
    bootId: PEER_BOOT,
    seq: 1,
    echoBootId: OUR_BOOT,
    configHash: '0123456789abcdef',
    sender: '198.18.0.11',
    ...over,
  };
}

function receiver(over: Partial<ReceiverOptions> = {}): Receiver {
  return new Receiver({
    auth: 'hmac',
    keys: { current: K1 },
    bootId: OUR_BOOT,
    selfAddresses: ['198.18.0.12', '198.18.1.12'],
    selfId: '198.18.0.12',
    peer: { address: '198.18.0.11', privateAddress: '198.18.1.11' },
    unconfirmedGraceMs: 100,
    piranhaCompat: false,
    ...over,
  });
}

describe('heartbeat codec', () => {
  it('round trip: every field survives encode/decode, MAC is HMAC-SHA256 truncated to 128 bits', () => {
    const m = msg({ seq: 2 ** 40 + 7, type: 'claim', state: 'fault', path: 'private' });
    const buf = encode(m, K1);
    assert.equal(buf.length, MESSAGE_LENGTH);
    assert.equal(buf.toString('ascii', 0, 2), 'LP');
    const want = createHmac('sha256', K1.secret).update(buf.subarray(0, 72)).digest().subarray(0, 16);
    assert.deepEqual(buf.subarray(72), want);
    const d = decode(buf, 'hmac', { current: K1 });
    assert.ok(d.ok);
    assert.deepEqual(d.msg, { ...m, macKeyId: K1.id });
  });

  it('IPv6 sender ids round-trip canonically', () => {
    for (const a of ['2001:db8::1', '::1', 'fe80::1:2:3:4', '2001:db8:0:0:1:0:0:1', '::ffff:198.18.0.1']) {
      const b = addressToBytes(a);
      assert.equal(b.length, 16);
      assert.deepEqual(addressToBytes(bytesToAddress(b)), b, a);
    }
    assert.equal(canonicalAddress('2001:DB8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
    assert.equal(canonicalAddress('::ffff:198.18.0.1'), '198.18.0.1');
    const d = decode(encode(msg({ sender: '2001:db8::11' }), K1), 'hmac', { current: K1 });
    assert.ok(d.ok && d.msg.sender === '2001:db8::11');
  });

  it('drops by reason: wrong length, unknown version, bad magic, bad MAC, malformed, unauthenticated', () => {
    const good = encode(msg(), K1);
    const r = (b: Buffer) => decode(b, 'hmac', { current: K1 });
    assert.deepEqual(r(good.subarray(0, 87)), { ok: false, reason: 'wrong-length', detail: '87 bytes' });
    const v2 = Buffer.from(good);
    v2[2] = 2;
    assert.equal((r(v2) as { reason: string }).reason, 'unknown-version');
    const magic = Buffer.from(good);
    magic[0] = 0;
    assert.equal((r(magic) as { reason: string }).reason, 'unknown-version');
    const flip = Buffer.from(good);
    flip[30]! ^= 1;
    assert.equal((r(flip) as { reason: string }).reason, 'bad-mac');
    assert.equal((decode(good, 'hmac', { current: K2 }) as { reason: string }).reason, 'bad-mac');
    const unsigned = encode(msg());
    assert.deepEqual(r(unsigned), { ok: false, reason: 'bad-mac', detail: 'unauthenticated' });
    // A MAC-valid packet with an out-of-range field (a peer with a newer minor format, or a bug).
    const bad = encode(msg());
    bad[4] = 9;
    assert.equal((decode(bad, 'none', {}) as { reason: string }).reason, 'malformed');
  });

  it('auth none accepts unauthenticated packets (and ignores MACs)', () => {
    assert.ok(decode(encode(msg()), 'none', {}).ok);
    assert.ok(decode(encode(msg(), K1), 'none', {}).ok);
  });

  it('Piranha compat: 4 bytes native order, running 0xbdaddbda / stopped 0xadbddabd', () => {
    assert.deepEqual([...encodePiranha(true)], [0xda, 0xdb, 0xad, 0xbd]);
    assert.deepEqual([...encodePiranha(false)], [0xbd, 0xda, 0xbd, 0xad]);
    assert.deepEqual(decodePiranha(encodePiranha(true)), { ok: true, running: true });
    assert.deepEqual(decodePiranha(encodePiranha(false)), { ok: true, running: false });
    assert.equal((decodePiranha(Buffer.from([1, 2, 3, 4])) as { reason: string }).reason, 'unknown-version');
  });
});

describe('heartbeat receiver', () => {
  it('accepts a good packet and counts it', () => {
    const rx = receiver();
    const r = rx.receive(encode(msg(), K1), '198.18.0.11', 'public', 0);
    assert.ok(r.ok);
    assert.equal(rx.counters.accepted, 1);
  });

  it('drops: sender not a configured peer (source address, then sender id), self, wrong path', () => {
    const rx = receiver();
    const good = encode(msg(), K1);
    assert.equal((rx.receive(good, '198.18.0.100', 'public', 0) as { reason: string }).reason, 'not-peer');
    const forgedId = encode(msg({ sender: '198.18.0.13' }), K1);
    assert.equal((rx.receive(forgedId, '198.18.0.11', 'public', 0) as { reason: string }).reason, 'not-peer');
    assert.equal((rx.receive(good, '198.18.0.12', 'public', 0) as { reason: string }).reason, 'self');
    assert.equal((rx.receive(good, '198.18.1.11', 'private', 0) as { reason: string }).reason, 'wrong-path');
    assert.equal((rx.receive(good, '198.18.1.11', 'public', 0) as { reason: string }).reason, 'wrong-path');
    assert.equal(rx.counters.rejected['not-peer'], 2);
    assert.equal(rx.counters.rejected.self, 1);
    assert.equal(rx.counters.rejected['wrong-path'], 2);
    assert.equal(rx.counters.accepted, 0);
  });

  it('drops replays: same or older seq per boot id and path; paths have their own order', () => {
    const rx = receiver();
    const p5 = encode(msg({ seq: 5 }), K1);
    assert.ok(rx.receive(p5, '198.18.0.11', 'public', 0).ok);
    assert.equal((rx.receive(p5, '198.18.0.11', 'public', 1) as { reason: string }).reason, 'replay');
    assert.equal(
      (rx.receive(encode(msg({ seq: 4 }), K1), '198.18.0.11', 'public', 1) as { reason: string }).reason,
      'replay',
    );
    // seq 4 on the private path is fine (it overtook nothing on that path).
    assert.ok(rx.receive(encode(msg({ seq: 4, path: 'private' }), K1), '198.18.1.11', 'private', 1).ok);
    assert.ok(rx.receive(encode(msg({ seq: 6 }), K1), '198.18.0.11', 'public', 2).ok);
  });

  it('a superseded peer boot stays refused; an unconfirmed boot counts for one deadtime only', () => {
    const rx = receiver();
    const oldBoot = encode(msg({ seq: 100 }), K1);
    assert.ok(rx.receive(oldBoot, '198.18.0.11', 'public', 0).ok);
    // The peer restarts: new boot, confirmed (echoes us).
    const nb = '2222222222222222';
    assert.ok(rx.receive(encode(msg({ bootId: nb, seq: 1 }), K1), '198.18.0.11', 'public', 10).ok);
    assert.equal(rx.echoBootId(), nb);
    // Old boot with a higher seq (captured earlier, replayed now): refused.
    const r = rx.receive(encode(msg({ seq: 101 }), K1), '198.18.0.11', 'public', 20);
    assert.equal((r as { reason: string }).reason, 'replay');
    // A capture from before we started (echoes a boot of ours that is not this one): grace, then refused.
    const ancient = (seq: number) =>
      encode(msg({ bootId: '3333333333333333', echoBootId: 'bbbbbbbbbbbbbbbb', seq }), K1);
    assert.ok(rx.receive(ancient(1), '198.18.0.11', 'public', 30).ok);
    assert.ok(rx.receive(ancient(2), '198.18.0.11', 'public', 129).ok);
    assert.equal(
      (rx.receive(ancient(3), '198.18.0.11', 'public', 130) as { reason: string }).reason,
      'unconfirmed-boot',
    );
    // ...and it never displaced the confirmed boot we echo.
    assert.equal(rx.echoBootId(), nb);
  });

  it('Piranha 4-byte heartbeats only with compat on, only from the peer', () => {
    const off = receiver();
    assert.equal(
      (off.receive(encodePiranha(true), '198.18.0.11', 'public', 0) as { reason: string }).reason,
      'wrong-length',
    );
    const on = receiver({ piranhaCompat: true });
    const r = on.receive(encodePiranha(true), '198.18.0.11', 'public', 0);
    assert.ok(r.ok && r.accepted.kind === 'piranha' && r.accepted.running);
    assert.equal(on.counters.unauthenticated, 1);
    assert.equal(
      (on.receive(encodePiranha(true), '198.18.0.100', 'public', 0) as { reason: string }).reason,
      'not-peer',
    );
  });

  it('auth none: unauthenticated packets accepted and counted as such', () => {
    const rx = receiver({ auth: 'none', keys: {} });
    assert.ok(rx.receive(encode(msg()), '198.18.0.11', 'public', 0).ok);
    assert.equal(rx.counters.unauthenticated, 1);
  });

  describe('key rotation window', () => {
    it('accepts the old and the new key while both are configured; only the new one after', () => {
      const both = receiver({ keys: { current: K2, previous: K1 } });
      assert.ok(both.receive(encode(msg({ seq: 1 }), K1), '198.18.0.11', 'public', 0).ok);
      assert.ok(both.receive(encode(msg({ seq: 2 }), K2), '198.18.0.11', 'public', 0).ok);
      assert.equal(both.counters.previousKey, 1);
      both.update({ keys: { current: K2 } });
      const r = both.receive(encode(msg({ seq: 3 }), K1), '198.18.0.11', 'public', 0);
      assert.deepEqual(r, { ok: false, reason: 'bad-mac', detail: 'unknown key id' });
    });

    it('sender signs with the old key until the peer shows it holds the new one (no downtime)', () => {
      // Router A reloaded first: current K2, previous K1; B still only has K1 (advertises newest = K1).
      const ringA = { current: K2, previous: K1 };
      assert.equal(chooseSendKey(ringA, 0), K1, 'nothing heard yet: old key');
      assert.equal(chooseSendKey(ringA, K1.id), K1, 'peer has not got K2 yet');
      assert.equal(chooseSendKey(ringA, K2.id), K2, 'peer advertises K2: switch');
      assert.equal(chooseSendKey({ current: K2 }, K1.id), K2, 'old key removed: only K2');
      // And B (K1 only) accepts what A sends during the window:
      const b = receiver({ keys: { current: K1 } });
      const fromA = encode(msg({ newestKeyId: K2.id }), chooseSendKey(ringA, K1.id));
      assert.ok(b.receive(fromA, '198.18.0.11', 'public', 0).ok);
    });
  });
});
