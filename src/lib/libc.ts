/**
 * The few libc calls Node does not expose, through koffi (prebuilt, no compiler): datagram sockets on
 * AF_UNIX (syslog's /dev/log, systemd's NOTIFY_SOCKET), and in its own section below the heartbeat's
 * real-time scheduling and parent-death signal. Loaded lazily so pure modules never pay for it.
 * Other concerns (takeover's AF_PACKET socket) bind their own calls on the same `libc()` handle.
 */
import koffi from 'koffi';

export const AF_UNIX = 1;
export const SOCK_DGRAM = 2;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const MSG_DONTWAIT = 0x40;

export interface Libc {
  lib: ReturnType<typeof koffi.load>;
  socket(domain: number, type: number, protocol: number): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer | null, addrlen: number): number;
  close(fd: number): number;
  errno(): number;
}

let cached: Libc | undefined;

/** The libc binding, created on first use. */
export function libc(): Libc {
  if (cached) return cached;
  const lib = koffi.load('libc.so.6');
  const socket = lib.func('int socket(int, int, int)');
  const sendto = lib.func('long sendto(int, const void *, size_t, int, const void *, uint32_t)');
  const close = lib.func('int close(int)');
  cached = {
    lib,
    socket: (d, t, p) => socket(d, t, p) as number,
    sendto: (fd, buf, len, flags, addr, addrlen) => Number(sendto(fd, buf, len, flags, addr, addrlen)),
    close: (fd) => close(fd) as number,
    errno: () => koffi.errno(),
  };
  return cached;
}

/** Builds a `struct sockaddr_un` for `path`; a leading '@' means the Linux abstract namespace. */
export function sockaddrUn(path: string): { addr: Buffer; len: number } {
  const p = Buffer.from(path, 'utf8');
  if (p.length > 107) throw new Error(`unix socket path too long: ${path}`);
  const addr = Buffer.alloc(110);
  addr.writeUInt16LE(AF_UNIX, 0);
  p.copy(addr, 2);
  if (path.startsWith('@')) {
    addr[2] = 0;
    return { addr, len: 2 + p.length };
  }
  return { addr, len: 2 + p.length + 1 };
}

/**
 * A non-blocking AF_UNIX datagram sender. send() never throws and never blocks: it returns 0 on success
 * or the errno (ENOENT when the path is missing, ECONNREFUSED when nobody listens, EAGAIN when full).
 */
export class UnixDatagramSender {
  private fd = -1;
  private readonly target: { addr: Buffer; len: number };

  constructor(readonly path: string) {
    this.target = sockaddrUn(path);
  }

  send(message: Buffer | string): number {
    const c = libc();
    if (this.fd < 0) {
      this.fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (this.fd < 0) return c.errno();
    }
    const buf = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
    const n = c.sendto(this.fd, buf, buf.length, MSG_DONTWAIT, this.target.addr, this.target.len);
    return n < 0 ? c.errno() : 0;
  }

  close(): void {
    if (this.fd >= 0) libc().close(this.fd);
    this.fd = -1;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Heartbeat: real-time scheduling and process control (src/heartbeat/sched.ts, src/heartbeat/child.ts).
// keepalived's vrrp_rt_priority and its VRRP child's parent-death handling, for the heartbeat process.

/** `sched_setscheduler` policy: normal time sharing. */
export const SCHED_OTHER = 0;
/** `sched_setscheduler` policy: real-time round robin. */
export const SCHED_RR = 2;
/** `prctl` option: the signal this process gets when its parent dies. */
export const PR_SET_PDEATHSIG = 1;
/** Signal number of SIGKILL (for PR_SET_PDEATHSIG). */
export const SIGKILL = 9;

/** The scheduling and process-control calls of libc the heartbeat uses. */
export interface SchedLibc {
  /** The calling thread's id (the kernel's, as in /proc/self/task). */
  gettid(): number;
  /** Sets thread `tid`'s policy and priority; 0 or -1 (then see errno()). */
  sched_setscheduler(tid: number, policy: number, priority: number): number;
  /** Thread `tid`'s policy (SCHED_OTHER, SCHED_RR …) or -1. */
  sched_getscheduler(tid: number): number;
  /** prctl(option, arg2, 0, 0, 0); 0 or -1. */
  prctl(option: number, arg2: number): number;
  /** The message of an errno value. */
  strerror(errnum: number): string;
  /** errno of the last failed call on this thread. */
  errno(): number;
}

let schedCached: SchedLibc | undefined;

/** The scheduling and process-control binding, created on first use (throws when libc cannot be loaded). */
export function schedLibc(): SchedLibc {
  if (schedCached) return schedCached;
  const { lib } = libc();
  koffi.struct('lvs_pulse_sched_param', { sched_priority: 'int' });
  const gettid = lib.func('int gettid()');
  const setscheduler = lib.func(
    'int sched_setscheduler(int pid, int policy, const lvs_pulse_sched_param *param)',
  );
  const getscheduler = lib.func('int sched_getscheduler(int pid)');
  const prctl = lib.func('int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long)');
  const strerror = lib.func('const char *strerror(int errnum)');
  schedCached = {
    gettid: () => gettid() as number,
    sched_setscheduler: (tid, policy, priority) =>
      setscheduler(tid, policy, { sched_priority: priority }) as number,
    sched_getscheduler: (tid) => getscheduler(tid) as number,
    prctl: (option, arg2) => prctl(option, arg2, 0, 0, 0) as number,
    strerror: (e) => strerror(e) as string,
    errno: () => koffi.errno(),
  };
  return schedCached;
}
