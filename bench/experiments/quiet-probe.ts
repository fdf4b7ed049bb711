/**
 * Experiment: what a probe left in flight costs an otherwise idle process (a hung real server: one
 * send/expect probe at a time, each waiting for its 1 s timeout, back to back, for 10 s), on the engine
 * and on net/tls sockets (libuv's handles). Loopback only. Measures the process's CPU after three warm-up probes.
 *
 *   npx tsx bench/experiments/quiet-probe.ts                               # the engine
 *   LVS_PULSE_NANNY_NO_EPOLL=1 npx tsx bench/experiments/quiet-probe.ts    # net/tls sockets
 */
import { createServer } from 'node:net';
import { epollTicks } from '../../src/nanny/probes/epoll';
import { sendExpectProbe } from '../../src/nanny/probes/tcp';

const hung = createServer((c) => c.on('error', () => {}));
hung.listen(0, '127.0.0.1', async () => {
  const port = (hung.address() as { port: number }).port;
  const p = sendExpectProbe(
    { address: '127.0.0.1', port, timeoutMs: 1000 },
    { send: 'x', expect: 'y', useRegex: false },
  );
  for (let i = 0; i < 3; i++) await p();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const k0 = epollTicks();
  let n = 0;
  while (performance.now() - t0 < 10000) {
    await p();
    n++;
  }
  const c = process.cpuUsage(c0);
  const el = performance.now() - t0;
  const path = process.env['LVS_PULSE_NANNY_NO_EPOLL'] ? 'net/tls sockets' : 'engine';
  console.log(
    `${path}: ${n} probes in flight back to back for ${(el / 1000).toFixed(1)} s: CPU ${((100 * (c.user + c.system)) / 1000 / el).toFixed(2)} % of a core ` +
      `(user ${(c.user / 1000).toFixed(0)} ms, sys ${(c.system / 1000).toFixed(0)} ms); engine polls ${epollTicks() - k0}`,
  );
  hung.close();
  process.exit(0);
});
