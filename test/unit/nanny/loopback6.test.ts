/**
 * IPv6 code paths of the probes (the engine's sockaddr_in6 and bind, net's, udp6, DNS server `[addr]:port`), on the
 * loopback ::1 only (no lab, no root).
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { httpProbe } from '../../../src/nanny/probes/http';
import { netTcpConnectProbe } from '../../../src/nanny/probes/netsocket';
import { sendExpectProbe, tcpConnectProbe } from '../../../src/nanny/probes/tcp';
import { udpProbe } from '../../../src/nanny/probes/udp';
import { need } from '../../helpers/need';

describe('nanny probes over IPv6 (loopback ::1)', () => {
  let server: Server;
  let udp: UdpSocket;
  let port = 0;
  let uport = 0;
  before(async function () {
    server = createServer((c) => {
      c.on('error', () => {});
      c.once('data', () => c.end('HTTP/1.0 200 OK\r\nX-Weight: 3\r\n\r\nhi'));
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '::1', () => resolve());
      });
    } catch {
      need(this, 'no IPv6 loopback');
    }
    port = (server.address() as { port: number }).port;
    udp = createSocket('udp6');
    udp.on('message', (m, r) => udp.send(Buffer.concat([Buffer.from('re:'), m]), r.port, r.address));
    await new Promise<void>((r) => udp.bind(0, '::1', () => r()));
    uport = udp.address().port;
  });
  after(() => {
    server?.close();
    udp?.close();
  });

  it('tcp connect (engine and net), from a source address, and refused', async () => {
    const t = { address: '::1', port, timeoutMs: 500 };
    assert.deepEqual(await tcpConnectProbe(t)().then((r) => [r.ok, r.detail]), [true, 'connected']);
    assert.deepEqual(await netTcpConnectProbe(t)().then((r) => [r.ok, r.detail]), [true, 'connected']);
    const src = await tcpConnectProbe({ ...t, sourceAddress: '::1' })();
    assert.equal(src.ok, true);
    const refused = await tcpConnectProbe({ ...t, port: 1 })();
    assert.deepEqual([refused.ok, refused.detail], [false, 'connection refused']);
  });

  it('send/expect and HTTP with the weight header', async () => {
    const t = { address: '::1', port, timeoutMs: 500 };
    const se = await sendExpectProbe(t, {
      send: 'GET / HTTP/1.0\r\n\r\n',
      expect: 'HTTP/1.0 200',
      useRegex: false,
    })();
    assert.equal(se.ok, true, se.detail);
    const h = await httpProbe(t, {
      tls: false,
      path: '/',
      status: [],
      insecure: false,
      weightHeader: 'x-weight',
    })();
    assert.deepEqual([h.ok, h.detail, h.weight], [true, 'HTTP 200', 3]);
  });

  it('udp6 reply', async () => {
    const r = await udpProbe(
      { address: '::1', port: uport, timeoutMs: 500 },
      { send: 'x', expect: 're:x', useRegex: false },
    )();
    assert.equal(r.ok, true, r.detail);
  });
});
