/**
 * Issue 17 item 10: idle connections to the metrics endpoint cannot exhaust the root daemon's
 * descriptors. A process serving /metrics under a descriptor limit of 400 (prlimit) keeps probing and
 * keeps its timer while 2,000 idle connections are opened to it: the server holds at most its limit of
 * them, closes the idle ones, and a scrape works again afterwards.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { METRICS_LIMITS } from '../../../src/daemon/metrics';
import { need } from '../../helpers/need';

const CHILD = join(__dirname, 'metrics-child.ts');

function lines(c: ChildProcess): () => Promise<string> {
  let buf = '';
  const waiting: ((l: string) => void)[] = [];
  const queue: string[] = [];
  c.stdout!.setEncoding('utf8');
  c.stdout!.on('data', (d: string) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const w = waiting.shift();
      if (w) w(l);
      else queue.push(l);
    }
  });
  return () => {
    const q = queue.shift();
    return q !== undefined ? Promise.resolve(q) : new Promise((r) => waiting.push(r));
  };
}

describe('metrics endpoint limits (2,000 idle connections)', function () {
  this.timeout(60_000);
  let target: Server;
  let child: ChildProcess | undefined;
  const held: Socket[] = [];

  before(function () {
    need(this, existsSync('/usr/bin/prlimit') ? undefined : 'prlimit (util-linux) not installed');
  });
  afterEach(async () => {
    for (const s of held) s.destroy();
    held.length = 0;
    child?.kill('SIGKILL');
    child = undefined;
    await new Promise<void>((r) => (target ? target.close(() => r()) : r()));
  });

  it('probes and timers go on, descriptors stay bounded, idle connections are closed, scrapes work after', async () => {
    target = createServer((s) => s.destroy());
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', () => r()));
    const probePort = (target.address() as { port: number }).port;
    // Short timeouts so the test does not wait the production ones out (those are in METRICS_LIMITS).
    const limits = {
      headersTimeoutMs: 1500,
      requestTimeoutMs: 1500,
      idleTimeoutMs: 2500,
      checkIntervalMs: 250,
    };
    child = spawn(
      'prlimit',
      [
        '--nofile=400:400',
        process.execPath,
        '--import',
        'tsx',
        CHILD,
        String(probePort),
        JSON.stringify(limits),
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const next = lines(child);
    const { port } = JSON.parse(await next()) as { port: number };
    const report = async () => {
      child!.stdin!.write('r\n');
      return JSON.parse(await next()) as {
        probesOk: number;
        probesFailed: number;
        codes: Record<string, number>;
        maxLateMs: number;
        maxFds: number;
        fds: number;
      };
    };
    await new Promise((r) => setTimeout(r, 300));
    const before = await report();

    // 2,000 idle connections, opened as fast as the server takes them; none sends a byte.
    let closedByServer = 0;
    await Promise.all(
      Array.from(
        { length: 2000 },
        () =>
          new Promise<void>((resolve) => {
            const s = connect(port, '127.0.0.1', () => resolve());
            s.on('error', () => resolve());
            s.on('close', () => {
              closedByServer++;
              resolve();
            });
            held.push(s);
          }),
      ),
    );
    await new Promise((r) => setTimeout(r, 1000));
    const during = await report();
    assert.equal(during.probesFailed, 0, `probes failed: ${JSON.stringify(during.codes)}`);
    assert.ok(during.probesOk > before.probesOk + 20, 'probes kept running');
    assert.ok(
      during.maxFds <= before.fds + METRICS_LIMITS.maxConnections + 20,
      `descriptors rose from ${before.fds} to ${during.maxFds}`,
    );
    assert.ok(closedByServer >= 2000 - METRICS_LIMITS.maxConnections - 5, `${closedByServer} closed at once`);
    assert.ok(during.maxLateMs < 500, `timer ${Math.round(during.maxLateMs)} ms late`);

    // The idle ones still open are closed by the server within its idle timeout; then a scrape works.
    const t0 = performance.now();
    while (closedByServer < 2000 && performance.now() - t0 < 6000)
      await new Promise((r) => setTimeout(r, 100));
    assert.equal(closedByServer, 2000, 'every idle connection was closed by the server');
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /lvs_pulse_role\{role="active"\} 1/);
    const after = await report();
    assert.equal(after.probesFailed, 0, `probes failed: ${JSON.stringify(after.codes)}`);
  });
});
