/**
 * The probe-socket engine (epoll.ts) on the loopback (no lab, no root): one socket per real server kept
 * between probes, errors that leave it usable, a run started while one is in flight, a banner, dispose.
 * Its segments on the wire and its half-open connects are in the lab (test/lab/nanny/connections.test.ts).
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { epoll, epollSockets, epollTicks } from '../../../src/nanny/probes/epoll';
import type { Exchange, ProbeTarget } from '../../../src/nanny/probes/exchange';
import { sendExpectProbe } from '../../../src/nanny/probes/tcp';
import type { Probe, ProbeResult } from '../../../src/nanny/types';

const never = (): Probe => () => Promise.reject(new Error('fallback used'));
/** The engine's rung of the ladder: a connect probe (half-open or not), an exchange. */
const epollTcpConnectProbe = (t: ProbeTarget, halfOpen: boolean, overlap: () => Probe) =>
  epoll.connectProbe(t, { halfOpen }, overlap);
const epollExchange = (t: ProbeTarget, make: () => Exchange, overlap: () => Probe) =>
  epoll.exchangeProbe(t, make, {}, overlap);

/** A loopback server calling `onConn` for each connection, once it listens. */
async function serve(onConn: (c: Socket) => void): Promise<{ port: number; close(): void }> {
  const s = createServer((c) => {
    c.on('error', () => {});
    onConn(c);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return { port: (s.address() as { port: number }).port, close: () => s.close() };
}

/** An exchange that writes `x` and is up with the first chunk it reads, as its detail. */
const sendX = (): Exchange => ({
  payload: Buffer.from('x'),
  onData: (chunk, finish) => finish(true, chunk.toString()),
  onEnd: (finish) => finish(false, 'closed'),
});

describe('nanny probe-socket engine (loopback)', () => {
  let server: { port: number; close(): void };
  let banner: { port: number; close(): void };
  let port = 0;
  let bannerPort = 0;
  before(async () => {
    server = await serve((c) => c.on('data', (d) => c.write(`echo ${d}`)));
    banner = await serve((c) => c.write('220 ready\r\n'));
    port = server.port;
    bannerPort = banner.port;
  });
  after(() => {
    server.close();
    banner.close();
  });

  it('keeps one socket per probe across runs, refusals included, and dispose closes it', async () => {
    const before = epollSockets();
    const maybe = epollTcpConnectProbe({ address: '127.0.0.1', port, timeoutMs: 500 }, true, never);
    const refused = epollTcpConnectProbe({ address: '127.0.0.1', port: 1, timeoutMs: 500 }, true, never);
    assert.ok(maybe && refused, 'the engine is available on Linux');
    const ok = maybe;
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(pick(await ok()), [true, 'connected']);
      assert.deepEqual(pick(await refused()), [false, 'connection refused']);
    }
    assert.equal(epollSockets(), before + 2);
    ok.dispose!();
    refused.dispose!();
    assert.equal(epollSockets(), before);
    // a disposed probe that runs again opens a socket again
    assert.deepEqual(pick(await ok()), [true, 'connected']);
    ok.dispose!();
  });

  it('a run started while one is in flight goes to the fallback; the next runs on the engine again', async () => {
    let fallbacks = 0;
    const p = epollTcpConnectProbe({ address: '127.0.0.1', port, timeoutMs: 500 }, true, () => {
      fallbacks++;
      return async () => ({ ok: true, detail: 'fallback', ms: 0 });
    })!;
    const [a, b] = await Promise.all([p(), p()]);
    assert.deepEqual(
      [pick(a), pick(b)],
      [
        [true, 'connected'],
        [true, 'fallback'],
      ],
    );
    assert.deepEqual(pick(await p()), [true, 'connected']);
    assert.equal(fallbacks, 1, 'built once');
    p.dispose!();
  });

  it('exchanges: a request and its reply; a banner without a request', async () => {
    const chunks: string[] = [];
    const make = (): Exchange => ({
      payload: Buffer.from('ping'),
      onData: (chunk, finish) => {
        chunks.push(chunk.toString());
        if (chunks.join('').includes('ping')) finish(true, chunks.join(''));
      },
      onEnd: (finish) => finish(false, 'closed'),
    });
    const x = epollExchange({ address: '127.0.0.1', port, timeoutMs: 500 }, make, never)!;
    assert.deepEqual(pick(await x()), [true, 'echo ping']);
    x.dispose!();
    // send/expect without `send`: the ACK goes at once, so the server accepts and speaks (a held ACK
    // would leave the handshake to the 200 ms delayed-ACK timer: past this timeout)
    const se = sendExpectProbe(
      { address: '127.0.0.1', port: bannerPort, timeoutMs: 150 },
      { expect: '220', useRegex: false },
    );
    const r = await se();
    assert.equal(r.ok, true, r.detail);
    se.dispose?.();
  });

  it('a timeout, twice on the same kept socket: down with the reason each time', async () => {
    const hang = await serve(() => {});
    const p = epollExchange({ address: '127.0.0.1', port: hang.port, timeoutMs: 60 }, sendX, never)!;
    for (let i = 0; i < 2; i++) assert.deepEqual(pick(await p()), [false, 'timeout after 60 ms']);
    p.dispose!();
    hang.close();
  });

  it('a timeout, then a reply, on the same kept socket: the reset of the first leaves no error for the second', async () => {
    let n = 0;
    const moody = await serve((c) => {
      const first = n++ === 0;
      c.on('data', () => {
        if (!first) c.write('ok');
      });
    });
    const p = epollExchange({ address: '127.0.0.1', port: moody.port, timeoutMs: 80 }, sendX, never)!;
    assert.deepEqual(pick(await p()), [false, 'timeout after 80 ms']);
    const held = epollSockets();
    for (let i = 0; i < 3; i++) assert.deepEqual(pick(await p()), [true, 'ok']);
    assert.equal(epollSockets(), held, 'the same socket throughout');
    p.dispose!();
    moody.close();
  });

  it('a slow reply is waited for, not polled for: a handful of polls in 300 ms, and the verdict at once', async () => {
    const slow = await serve((c) => c.on('data', () => setTimeout(() => c.write('late'), 300)));
    const p = epollExchange({ address: '127.0.0.1', port: slow.port, timeoutMs: 2000 }, sendX, never)!;
    const before = epollTicks();
    const r = await p();
    const polls = epollTicks() - before;
    p.dispose!();
    slow.close();
    assert.deepEqual(pick(r), [true, 'late']);
    assert.ok(r.ms >= 290 && r.ms < 1000, `${r.ms} ms`);
    // a poll every millisecond would be ~300, backing off to 16 ms ~25; woken by the kernel: a few
    assert.ok(polls <= 8, `${polls} polls`);
  });

  it('disposing the last probe in flight leaves nothing to keep the process alive', async () => {
    const hang = await serve(() => {});
    const p = epollExchange({ address: '127.0.0.1', port: hang.port, timeoutMs: 60000 }, sendX, never)!;
    const run = p();
    await new Promise((r) => setTimeout(r, 100)); // quiet: the engine waits on its set
    const active = () =>
      (process as unknown as { getActiveResourcesInfo(): string[] }).getActiveResourcesInfo();
    const timersBefore = active().filter((x) => x === 'Timeout').length;
    p.dispose!();
    // at once, not when the reset's own wakeup comes back: the deadline timer (60 s away) is gone
    const timersAfter = active().filter((x) => x === 'Timeout').length;
    assert.deepEqual(pick(await run), [false, 'probe disposed']);
    hang.close();
    assert.equal(timersAfter, timersBefore - 1);
  });

  it('a scoped IPv6 address, TLS and keep-alive are left to the next rung (net/tls)', () => {
    assert.equal(
      epollTcpConnectProbe({ address: 'fe80::1%lo', port: 80, timeoutMs: 100 }, true, never),
      undefined,
    );
    const t = { address: '127.0.0.1', port: 80, timeoutMs: 100 };
    assert.equal(epoll.exchangeProbe(t, sendX, { tls: { rejectUnauthorized: true } }, never), undefined);
    assert.equal(epoll.exchangeProbe(t, sendX, { keepAlive: true }, never), undefined);
  });
});

function pick(r: ProbeResult): [boolean, string] {
  return [r.ok, r.detail];
}
