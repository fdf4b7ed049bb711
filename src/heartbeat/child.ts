/**
 * Child-process host for the heartbeat (`heartbeat.worker = process`, the default), as keepalived runs VRRP
 * in a process of its own. A worker thread shares its process's memory map, allocator and V8 platform
 * threads with the daemon's main thread; under probe load and GC pressure a SCHED_RR worker was measured
 * 24–88 ms late (priority inversion on what it shares). A process shares none of that.
 *
 * Started by index.ts with fork() and an IPC channel ('advanced' serialization); the first message is the
 * HostInit, then HostCommands (protocol: host.ts). Dies with the daemon: PR_SET_PDEATHSIG(SIGKILL), and
 * exits when the IPC channel closes, so no orphan keeps sending heartbeats for a dead daemon.
 */
import koffi from 'koffi';
import { readdirSync } from 'node:fs';
import { type HostCommand, type HostInit, runHost } from './host.js';
import { setProcessRealtime } from './sched.js';

/** This process's thread ids. */
const threadIds = (): number[] => readdirSync('/proc/self/task').map(Number);

const PR_SET_PDEATHSIG = 1;
const SIGKILL = 9;
const MCL_CURRENT = 1;
const MCL_FUTURE = 2;
const MCL_ONFAULT = 4;

/** Kill this process when the daemon dies; mlockall when asked. Best effort: reported, never fatal. */
function bindToParent(expectedParent: number, lock: boolean): string[] {
  const notes: string[] = [];
  try {
    const lib = koffi.load('libc.so.6');
    const prctl = lib.func('int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long)');
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) !== 0)
      notes.push(`prctl(PDEATHSIG) errno ${koffi.errno()}`);
    if (lock) {
      const mlockall = lib.func('int mlockall(int)');
      if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) !== 0)
        notes.push(`mlockall errno ${koffi.errno()}`);
      else notes.push('memory locked (mlockall)');
    }
  } catch (err) {
    notes.push(`libc unavailable: ${(err as Error).message}`);
  }
  // The daemon may have died before PDEATHSIG was set.
  if (process.ppid !== expectedParent) process.exit(0);
  return notes;
}

/**
 * Debugging aid (LVS_PULSE_HB_DIAG=FILE): every 5 s append the worst GC pause and event-loop delay of this
 * process to FILE, to tell the heartbeat process's own stalls from the kernel's and the peer's.
 */
function diagnostics(file: string): void {
  const { appendFileSync } = require('node:fs') as typeof import('node:fs');
  const { PerformanceObserver, monitorEventLoopDelay } =
    require('node:perf_hooks') as typeof import('node:perf_hooks');
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  // The time spent inside dgram send() (the sendmsg syscall, and on veth the softirq work it triggers).
  const dgram = require('node:dgram') as typeof import('node:dgram');
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
  // A 1 ms probe timer: on each late wake-up (> 5 ms), how much CPU this process used meanwhile tells
  // running (JS, GC, syscalls) from waiting (not scheduled, blocked).
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

if (process.send && process.env.LVS_PULSE_HB_CHILD) {
  if (process.env.LVS_PULSE_HB_DIAG) diagnostics(process.env.LVS_PULSE_HB_DIAG);
  const send = process.send.bind(process);
  const notes = bindToParent(Number(process.env.LVS_PULSE_HB_CHILD), process.env.LVS_PULSE_HB_MLOCK === '1');
  // Parent gone (or closed the channel): stop at once; the peer takes over after its deadtime.
  process.on('disconnect', () => process.exit(0));
  let handler: ((c: HostCommand) => void) | undefined;
  process.on('message', (m: { init?: HostInit; cmd?: string }) => {
    if (m.init && !handler) {
      const init = m.init;
      runHost(init, {
        post: (e) => {
          if (process.connected) send(e);
        },
        onCommand: (h) => {
          handler = h;
        },
        // The callback runs once everything posted before it is written; then the channel can go.
        close: () => send({ ev: 'bye' }, undefined, undefined, () => process.disconnect()),
      });
      if (init.model.heartbeat.rtPriority > 0)
        notes.push(setProcessRealtime(init.model.heartbeat.rtPriority, threadIds()).detail);
      for (const n of notes)
        send({ ev: 'log', level: 'info', msg: `heartbeat process: ${n}`, fields: { op: 'start' } });
      return;
    }
    if (handler && m.cmd) handler(m as HostCommand);
  });
}
