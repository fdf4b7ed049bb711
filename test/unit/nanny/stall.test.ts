/**
 * A stalled event loop must not turn completed probes into timeouts (loopback only, no root needed).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { netTcpConnectProbe } from '../../../src/nanny/probes/netsocket';
import { sendExpectProbe, tcpConnectProbe } from '../../../src/nanny/probes/tcp';

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    /* stall the event loop, as a long GC or CPU starvation would */
  }
}

describe('nanny probes under an event-loop stall', () => {
  let server: Server;
  let port = 0;
  before(async () => {
    server = createServer((c) => {
      c.on('error', () => {});
      c.on('data', () => c.write('HTTP/1.0 200 OK\r\n\r\n'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
  });
  after(() => server.close());

  for (const [name, make] of [
    ['tcp (engine)', () => tcpConnectProbe({ address: '127.0.0.1', port, timeoutMs: 50 })],
    ['tcp (net.connect)', () => netTcpConnectProbe({ address: '127.0.0.1', port, timeoutMs: 50 })],
  ] as const) {
    it(`${name}: a reply that arrived during a 200 ms stall counts, though the 50 ms timer is overdue`, async () => {
      const p = make()();
      busy(200);
      const r = await p;
      assert.deepEqual([r.ok, r.detail], [true, 'connected']);
    });
  }

  it('a timeout whose timer fired during a stall is marked inconclusive', async () => {
    const silent = createServer((c) => c.on('error', () => {}));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const p2 = (silent.address() as { port: number }).port;
    const p = sendExpectProbe(
      { address: '127.0.0.1', port: p2, timeoutMs: 50 },
      { expect: 'X', useRegex: false },
    )();
    busy(300);
    const r = await p;
    silent.close();
    assert.equal(r.ok, false);
    assert.equal(r.inconclusive, true);
    assert.match(r.detail, /timeout after 50 ms \(our event loop \d+ ms late\)/);
  });

  it('a real timeout still times out', async () => {
    const silent = createServer((c) => c.on('error', () => {}));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const p2 = (silent.address() as { port: number }).port;
    const r = await sendExpectProbe(
      { address: '127.0.0.1', port: p2, timeoutMs: 50 },
      { expect: 'X', useRegex: false },
    )();
    silent.close();
    assert.deepEqual([r.ok, r.detail], [false, 'timeout after 50 ms']);
  });
});
