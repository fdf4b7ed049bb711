/**
 * Real-time scheduling for the heartbeat (I/O edge: the kernel scheduler, through the libc bindings of
 * lib/libc.ts), like keepalived's `vrrp_rt_priority`. setThreadRealtime applies to the CALLING THREAD only
 * (gettid + sched_setscheduler); setProcessRealtime to the threads it is given (the heartbeat process's own).
 * The daemon's main thread, with its probes, stays SCHED_OTHER.
 */
import { SCHED_OTHER, SCHED_RR, schedLibc } from '../lib/libc.js';

/** What a scheduling change did, for the log: never thrown, always reported. */
export interface SchedResult {
  ok: boolean;
  /** Thread id the policy was applied to (0 for several or none). */
  tid: number;
  /** What happened, in words (`thread 123 SCHED_RR priority 10`, or the error). */
  detail: string;
}

const outOfRange = (priority: number): SchedResult | undefined =>
  Number.isInteger(priority) && priority >= 1 && priority <= 99
    ? undefined
    : { ok: false, tid: 0, detail: `rt priority ${priority} out of range 1-99` };

/**
 * Puts the calling thread under SCHED_RR at `priority` (1–99). Never throws: returns what happened
 * (EPERM without CAP_SYS_NICE, for instance) so the caller can log it.
 */
export function setThreadRealtime(priority: number): SchedResult {
  const bad = outOfRange(priority);
  if (bad) return bad;
  try {
    const c = schedLibc();
    const tid = c.gettid();
    if (c.sched_setscheduler(tid, SCHED_RR, priority) !== 0)
      return {
        ok: false,
        tid,
        detail: `sched_setscheduler(SCHED_RR, ${priority}): ${c.strerror(c.errno())}`,
      };
    return { ok: true, tid, detail: `thread ${tid} SCHED_RR priority ${priority}` };
  } catch (err) {
    return { ok: false, tid: 0, detail: `real-time scheduling unavailable: ${(err as Error).message}` };
  }
}

/**
 * Puts every thread in `tids` under SCHED_RR at `priority`: for the heartbeat's own process, whose V8
 * helper threads (compiler, platform workers) share locks and the memory map with its main thread. Left at
 * SCHED_OTHER they can be preempted by busy neighbours while holding one, and the real-time main thread
 * waits behind them. Threads created later inherit the policy from their (real-time) creator. Never throws.
 */
export function setProcessRealtime(priority: number, tids: number[]): SchedResult {
  const bad = outOfRange(priority);
  if (bad) return bad;
  try {
    const c = schedLibc();
    const failed: string[] = [];
    for (const tid of tids)
      if (c.sched_setscheduler(tid, SCHED_RR, priority) !== 0)
        failed.push(`${tid}: ${c.strerror(c.errno())}`);
    if (failed.length)
      return { ok: false, tid: 0, detail: `sched_setscheduler failed for ${failed.join(', ')}` };
    return { ok: true, tid: 0, detail: `all ${tids.length} threads SCHED_RR priority ${priority}` };
  } catch (err) {
    return { ok: false, tid: 0, detail: `real-time scheduling unavailable: ${(err as Error).message}` };
  }
}

/** Puts the calling thread back under SCHED_OTHER (tests undo setThreadRealtime with it). */
export function setThreadNormal(): boolean {
  const c = schedLibc();
  return c.sched_setscheduler(c.gettid(), SCHED_OTHER, 0) === 0;
}

/** The calling thread's policy (0 = SCHED_OTHER, 2 = SCHED_RR). Throws when libc cannot be loaded. */
export function threadPolicy(): number {
  const c = schedLibc();
  return c.sched_getscheduler(c.gettid());
}
