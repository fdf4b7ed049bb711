/**
 * The few libc calls Node does not expose, through koffi (prebuilt, no compiler): datagram sockets on
 * AF_UNIX (syslog's /dev/log, systemd's NOTIFY_SOCKET), and in their own sections below the heartbeat's
 * real-time scheduling and parent-death signal and the nanny's probe engine. Loaded lazily so pure
 * modules never pay for it. Other concerns (takeover's AF_PACKET socket) bind their own calls on the same
 * `libc()` handle.
 */
import koffi from 'koffi';

/** Linux x86_64/arm64 values of the socket constants used below (checked at load by nanny/probes/abi.ts for the engine). */
export const AF_UNIX = 1;
export const SOCK_DGRAM = 2;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const MSG_DONTWAIT = 0x40;

/** The libc functions the project calls through koffi, bound once (see {@link libc}). */
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

// ---------------------------------------------------------------------------------------------------------
// Nanny: the probe engine's calls (src/nanny/probes/epoll.ts; its ABI check: src/nanny/probes/abi.ts).
// Linux's values on the architectures the engine runs on (abi.ts refuses the others, and checks these
// against the running kernel and Node's own errno table before the engine is used).

/** IPv4 address family. */
export const AF_INET = 2;
/** IPv6 address family. */
export const AF_INET6 = 10;
/** TCP socket type. */
export const SOCK_STREAM = 1;
/** Socket-level options. */
export const SOL_SOCKET = 1;
/** A socket's type (the ABI check reads it back). */
export const SO_TYPE = 3;
/** A socket's pending error (a connect's outcome). */
export const SO_ERROR = 4;
/** TCP-level options. */
export const IPPROTO_TCP = 6;
/** Off before connect: the kernel holds the handshake's last ACK. */
export const TCP_QUICKACK = 12;
/** send() without SIGPIPE. */
export const MSG_NOSIGNAL = 0x4000;
/** epoll: readable. */
export const EPOLLIN = 0x1;
/** epoll: writable (a connect completed). */
export const EPOLLOUT = 0x4;
/** epoll: an error is pending. */
export const EPOLLERR = 0x8;
/** epoll: hung up. */
export const EPOLLHUP = 0x10;
/** epoll: the peer closed its side. */
export const EPOLLRDHUP = 0x2000;
/** epoll: edge-triggered. */
export const EPOLLET = 0x80000000;
/** epoll_ctl: add a descriptor. */
export const EPOLL_CTL_ADD = 1;
/** poll(): readable. */
export const POLLIN = 1;
/** getrlimit: the descriptor limit. */
export const RLIMIT_NOFILE = 7;
// the errno values the engine compares with (the rest it only names, through Node's table)
/** errno: interrupted. */
export const EINTR = 4;
/** errno: would block. */
export const EAGAIN = 11;
/** errno: a non-blocking connect is under way. */
export const EINPROGRESS = 115;

/**
 * `struct epoll_event` as the engine lays it out: `{ uint32 events; uint64 data }`, packed on x86-64 (12
 * bytes, data at 4: the kernel header marks it so) and naturally aligned elsewhere (16, data at 8).
 */
export const EPOLL_EVENT = process.arch === 'x64' ? { size: 12, data: 4 } : { size: 16, data: 8 };

/**
 * `struct sockaddr_in` (16 bytes: family in host order, port big-endian at 2, address at 4) or
 * `sockaddr_in6` (28 bytes: address at 8, flow info and scope id 0) for `bytes` (4 or 16) and `port`.
 */
export function sockaddrInet(bytes: Uint8Array, port: number): Buffer {
  const v4 = bytes.length === 4;
  const a = Buffer.alloc(v4 ? 16 : 28);
  a.writeUInt16LE(v4 ? AF_INET : AF_INET6, 0);
  a.writeUInt16BE(port, 2);
  a.set(bytes, v4 ? 4 : 8);
  return a;
}

/** The calls of the probe engine; numbers as libc returns them (-1 and errno() on failure). */
export interface ProbeSocketCalls {
  socket(domain: number, type: number, protocol: number): number;
  close(fd: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  connect(fd: number, addr: Buffer, len: number): number;
  setsockopt(fd: number, level: number, name: number, val: Buffer, len: number): number;
  getsockopt(fd: number, level: number, name: number, val: Buffer, len: Buffer): number;
  getsockname(fd: number, addr: Buffer, len: Buffer): number;
  send(fd: number, buf: Buffer, len: number, flags: number): number;
  recv(fd: number, buf: Buffer, len: number, flags: number): number;
  epollCreate1(flags: number): number;
  epollCtl(ep: number, op: number, fd: number, ev: Buffer): number;
  epollWait(ep: number, evs: Buffer, max: number, timeout: number): number;
  getrlimit(resource: number, out: Buffer): number;
  eventfd(initval: number, flags: number): number;
  write(fd: number, buf: Buffer, len: number): number;
  read(fd: number, buf: Buffer, len: number): number;
  poll(fds: Buffer, n: number, timeout: number): number;
  /**
   * poll() in libuv's thread pool (koffi's async call); the callback gets its result (-1 on error).
   * Undefined when this koffi has no async calls.
   */
  pollAsync?: (fds: Buffer, n: number, timeout: number, cb: (r: number) => void) => void;
  errno(): number;
}

let probeCalls: ProbeSocketCalls | undefined;

/** The probe engine's libc calls, bound on first use; throws when libc or a symbol cannot be loaded. */
export function probeSocketCalls(): ProbeSocketCalls {
  if (probeCalls) return probeCalls;
  const c = libc();
  const f = (proto: string) => c.lib.func(proto);
  const bind = f('int bind(int, const void *, uint32_t)');
  const connect = f('int connect(int, const void *, uint32_t)');
  const setsockopt = f('int setsockopt(int, int, int, const void *, uint32_t)');
  const getsockopt = f('int getsockopt(int, int, int, void *, void *)');
  const getsockname = f('int getsockname(int, void *, void *)');
  const send = f('long send(int, const void *, size_t, int)');
  const recv = f('long recv(int, void *, size_t, int)');
  const epollCreate1 = f('int epoll_create1(int)');
  const epollCtl = f('int epoll_ctl(int, int, int, void *)');
  const epollWait = f('int epoll_wait(int, void *, int, int)');
  const getrlimit = f('int getrlimit(int, void *)');
  const eventfd = f('int eventfd(unsigned int, int)');
  const write = f('long write(int, const void *, size_t)');
  const read = f('long read(int, void *, size_t)');
  const poll = f('int poll(void *, unsigned long, int)');
  probeCalls = {
    socket: c.socket,
    close: c.close,
    bind: (fd, a, l) => bind(fd, a, l) as number,
    connect: (fd, a, l) => connect(fd, a, l) as number,
    setsockopt: (fd, lv, n, v, l) => setsockopt(fd, lv, n, v, l) as number,
    getsockopt: (fd, lv, n, v, l) => getsockopt(fd, lv, n, v, l) as number,
    getsockname: (fd, a, l) => getsockname(fd, a, l) as number,
    send: (fd, b, l, fl) => Number(send(fd, b, l, fl)),
    recv: (fd, b, l, fl) => Number(recv(fd, b, l, fl)),
    epollCreate1: (fl) => epollCreate1(fl) as number,
    epollCtl: (e, op, fd, ev) => epollCtl(e, op, fd, ev) as number,
    epollWait: (e, evs, max, t) => epollWait(e, evs, max, t) as number,
    getrlimit: (r, out) => getrlimit(r, out) as number,
    eventfd: (v, fl) => eventfd(v, fl) as number,
    write: (fd, b, l) => Number(write(fd, b, l)),
    read: (fd, b, l) => Number(read(fd, b, l)),
    poll: (fds, n, t) => poll(fds, n, t) as number,
    errno: c.errno,
  };
  if (typeof poll.async === 'function')
    probeCalls.pollAsync = (fds, n, t, cb) =>
      poll.async(fds, n, t, (err: unknown, r: number) => cb(err ? -1 : r));
  return probeCalls;
}

// ---------------------------------------------------------------------------------------------------------
// Daemon: the control socket's caller and the console's account (src/daemon/control.ts, src/daemon/access.ts).
// Node has no API for a unix socket's peer credentials nor for the user database.

/** `getsockopt` option: the credentials (pid, uid, gid) of a unix socket's peer, fixed at connect(). */
export const SO_PEERCRED = 17;

/** A unix socket peer's credentials as the kernel recorded them when it connected (`struct ucred`). */
export interface PeerCred {
  pid: number;
  uid: number;
  gid: number;
}

/** An account of the user database (`getpwnam`). */
export interface Account {
  name: string;
  uid: number;
  gid: number;
}

/** The daemon's calls: SO_PEERCRED and getpwnam. */
export interface DaemonLibc {
  /** The peer credentials of unix socket `fd`, or undefined (with the errno) when the call fails. */
  peerCred(fd: number): PeerCred | { errno: number };
  /** The account named `name` (NSS, as `getent passwd`), or undefined when there is none. */
  getpwnam(name: string): Account | undefined;
}

let daemonCached: DaemonLibc | undefined;

/** The daemon's libc binding, created on first use (throws when libc cannot be loaded). */
export function daemonLibc(): DaemonLibc {
  if (daemonCached) return daemonCached;
  const c = libc();
  const getsockopt = c.lib.func('int getsockopt(int, int, int, void *, void *)');
  const passwd = koffi.struct('lvs_pulse_passwd', {
    pw_name: 'const char *',
    pw_passwd: 'const char *',
    pw_uid: 'uint32_t',
    pw_gid: 'uint32_t',
    pw_gecos: 'const char *',
    pw_dir: 'const char *',
    pw_shell: 'const char *',
  });
  const getpwnam = c.lib.func('void *getpwnam(const char *name)');
  daemonCached = {
    peerCred(fd) {
      // struct ucred { pid_t pid; uid_t uid; gid_t gid; }: three 32-bit fields on Linux.
      const val = Buffer.alloc(12);
      const len = Buffer.alloc(4);
      len.writeUInt32LE(12);
      if ((getsockopt(fd, SOL_SOCKET, SO_PEERCRED, val, len) as number) !== 0) return { errno: c.errno() };
      return { pid: val.readInt32LE(0), uid: val.readUInt32LE(4), gid: val.readUInt32LE(8) };
    },
    getpwnam(name) {
      const p = getpwnam(name);
      if (!p) return undefined;
      const pw = koffi.decode(p, passwd) as { pw_name: string; pw_uid: number; pw_gid: number };
      return { name: pw.pw_name, uid: pw.pw_uid, gid: pw.pw_gid };
    },
  };
  return daemonCached;
}
