/**
 * The probe engine's ABI check (probes/abi.ts) and the transport ladder's fallback (probes/transport.ts):
 * the check passes on this machine, each kind of mismatch is caught with its reason, and an engine whose
 * check fails is not used — its probes run on net/tls sockets, seen by the server as full handshakes where
 * the engine's connect probe is half-open.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { probeSocketCalls } from '../../../src/lib/libc';
import { type AbiFacts, abiMismatches, measureAbi } from '../../../src/nanny/probes/abi';
import { engineTransport } from '../../../src/nanny/probes/epoll';
import { netTransport } from '../../../src/nanny/probes/netsocket';
import { connectProbe, engineStatus, exchangeProbe } from '../../../src/nanny/probes/transport';

describe('nanny probe engine: ABI check and the transport ladder', () => {
  let facts: AbiFacts;
  before(() => {
    facts = measureAbi(probeSocketCalls());
  });

  it('passes on this machine, and the process engine is available', () => {
    assert.deepEqual(abiMismatches(facts), []);
    assert.equal(engineStatus().available, true, engineStatus().why);
  });

  const forced: [string, (f: AbiFacts) => AbiFacts, RegExp][] = [
    ['another platform', (f) => ({ ...f, platform: 'darwin' }), /platform darwin/],
    ['a 32-bit or non-generic architecture', (f) => ({ ...f, arch: 'mips' }), /architecture mips/],
    ['big-endian', (f) => ({ ...f, endianness: 'BE' }), /byte order/],
    ['another EAGAIN', (f) => ({ ...f, errno: { ...f.errno, EAGAIN: 35 } }), /EAGAIN is 35/],
    ['another O_NONBLOCK', (f) => ({ ...f, oNonblock: 4 }), /O_NONBLOCK/],
    [
      'epoll_event with another stride (the second record read as garbage)',
      (f) => ({ ...f, epoll: { n: 2, events: [1, 0], data: ['0102030400000001', '0000000000000000'] } }),
      /struct epoll_event/,
    ],
    [
      'sockaddr_in read back with the address elsewhere',
      (f) => ({
        ...f,
        inet: { bound: [127, 0, 0, 1], len: 16, family: 2, port: 4242, address: [0, 0, 127, 0] },
      }),
      /struct sockaddr_in address/,
    ],
    [
      'sockaddr_in6 of another size',
      (f) => ({
        ...f,
        inet6: {
          bound: [...Array(15).fill(0), 1],
          len: 24,
          family: 10,
          port: 4242,
          address: [...Array(15).fill(0), 1],
        },
      }),
      /struct sockaddr_in6 length/,
    ],
    ['another SOL_SOCKET / SO_TYPE', (f) => ({ ...f, soType: 2 }), /SO_TYPE/],
    ['pollfd revents elsewhere', (f) => ({ ...f, poll: { r: 1, revents: 0 } }), /struct pollfd/],
    ['errno not read back', (f) => ({ ...f, emptyReadErrno: 0 }), /koffi errno/],
    ['rlimit not two 64-bit numbers', (f) => ({ ...f, rlimit: { soft: 1024, hard: 0 } }), /struct rlimit/],
  ];
  for (const [what, adjust, reason] of forced) {
    it(`catches ${what}`, () => {
      const bad = abiMismatches(adjust(facts));
      assert.ok(bad.length >= 1, 'a mismatch');
      for (const b of bad) assert.match(b, reason, 'only what was changed');
    });
  }

  it('a kernel without IPv6 is no mismatch: the engine then leaves IPv6 targets to net/tls', async () => {
    assert.deepEqual(abiMismatches({ ...facts, inet6: 'unavailable' }), []);
    const v4only = engineTransport({ adjustFacts: (f) => ({ ...f, inet6: 'unavailable' }) });
    assert.deepEqual(v4only.status(), { available: true, ipv6: false });
    const t = { address: '::1', port: 1, timeoutMs: 100 };
    const never = () => () => Promise.reject(new Error('overlap'));
    assert.equal(v4only.connectProbe(t, { halfOpen: true }, never), undefined);
    const p4 = v4only.connectProbe({ ...t, address: '127.0.0.1' }, { halfOpen: true }, never);
    assert.ok(p4);
    p4.dispose?.();
  });

  describe('a forced mismatch: the engine is not used, probes run on net/tls', () => {
    let server: Server;
    let port = 0;
    let accepted = 0;
    before(async () => {
      server = createServer((c) => {
        accepted++;
        c.on('error', () => {});
        c.on('data', () => c.end('HTTP/1.0 200 OK\r\n\r\n'));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      port = (server.address() as { port: number }).port;
    });
    after(() => server.close());
    const settle = () => new Promise((r) => setTimeout(r, 50));

    it('status says why; a connect probe is a full handshake (the server accepts it), not half-open', async () => {
      const broken = engineTransport({ adjustFacts: (f) => ({ ...f, soType: 2 }) });
      const status = broken.status();
      assert.equal(status.available, false);
      assert.match(status.why ?? '', /^ABI check: SO_TYPE of a TCP socket/);
      const t = { address: '127.0.0.1', port, timeoutMs: 500 };
      const never = () => () => Promise.reject(new Error('overlap'));
      assert.equal(broken.connectProbe(t, { halfOpen: true }, never), undefined);
      // the real engine: half-open, never accepted
      const fine = engineTransport();
      const half = connectProbe(t, { halfOpen: true }, [fine, netTransport]);
      accepted = 0;
      assert.equal((await half()).ok, true);
      await settle();
      assert.equal(accepted, 0, 'the engine resets after the SYN-ACK: nothing reaches accept()');
      half.dispose?.();
      // the engine whose check failed: the ladder falls back to net, whose connect is a full handshake
      const fellBack = connectProbe(t, { halfOpen: true }, [broken, netTransport]);
      accepted = 0;
      const r = await fellBack();
      assert.deepEqual([r.ok, r.detail], [true, 'connected']);
      await settle();
      assert.equal(accepted, 1, 'net.connect completes the handshake: the server accepts');
      // exchanges too
      const x = exchangeProbe(
        t,
        () => ({
          payload: Buffer.from('GET / HTTP/1.0\r\n\r\n'),
          onData: (chunk, finish) => finish(chunk.toString().startsWith('HTTP/1.0 200'), 'reply'),
          onEnd: (finish) => finish(false, 'closed'),
        }),
        {},
        [broken, netTransport],
      );
      assert.equal((await x()).ok, true);
    });
  });
});
