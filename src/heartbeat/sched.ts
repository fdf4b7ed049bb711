/**
 * Real-time scheduling for the heartbeat thread (I/O edge: the kernel scheduler through libc via koffi),
 * like keepalived's `vrrp_rt_priority`. Applies to the CALLING THREAD only (gettid + sched_setscheduler),
 * so in worker mode only the heartbeat's worker thread becomes SCHED_RR, never the main thread's probes.
 */
import koffi from 'koffi';

const SCHED_RR = 2;

interface Libc {
  gettid: () => number;
  sched_setscheduler: (pid: number, policy: number, param: { sched_priority: number }) => number;
  sched_getscheduler: (pid: number) => number;
  strerror: (errnum: number) => string;
}

let libc: Libc | undefined;
function load(): Libc {
  if (libc) return libc;
  const lib = koffi.load('libc.so.6');
  const SchedParam = koffi.struct('lvs_pulse_sched_param', { sched_priority: 'int' });
  libc = {
    gettid: lib.func('int gettid()'),
    sched_setscheduler: lib.func(
      'int sched_setscheduler(int pid, int policy, const lvs_pulse_sched_param *param)',
    ),
    sched_getscheduler: lib.func('int sched_getscheduler(int pid)'),
    strerror: lib.func('const char *strerror(int errnum)'),
  };
  void SchedParam;
  return libc;
}

export interface SchedResult {
  ok: boolean;
  /** Thread id the policy was applied to. */
  tid: number;
  detail: string;
}

/**
 * Puts the calling thread under SCHED_RR at `priority` (1–99). Never throws: returns what happened
 * (EPERM without CAP_SYS_NICE, for instance) so the caller can log it.
 */
export function setThreadRealtime(priority: number): SchedResult {
  if (!Number.isInteger(priority) || priority < 1 || priority > 99)
    return { ok: false, tid: 0, detail: `rt priority ${priority} out of range 1-99` };
  try {
    const c = load();
    const tid = c.gettid();
    if (c.sched_setscheduler(tid, SCHED_RR, { sched_priority: priority }) !== 0) {
      const e = koffi.errno();
      return { ok: false, tid, detail: `sched_setscheduler(SCHED_RR, ${priority}): ${c.strerror(e)}` };
    }
    return { ok: true, tid, detail: `thread ${tid} SCHED_RR priority ${priority}` };
  } catch (err) {
    return { ok: false, tid: 0, detail: `real-time scheduling unavailable: ${(err as Error).message}` };
  }
}

/**
 * Puts EVERY thread of this process under SCHED_RR at `priority`: for the heartbeat's own process, whose
 * V8 helper threads (compiler, platform workers) share locks and the memory map with its main thread. Left
 * at SCHED_OTHER they can be preempted by busy neighbours while holding one, and the real-time main thread
 * waits behind them. Threads created later inherit the policy from their (real-time) creator.
 */
export function setProcessRealtime(priority: number, tids: number[]): SchedResult {
  if (!Number.isInteger(priority) || priority < 1 || priority > 99)
    return { ok: false, tid: 0, detail: `rt priority ${priority} out of range 1-99` };
  try {
    const c = load();
    const failed: string[] = [];
    for (const tid of tids)
      if (c.sched_setscheduler(tid, SCHED_RR, { sched_priority: priority }) !== 0)
        failed.push(`${tid}: ${c.strerror(koffi.errno())}`);
    if (failed.length)
      return { ok: false, tid: 0, detail: `sched_setscheduler failed for ${failed.join(', ')}` };
    return { ok: true, tid: 0, detail: `all ${tids.length} threads SCHED_RR priority ${priority}` };
  } catch (err) {
    return { ok: false, tid: 0, detail: `real-time scheduling unavailable: ${(err as Error).message}` };
  }
}

/** Puts the calling thread back under SCHED_OTHER (tests undo setThreadRealtime with it). */
export function setThreadNormal(): boolean {
  const c = load();
  return c.sched_setscheduler(c.gettid(), 0, { sched_priority: 0 }) === 0;
}

/** The calling thread's policy (0 = SCHED_OTHER, 2 = SCHED_RR), for tests. */
export function threadPolicy(): number {
  const c = load();
  return c.sched_getscheduler(c.gettid());
}
