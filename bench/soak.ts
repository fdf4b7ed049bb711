/**
 * `npm run soak`: stability under stress. The pulse pair runs on the lab with a bulk virtual server of many
 * real servers probed by the daemons, both cores saturated by busy processes, and garbage-collection pressure
 * in the daemons' main threads. Counts false failovers and reports the worst heartbeat gaps.
 *
 * What is counted, independently of the daemons' (busy) main threads:
 * - false failovers: every `heartbeat: X -> Y` transition either daemon logs after the pair settled;
 * - seconds without exactly one holder of the VIP (`ip addr` read in each router namespace once a second);
 * - the worst gap between heartbeats from the active arriving at the standby, on the wire (tcpdump in r2's
 *   namespace, kernel timestamps, both paths merged: the gap a standby can see if it itself never stalls),
 *   and how many gaps exceeded half the deadtime and the deadtime;
 * - each daemon's own worst keepalive lateness (status JSON, read at the end with a long timeout).
 *
 * Options: --minutes 10  --probes 1000  --busy 4  --gc 20 (MB/s)  --profile default|fast
 *          --extra 'line;line' (more lvs.cf global lines)  --tag T (file name suffix)
 *          --hb-diag FILE (the heartbeat processes' stall diagnostics, bench/hb-diag.ts)
 * Writes bench/results/soak-<profile>[-tag]-<date>.md; exit status 0 only with zero false failovers.
 */
import { hbDiagEnv } from './hb-diag';
import { writeResult } from './report';
import type { ChildProcess } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { Command } from 'commander';
import { DEADTIME_MS } from '../src/config/defaults';
import { request } from '../src/daemon/control';
import type { StatusJson } from '../src/daemon/status';
import { LabPair, type RouterName } from '../lab/pair';
import { LAB_NET } from '../lab/topology';

/** lvs.cf global lines per profile. `fast` is docs/fast-profile.md. */
export const PROFILES: Record<string, string[]> = {
  default: [],
  fast: ['keepalive = 0.002', 'deadtime = 0.012'],
  'fast-2-8': ['keepalive = 0.002', 'deadtime = 0.008'],
  'fast-5-15': ['keepalive = 0.005', 'deadtime = 0.015'],
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Status with a long timeout and retries: the main thread is deliberately overloaded here. */
async function statusOf(pair: LabPair, r: RouterName): Promise<StatusJson | undefined> {
  for (let i = 0; i < 3; i++) {
    try {
      const rep = await request(pair.routers[r].runDir, 'status', undefined, 20000);
      if (rep.ok) return rep.result as StatusJson;
    } catch {
      /* retry */
    }
  }
  return undefined;
}

/** Heartbeat arrival gaps at the standby, from tcpdump's kernel timestamps (both paths merged). */
function gapWatch(pair: LabPair, deadtimeMs: number) {
  const filter = `udp port 539 and (src host ${LAB_NET.routers.r1.public} or src host ${LAB_NET.routers.r1.private})`;
  const procs: ChildProcess[] = [];
  const st = { last: 0, maxMs: 0, maxAt: '', overHalf: 0, overDead: 0, packets: 0 };
  const arrivals: number[] = [];
  for (const ifname of ['eth0', 'eth1']) {
    const p = pair.lab.spawn('r2', 'tcpdump', ['-i', ifname, '-n', '-l', '-tt', '-p', '-Q', 'in', filter]);
    let buf = '';
    p.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) {
        const t = Number(l.slice(0, l.indexOf(' '))) * 1000;
        if (Number.isFinite(t)) arrivals.push(t);
      }
    });
    procs.push(p);
  }
  // Merge the two streams in order, a second behind (each stream is ordered; their interleaving is not).
  const merge = (upTo: number) => {
    arrivals.sort((a, b) => a - b);
    let i = 0;
    for (; i < arrivals.length && arrivals[i]! <= upTo; i++) {
      const t = arrivals[i]!;
      st.packets++;
      if (st.last) {
        const g = t - st.last;
        if (g > st.maxMs) {
          st.maxMs = g;
          st.maxAt = new Date(t).toISOString();
        }
        if (g > deadtimeMs / 2) st.overHalf++;
        if (g >= deadtimeMs) st.overDead++;
      }
      st.last = t;
    }
    arrivals.splice(0, i);
  };
  const timer = setInterval(() => merge(Date.now() - 1000), 500);
  return {
    stats: st,
    stop: () => {
      clearInterval(timer);
      merge(Number.POSITIVE_INFINITY);
      for (const p of procs) if (p.pid) process.kill(-p.pid, 'SIGKILL');
    },
  };
}

async function main(): Promise<void> {
  const o = new Command('soak')
    .option('--minutes <n>', 'duration', '10')
    .option('--probes <n>', 'bulk real servers probed by each daemon', '1000')
    .option('--busy <n>', 'busy-loop processes saturating the CPUs', String(cpus().length * 2))
    .option('--gc <mbs>', 'garbage generated in each daemon main thread, MB/s', '20')
    .option('--profile <name>', 'default | fast', 'default')
    .option('--extra <lines>', 'extra lvs.cf global lines, ";"-separated', '')
    .option('--tag <t>', 'suffix for the result file name', '')
    .option(
      '--hb-diag <file>',
      "append the heartbeat processes' stall diagnostics to FILE (bench/hb-diag.ts)",
    )
    .parse()
    .opts<{
      minutes: string;
      probes: string;
      busy: string;
      gc: string;
      profile: string;
      extra: string;
      tag: string;
      hbDiag?: string;
    }>();
  const globals = [
    ...(PROFILES[o.profile] ?? []),
    ...o.extra
      .split(';')
      .map((l) => l.trim())
      .filter(Boolean),
  ];
  const load0 = loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  const started = new Date();
  const pair = await LabPair.create({
    prefix: 'sk',
    globals,
    bulk: Number(o.probes),
    env: { LVS_PULSE_DEBUG_GC_PRESSURE: o.gc, ...(o.hbDiag ? hbDiagEnv(o.hbDiag) : {}) },
  });
  const stop = async (code: number) => {
    await pair.destroy();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(130));
  try {
    await pair.waitRole('r1', 'active', 60000);
    await pair.waitRole('r2', 'standby', 60000);
    // Let every first probe land before counting.
    await sleep(5000);
    // Transitions from here on are false failovers (nobody crashed, nobody asked).
    const transitions: string[] = [];
    for (const r of ['r1', 'r2'] as const) {
      let buf = '';
      const onData = (c: Buffer) => {
        buf += c.toString();
        const lines = buf.split('\n');
        buf = lines.pop() ?? '';
        for (const l of lines)
          if (/heartbeat: \w+ -> \w+:/.test(l)) {
            transitions.push(`${r}: ${l.slice(0, 300)}`);
            if (transitions.length <= 30) process.stdout.write(`TRANSITION ${r}: ${l.slice(0, 300)}\n`);
          }
      };
      pair.routers[r].proc!.stdout!.on('data', onData);
      pair.routers[r].proc!.stderr!.on('data', onData);
    }
    const dtLine = globals.filter((l) => /^deadtime\s*=/.test(l)).pop();
    const dead = dtLine ? Number(dtLine.split('=')[1]) * 1000 : DEADTIME_MS;
    const gaps = gapWatch(pair, dead);
    for (let i = 0; i < Number(o.busy); i++)
      pair.lab.spawn(i % 2 ? 'r1' : 'r2', process.execPath, ['-e', 'for(;;){}']);
    const t0 = Date.now();
    const endAt = t0 + Number(o.minutes) * 60000;
    let badSeconds = 0;
    let samples = 0;
    while (Date.now() < endAt) {
      await sleep(1000);
      const holders = await pair.holders();
      samples++;
      if (holders.length !== 1) badSeconds++;
      if (samples % 30 === 0)
        process.stdout.write(
          `${Math.round((Date.now() - t0) / 1000)} s: VIP on ${holders.join('+') || 'nobody'}, false failovers ${transitions.length}, bad seconds ${badSeconds}, worst wire gap ${gaps.stats.maxMs.toFixed(1)} ms, load ${loadavg()[0]!.toFixed(1)}\n`,
        );
    }
    gaps.stop();
    const load1 = loadavg()
      .map((x) => x.toFixed(2))
      .join(' ');
    const s1 = await statusOf(pair, 'r1');
    const s2 = await statusOf(pair, 'r2');
    const falseFailovers = transitions.length;
    const up =
      s1?.virtual_servers.find((v) => v.name === 'bulk')?.real_servers.filter((r) => r.state === 'up')
        .length ?? '?';
    const g = gaps.stats;
    const md = [
      `# Soak, profile ${o.profile}${o.tag ? ` (${o.tag})` : ''}, ${started.toISOString()}`,
      '',
      `Machine: ${cpus().length} × ${cpus()[0]?.model}, shared with other work (load average ${load0} before, ${load1} at the end, including ours). Settings: ${globals.join(', ') || 'shipped defaults'} (heartbeat process + SCHED_RR 10 are the shipped defaults unless overridden here).`,
      `Load: ${o.busy} busy-loop processes (half in each router namespace; the namespaces share the machine's ${cpus().length} cores), ${o.probes} real servers probed by each daemon, ${o.gc} MB/s of garbage in each daemon's main thread.`,
      '',
      '| figure | value |',
      '|---|---|',
      `| duration under load | ${o.minutes} min |`,
      `| **false failovers** (transitions logged by either daemon after settling) | **${falseFailovers}** |`,
      `| seconds without exactly one VIP holder (of ${samples}) | ${badSeconds} |`,
      `| worst heartbeat gap on the wire at the standby (both paths merged) | ${g.maxMs.toFixed(1)} ms (at ${g.maxAt || '-'}) |`,
      `| gaps > deadtime/2 (${dead / 2} ms) / ≥ deadtime (${dead} ms), of ${g.packets} packets | ${g.overHalf} / ${g.overDead} |`,
      `| worst keepalive lateness, r1 (active), own timer | ${s1?.heartbeat.keepalive_late_max_ms ?? '?'} ms |`,
      `| worst keepalive lateness, r2 (standby), own timer | ${s2?.heartbeat.keepalive_late_max_ms ?? '?'} ms |`,
      `| silences excused by a stall of the standby's own (r2) | ${s2?.heartbeat.own_stalls_excused ?? '?'} |`,
      `| bulk real servers up at the end (r1) | ${up} of ${o.probes} |`,
      `| heartbeats accepted by r2 | ${s2?.heartbeat.received ?? '?'} |`,
      '',
      'Transitions after settling:',
      '',
      ...(transitions.length ? transitions.slice(0, 30).map((t) => `- ${t}`) : ['- none']),
      ...(transitions.length > 30 ? [`- … and ${transitions.length - 30} more`] : []),
      '',
    ].join('\n');
    process.stdout.write(`\n${md}`);
    const file = writeResult(
      `soak-${o.profile}${o.tag ? `-${o.tag}` : ''}-${started.toISOString().slice(0, 16).replace(':', '')}.md`,
      md,
    );
    process.stdout.write(`\nwritten: ${file}\n`);
    await stop(falseFailovers === 0 && badSeconds === 0 ? 0 : 1);
  } catch (err) {
    process.stderr.write(`soak failed: ${(err as Error).stack}\n`);
    await stop(1);
  }
}

void main();
