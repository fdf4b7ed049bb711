/**
 * Measurement aid, not shipped: stall diagnostics of the heartbeat process, loaded into it by NODE_OPTIONS
 * (`npm run soak -- --hb-diag FILE` sets it up; see {@link hbDiagEnv}). Every 5 s it appends to FILE the
 * heartbeat process's worst GC pause, event-loop delay and time spent inside dgram send(), and up to five
 * late wake-ups of a 1 ms probe timer with the CPU time, context switches and page faults of each: running
 * (JS, GC, syscalls) tells itself apart from waiting (not scheduled, blocked).
 *
 * The daemon inherits the same NODE_OPTIONS and loads this too; it does nothing there (only the heartbeat
 * process has LVS_PULSE_HB_CHILD set).
 */
import dgram from 'node:dgram';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

/** The environment that makes the pulse daemons' heartbeat processes write diagnostics to `file`. */
export function hbDiagEnv(file: string): NodeJS.ProcessEnv {
  // --require (synchronous, CommonJS) rather than --import: Node 20 registers tsx's ESM hooks off-thread,
  // too late for a second --import of a .ts file in the same NODE_OPTIONS.
  const preload = [require.resolve('tsx/cjs'), join(__dirname, 'hb-diag.ts')];
  return {
    LVS_PULSE_HB_DIAG: file,
    NODE_OPTIONS: [process.env.NODE_OPTIONS, ...preload.map((p) => `--require ${p}`)]
      .filter(Boolean)
      .join(' '),
  };
}

function diagnostics(file: string): void {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  // The time spent inside dgram send() (the sendmsg syscall, and on veth the softirq work it triggers).
  const origSend = dgram.Socket.prototype.send;
  let sendMax = 0;
  dgram.Socket.prototype.send = function (this: unknown, ...args: unknown[]) {
    const t0 = performance.now();
    try {
      return (origSend as (...a: unknown[]) => void).apply(this, args);
    } finally {
      const d = performance.now() - t0;
      if (d > sendMax) sendMax = d;
    }
  } as typeof origSend;
  let stalls: string[] = [];
  let lastT = performance.now();
  let lastCpu = process.cpuUsage();
  let lastSw = process.resourceUsage();
  setInterval(() => {
    const t = performance.now();
    const gap = t - lastT;
    if (gap > 5 && stalls.length < 5) {
      const cpu = process.cpuUsage(lastCpu);
      const ru = process.resourceUsage();
      stalls.push(
        `${gap.toFixed(1)}ms(cpu ${((cpu.user + cpu.system) / 1000).toFixed(1)} vcsw ${ru.voluntaryContextSwitches - lastSw.voluntaryContextSwitches} ivcsw ${ru.involuntaryContextSwitches - lastSw.involuntaryContextSwitches} minflt ${ru.minorPageFault - lastSw.minorPageFault})`,
      );
    }
    lastT = t;
    lastCpu = process.cpuUsage();
    lastSw = process.resourceUsage();
  }, 1).unref();
  let gcMax = 0;
  let gcKind = 0;
  new PerformanceObserver((l) => {
    for (const e of l.getEntries())
      if (e.duration > gcMax) {
        gcMax = e.duration;
        gcKind = (e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0;
      }
  }).observe({ entryTypes: ['gc'] });
  setInterval(() => {
    const rss = Math.round(process.memoryUsage.rss() / 1e6);
    appendFileSync(
      file,
      `${new Date().toISOString()} pid=${process.pid} gcMaxMs=${gcMax.toFixed(2)} gcKind=${gcKind} loopMaxMs=${(loop.max / 1e6).toFixed(2)} loopP99Ms=${(loop.percentile(99) / 1e6).toFixed(2)} sendMaxMs=${sendMax.toFixed(2)} rssMB=${rss} stalls=${stalls.join(',')}\n`,
    );
    gcMax = 0;
    sendMax = 0;
    stalls = [];
    loop.reset();
  }, 5000).unref();
}

if (process.env.LVS_PULSE_HB_CHILD && process.env.LVS_PULSE_HB_DIAG)
  diagnostics(process.env.LVS_PULSE_HB_DIAG);
