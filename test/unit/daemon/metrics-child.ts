/**
 * Test helper (test/unit/daemon/metrics-limits.test.ts): a process that serves /metrics as the daemon
 * does and meanwhile "probes" (a TCP connect every 20 ms to a given port) and keeps a 10 ms timer (the
 * heartbeat's stand-in). Run under a low descriptor limit; on each stdin line it prints a JSON report.
 *
 *   node --import tsx metrics-child.ts PROBE_PORT '{"idleTimeoutMs":2000}'
 */
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { buildRegistry, serveMetrics } from '../../../src/daemon/metrics';

const probePort = Number(process.argv[2]);
const limits = JSON.parse(process.argv[3] ?? '{}') as Record<string, number>;
const src = {
  role: () => 'active',
  authenticated: () => true,
  transitions: () => ({}),
  heartbeat: () => ({ sent: 1, received: 1, rejected: {}, peerLastSeenS: {} }),
  realServers: () => [],
  probeDurations: () => [],
  lbApply: () => ({ seconds: [], errors: 0 }),
};

/** Open descriptors; 1e9 when even that cannot be read (EMFILE: the process is at its limit). */
function fds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return 1e9;
  }
}

async function main(): Promise<void> {
  const server = await serveMetrics(buildRegistry(src), '127.0.0.1:0', limits);
  const r = { probesOk: 0, probesFailed: 0, codes: {} as Record<string, number>, maxLateMs: 0, maxFds: 0 };
  setInterval(() => {
    const s = connect(probePort, '127.0.0.1');
    s.on('connect', () => {
      r.probesOk++;
      s.destroy();
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      r.probesFailed++;
      r.codes[e.code ?? '?'] = (r.codes[e.code ?? '?'] ?? 0) + 1;
    });
  }, 20);
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    r.maxLateMs = Math.max(r.maxLateMs, now - last - 10);
    last = now;
    r.maxFds = Math.max(r.maxFds, fds());
  }, 10);
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', () => {
    process.stdout.write(`${JSON.stringify({ ...r, fds: fds() })}\n`);
  });
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`);
}

void main();
