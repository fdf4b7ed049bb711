/**
 * `npm run soak`: stability under stress. The pulse pair runs on the lab with a bulk virtual server of many
 * real servers probed by the daemons, both cores saturated by busy processes, and garbage-collection pressure
 * in the daemons' main threads. Counts false failovers (any role change after the pair settled, or a second
 * without exactly one active) and reports the worst keepalive lateness each daemon saw.
 *
 * Options: --minutes 10  --probes 1000  --busy 4  --gc 20 (MB/s)  --profile default|fast
 * Writes bench/results/soak-<profile>-<date>.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { LabPair, ROOT } from '../src/lab/pair';

export const PROFILES: Record<string, string[]> = {
  default: [],
  fast: ['keepalive = 0.005', 'deadtime = 0.015'],
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const o = new Command('soak')
    .option('--minutes <n>', 'duration', '10')
    .option('--probes <n>', 'bulk real servers probed by each daemon', '1000')
    .option('--busy <n>', 'busy-loop processes saturating the CPUs', String(cpus().length * 2))
    .option('--gc <mbs>', 'garbage generated in each daemon main thread, MB/s', '20')
    .option('--profile <name>', 'default | fast', 'default')
    .option('--extra <lines>', 'extra lvs.cf global lines, ";"-separated', '')
    .parse()
    .opts<{ minutes: string; probes: string; busy: string; gc: string; profile: string; extra: string }>();
  const globals = [...(PROFILES[o.profile] ?? []), ...o.extra.split(';').filter(Boolean)];
  const pair = await LabPair.create({
    prefix: 'sk',
    globals,
    bulk: Number(o.probes),
    env: { LVS_PULSE_DEBUG_GC_PRESSURE: o.gc },
  });
  const stop = async (code: number) => {
    await pair.destroy();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(130));
  try {
    await pair.waitRole('r1', 'active', 30000);
    await pair.waitRole('r2', 'standby', 30000);
    // Let every first probe land before counting.
    await sleep(5000);
    const base = {
      r1: (await pair.status('r1')).transitions.length,
      r2: (await pair.status('r2')).transitions.length,
    };
    for (let i = 0; i < Number(o.busy); i++)
      pair.lab.spawn(i % 2 ? 'r1' : 'r2', process.execPath, ['-e', 'for(;;){}']);
    const t0 = Date.now();
    const endAt = t0 + Number(o.minutes) * 60000;
    let badSeconds = 0;
    let samples = 0;
    while (Date.now() < endAt) {
      await sleep(1000);
      const roles = [await pair.role('r1'), await pair.role('r2')];
      samples++;
      if (roles.filter((r) => r === 'active').length !== 1) badSeconds++;
      if (samples % 30 === 0)
        process.stdout.write(
          `${Math.round((Date.now() - t0) / 1000)} s: roles ${roles.join('/')}, bad seconds ${badSeconds}\n`,
        );
    }
    const s1 = await pair.status('r1');
    const s2 = await pair.status('r2');
    const falseFailovers = s1.transitions.length - base.r1 + (s2.transitions.length - base.r2);
    const up =
      s1.virtual_servers.find((v) => v.name === 'bulk')?.real_servers.filter((r) => r.state === 'up')
        .length ?? 0;
    const md = [
      `# Soak, profile ${o.profile}, ${new Date().toISOString()}`,
      '',
      `Machine: ${cpus().length} × ${cpus()[0]?.model}. Settings: ${globals.join(', ') || 'shipped defaults'}.`,
      `Load: ${o.busy} busy-loop processes, ${o.probes} real servers probed by each daemon, ${o.gc} MB/s of garbage in each daemon's main thread.`,
      '',
      '| figure | value |',
      '|---|---|',
      `| duration | ${o.minutes} min |`,
      `| false failovers (role changes after settling, both routers) | ${falseFailovers} |`,
      `| seconds without exactly one active (of ${samples}) | ${badSeconds} |`,
      `| worst keepalive lateness, r1 (active) | ${s1.heartbeat.keepalive_late_max_ms} ms |`,
      `| worst keepalive lateness, r2 (standby) | ${s2.heartbeat.keepalive_late_max_ms} ms |`,
      `| bulk real servers up at the end (r1) | ${up} of ${o.probes} |`,
      `| heartbeats accepted by r2 | ${s2.heartbeat.received} |`,
      '',
      'Transitions after settling:',
      '',
      ...[...s1.transitions.slice(base.r1), ...s2.transitions.slice(base.r2)].map(
        (t) => `- ${t.at} ${t.from} → ${t.to}: ${t.evidence}`,
      ),
      '',
    ].join('\n');
    process.stdout.write(`\n${md}`);
    const dir = join(ROOT, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `soak-${o.profile}-${new Date().toISOString().slice(0, 10)}.md`), md);
    await stop(falseFailovers === 0 && badSeconds === 0 ? 0 : 1);
  } catch (err) {
    process.stderr.write(`soak failed: ${(err as Error).stack}\n`);
    await stop(1);
  }
}

void main();
