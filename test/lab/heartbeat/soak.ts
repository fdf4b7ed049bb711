/**
 * Stability measurement (root): a heartbeat pair in the lab at several keepalive/deadtime settings, idle and
 * with busy loops saturating the cores; counts false failovers (any transition after the pair settled).
 *
 *   node --import tsx test/lab/heartbeat/soak.ts [seconds=10] [settings=20/100,5/15,2/6,1/3] [busy=2] [rt=0]
 *     [mainThreadBusyMs/everyMs] [process|off] [heartbeatRtPriority]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keygen } from '../../../src/heartbeat/keys';
import { buildLvsLab, LAB_NET } from '../../../lab/topology';
import { HbRunner } from './runner';

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 10);
  const settings = (process.argv[3] ?? '20/100,5/15,2/6,1/3').split(',').map((s) => s.split('/').map(Number));
  const busy = Number(process.argv[4] ?? 2);
  const rt = Number(process.argv[5] ?? 0);
  // Optional main-thread load in the runners ("busyMs/everyMs") and where the engine runs ("process").
  const mainLoad = process.argv[6] ? process.argv[6].split('/').map(Number) : undefined;
  const isolation = process.argv[7] === 'process' ? 'process' : 'off';
  // SCHED_RR of the heartbeat (heartbeat.rtPriority), unlike `rt` (chrt on the whole runner).
  const threadRt = Number(process.argv[8] ?? 0);
  const dir = mkdtempSync(join(tmpdir(), 'lph-soak-'));
  const keyFile = join(dir, 'k');
  keygen(keyFile);
  const L = await buildLvsLab({ prefix: 'lph', realServers: 0 });
  const R = LAB_NET.routers;
  try {
    for (const [keepaliveMs, deadtimeMs] of settings) {
      for (const load of [0, busy]) {
        const cfg = (node: string) => ({
          node,
          primary: { address: R.r1.public, privateAddress: R.r1.private },
          backup: { address: R.r2.public, privateAddress: R.r2.private },
          keyFile,
          keepaliveMs,
          deadtimeMs,
          isolation,
          rtPriority: threadRt,
          ...(mainLoad ? { mainThreadLoad: { busyMs: mainLoad[0], everyMs: mainLoad[1] } } : {}),
        });
        const a = await HbRunner.start(L.lab, 'r1', cfg('primary'), rt);
        await a.waitFor((e) => e.to === 'active', 3000);
        const b = await HbRunner.start(L.lab, 'r2', cfg('backup'), rt);
        await b.waitFor((e) => e.to === 'standby', 3000);
        const hogs = Array.from({ length: load }, (_, i) =>
          L.lab.spawn(i % 2 ? 'r1' : 'r2', process.execPath, ['-e', 'for(;;){}']),
        );
        const n0 = a.transitions().length + b.transitions().length;
        await new Promise((r) => setTimeout(r, seconds * 1000));
        for (const h of hogs) if (h.pid) process.kill(-h.pid, 'SIGKILL');
        const sa = await a.status();
        const sb = await b.status();
        const n1 = a.transitions().length + b.transitions().length;
        const rate = (s: typeof sa) => (s.counters as { accepted: number }).accepted / seconds;
        console.log(
          JSON.stringify({
            keepaliveMs,
            deadtimeMs,
            busyLoops: load,
            schedRr: rt,
            mainThreadLoad: mainLoad?.join('/') ?? 'none',
            isolation,
            threadRt,
            seconds,
            falseTransitions: n1 - n0,
            transitions: [...a.transitions(), ...b.transitions()]
              .slice(2)
              .slice(0, 6)
              .map((t) => `${t.from}->${t.to} ${t.evidence}`),
            acceptedPerSecond: [rate(sa), rate(sb)],
            keepaliveLateMaxMs: [sa, sb].map(
              (s) => (s.counters as { keepaliveLateMaxMs: number }).keepaliveLateMaxMs,
            ),
          }),
        );
        await a.exit();
        await b.exit();
      }
    }
  } finally {
    await L.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
