/**
 * Probe sockets outside libuv: our own non-blocking sockets on one epoll set (libc through koffi), one
 * socket per real server kept between probes. At 10,000 probes a second this is what the cost is made of:
 * - a libuv handle per probe costs user time (the handle, its requests, their callbacks, the garbage: 17 µs
 *   per `tcp` probe, 24–29 for send/expect and HTTP) and kernel time (socket, epoll_ctl twice, close);
 * - here a probe is a few libc calls (about 0.3 µs each through koffi) on a socket made once: after each
 *   probe `connect(AF_UNSPEC)` resets the connection (RST, no TIME_WAIT) and leaves the socket ready to
 *   connect again. The socket stays in the epoll set, edge-triggered, so a probe needs no epoll_ctl.
 * libuv cannot watch a descriptor it did not make (Node has no uv_poll), so the engine watches its set
 * itself, in two modes:
 * - busy (polls find events): the set is polled without blocking (epoll_wait, timeout 0) every
 *   millisecond. That batches completions (about ten per poll at 10,000 probes a second) and adds a
 *   millisecond or two to a probe's time, nothing to its verdict;
 * - quiet (a poll found nothing: probes waiting on slow or silent hosts): a blocking poll() on the epoll
 *   descriptor runs in libuv's thread pool (a koffi async call: one pool thread while quiet) and wakes the
 *   engine when anything is ready, plus one timer for the next deadline. An idle daemon then wakes per
 *   event, as libuv would (polling every millisecond cost 5 % of a core for one probe left in flight: an
 *   idle Node pays 0.1–0.2 ms of CPU per sparse wakeup on the test machine). An eventfd in the same
 *   poll() ends the wait when no probe is left in flight, so the process can exit. Without koffi's async
 *   calls the quiet mode backs off instead: polls every 2, 4, … up to 16 ms.
 * No probe in flight, no polling at all. Deadlines are kept here too (one FIFO per timeout value), not a
 * timer per probe; a deadline is judged after that poll's events, so a reply that arrived while our event
 * loop was stalled still counts, and a timeout judged late is inconclusive, as withDeadline does for the
 * other probes.
 *
 * Covers TCP connect probes and plain-TCP exchanges (send/expect, HTTP without keep-alive) to a
 * literal, unscoped address; the rest runs on net/tls sockets (netsocket.ts, the next rung of the ladder
 * in transport.ts). The handshake's ACK is held (TCP_QUICKACK off before every connect, since a reset
 * clears it) when nothing needs it at once: the kernel then holds the last ACK of the handshake (up to
 * 200 ms), so a half-open check never sends it (SYN, SYN-ACK, RST: the server's application never sees
 * the probe) and a request carries it. It is sent at once for a full handshake and for an exchange that
 * waits for the server's banner (a held ACK would leave the server waiting for it before it speaks).
 *
 * The engine is made on first use, after abi.ts has checked every struct layout and number it relies on
 * against this machine. Unavailable (the transport returns undefined, so the chooser uses net/tls) off
 * Linux, when koffi cannot load libc, when the check finds a mismatch, or with
 * `LVS_PULSE_NANNY_NO_EPOLL=1`; engineStatus() says which.
 */
import { getSystemErrorName } from 'node:util';
import { parseIP } from '../../lib/addr';
import {
  AF_INET,
  AF_INET6,
  EAGAIN,
  EINPROGRESS,
  EINTR,
  EPOLL_CTL_ADD,
  EPOLL_EVENT,
  EPOLLERR,
  EPOLLET,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
  EPOLLRDHUP,
  IPPROTO_TCP,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  POLLIN,
  type ProbeSocketCalls,
  probeSocketCalls,
  RLIMIT_NOFILE,
  SO_ERROR,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  sockaddrInet,
  TCP_QUICKACK,
} from '../../lib/libc';
import { type AbiFacts, abiMismatches, measureAbi } from './abi';
import { describeError, since, stallLimit } from './common';
import type {
  ConnectOptions,
  Exchange,
  ExchangeOptions,
  Finish,
  Probe,
  ProbeResult,
  ProbeTarget,
  Transport,
} from './exchange';

const EV_SIZE = EPOLL_EVENT.size;
const EV_DATA = EPOLL_EVENT.data;
const MAX_EVENTS = 256;
const POLL_MS = 1;
/** Without the blocking watch: the longest wait between polls that find nothing. */
const MAX_POLL_MS = 16;

type Sys = ProbeSocketCalls;

/** The engine's epoll set, its watcher and the descriptor limit, on `sys`; throws when epoll fails. */
function openSet(sys: Sys): { ep: number; fdLimit: number; watcher: Watcher | undefined } {
  // EPOLL_CLOEXEC, like EFD_CLOEXEC / EFD_NONBLOCK below, is the O_ flag, as are SOCK_CLOEXEC / _NONBLOCK
  const ep = sys.epollCreate1(SOCK_CLOEXEC);
  if (ep < 0) throw new Error(`epoll_create1: errno ${sys.errno()}`);
  let watcher: Watcher | undefined;
  const efd = sys.eventfd(0, SOCK_NONBLOCK | SOCK_CLOEXEC);
  const pollAsync = sys.pollAsync;
  if (efd >= 0 && pollAsync)
    watcher = new Watcher(
      ep,
      efd,
      (fds, n, cb) => pollAsync(fds, n, -1, cb),
      (fd, b) => sys.write(fd, b, b.length),
      (fd, b) => sys.read(fd, b, b.length),
    );
  // without koffi's async calls the quiet mode backs off instead
  const lim = Buffer.alloc(16);
  const fdLimit = sys.getrlimit(RLIMIT_NOFILE, lim) === 0 ? Number(lim.readBigUInt64LE(0)) : 1024;
  return { ep, fdLimit: Math.min(fdLimit, 1 << 24), watcher };
}

function errName(errno: number): string {
  try {
    return describeError({ code: getSystemErrorName(-errno) });
  } catch {
    return `error ${errno}`;
  }
}

/**
 * A blocking poll() on the epoll descriptor (readable while anything in the set is ready) and an eventfd,
 * run in libuv's thread pool; `start`'s callback runs on the main thread when the set has something ready,
 * on cancel(), or on an error (then `broken`).
 */
class Watcher {
  active = false;
  broken = false;
  private readonly fds = Buffer.alloc(16); // two struct pollfd
  private readonly one = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]);
  private readonly sink = Buffer.alloc(8);

  constructor(
    ep: number,
    private readonly efd: number,
    private readonly pollAsync: (fds: Buffer, n: number, cb: (r: number) => void) => void,
    private readonly write: (fd: number, b: Buffer) => number,
    private readonly read: (fd: number, b: Buffer) => number,
  ) {
    this.fds.writeInt32LE(ep, 0);
    this.fds.writeInt16LE(POLLIN, 4);
    this.fds.writeInt32LE(efd, 8);
    this.fds.writeInt16LE(POLLIN, 12);
  }

  start(cb: () => void): void {
    if (this.active || this.broken) return;
    this.active = true;
    this.pollAsync(this.fds, 2, (r) => {
      this.active = false;
      if (r < 0) this.broken = true; // never spin on a failing poll(): back to timed polls
      this.read(this.efd, this.sink); // drain a cancel (EAGAIN when there was none)
      cb();
    });
  }

  /** Ends a wait in progress (its callback still runs). */
  cancel(): void {
    if (this.active) this.write(this.efd, this.one);
  }
}

/** Probes of one timeout value in start order, hence in deadline order. */
class DeadlineQueue {
  private conns: Conn[] = [];
  private seqs: number[] = [];
  private head = 0;

  push(c: Conn): void {
    this.conns.push(c);
    this.seqs.push(c.seq);
  }

  /** The earliest deadline of a probe still in flight (Infinity: none). */
  next(): number {
    const { conns, seqs } = this;
    while (this.head < conns.length) {
      const c = conns[this.head]!;
      if (c.seq === seqs[this.head] && c.busy()) return c.deadline;
      this.head++;
    }
    return Number.POSITIVE_INFINITY;
  }

  /** Times out every probe whose deadline is past (next() then skips it: its run ended). */
  expire(now: number): void {
    for (let d = this.next(); d <= now; d = this.next()) this.conns[this.head]!.timeout(now);
    if (this.head > 1024 && this.head * 2 > this.conns.length) {
      this.conns = this.conns.slice(this.head);
      this.seqs = this.seqs.slice(this.head);
      this.head = 0;
    }
  }
}

class Engine {
  readonly byFd: (Conn | undefined)[] = [];
  readonly rbuf = Buffer.allocUnsafe(64 * 1024);
  readonly ev = Buffer.alloc(EV_SIZE);
  readonly soErr = Buffer.alloc(4);
  readonly soLen = Buffer.alloc(4);
  private readonly events = Buffer.alloc(EV_SIZE * MAX_EVENTS);
  private readonly queues = new Map<number, DeadlineQueue>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** When the timer fires (performance.now() time). */
  private due = Number.POSITIVE_INFINITY;
  /** Without a watcher: the wait before the next poll, POLL_MS while busy, doubling while quiet. */
  private delay = POLL_MS;
  private inFlight = 0;
  private nextTag = 1;
  /** Sockets held between probes; past `keepLimit` a socket is closed after its probe instead. */
  sockets = 0;
  /** Polls of the set so far (for tests: the quiet mode waits instead of polling). */
  ticks = 0;

  constructor(
    readonly sys: Sys,
    private readonly ep: number,
    readonly keepLimit: number,
    private readonly watcher: Watcher | undefined,
    /** The kernel has IPv6: the engine takes IPv6 targets. */
    readonly ipv6: boolean,
  ) {}

  /** A new non-blocking TCP socket in the set, tagged for `c`; a negative errno on failure. */
  open(c: Conn, family: number, source: Buffer | undefined): number {
    const { sys } = this;
    const fd = sys.socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -sys.errno();
    if (source && sys.bind(fd, source, source.length) !== 0) {
      const e = sys.errno();
      sys.close(fd);
      return -e;
    }
    // the tag tells a stale event (harvested before its socket closed and its number was reused) apart
    c.tag = this.nextTag = (this.nextTag + 1) >>> 0 || 1;
    this.ev.writeUInt32LE((EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) >>> 0, 0);
    this.ev.writeUInt32LE(fd, EV_DATA);
    this.ev.writeUInt32LE(c.tag, EV_DATA + 4);
    if (sys.epollCtl(this.ep, EPOLL_CTL_ADD, fd, this.ev) !== 0) {
      const e = sys.errno();
      sys.close(fd);
      return -e;
    }
    this.byFd[fd] = c;
    this.sockets++;
    return fd;
  }

  close(fd: number): void {
    this.byFd[fd] = undefined;
    this.sys.close(fd); // also leaves the epoll set
    this.sockets--;
  }

  /** `c` started a probe: watch its deadline, poll while anything is in flight. */
  started(c: Conn): void {
    this.inFlight++;
    let q = this.queues.get(c.timeoutMs);
    if (!q) {
      q = new DeadlineQueue();
      this.queues.set(c.timeoutMs, q);
    }
    q.push(c);
    if (this.watcher?.active)
      this.tickBy(c.deadline); // the watch sees its outcome
    else {
      this.delay = POLL_MS; // a reply is due soon: poll at the fast rate again
      this.tickBy(performance.now() + POLL_MS);
    }
  }

  /** Makes sure a tick runs by `at` (performance.now() time). */
  private tickBy(at: number): void {
    if (at === Number.POSITIVE_INFINITY) return;
    if (this.timer) {
      if (this.due <= at) return;
      clearTimeout(this.timer);
    }
    this.due = at;
    this.timer = setTimeout(this.tick, Math.max(0, Math.ceil(at - performance.now())));
  }

  ended(): void {
    if (--this.inFlight > 0) return;
    // nothing left to wait for (the last probe ended, or was disposed): no timer, no pool thread
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.due = Number.POSITIVE_INFINITY;
    this.watcher?.cancel();
  }

  private readonly wake = (): void => this.tick();

  private readonly tick = (): void => {
    this.ticks++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.due = Number.POSITIVE_INFINITY;
    const { sys, events, byFd } = this;
    let got = 0;
    for (let round = 0; round < 64; round++) {
      const n = sys.epollWait(this.ep, events, MAX_EVENTS, 0);
      got += n;
      for (let i = 0; i < n; i++) {
        const o = i * EV_SIZE;
        const c = byFd[events.readUInt32LE(o + EV_DATA)];
        if (c && c.tag === events.readUInt32LE(o + EV_DATA + 4)) c.event(events.readUInt32LE(o));
      }
      if (n < MAX_EVENTS) break;
    }
    const now = performance.now();
    for (const q of this.queues.values()) q.expire(now);
    if (this.inFlight <= 0) {
      this.watcher?.cancel(); // nothing to wait for: free the pool thread
      return;
    }
    if (got > 0) {
      this.delay = POLL_MS; // busy
      this.tickBy(now + POLL_MS);
    } else if (this.watcher && !this.watcher.broken) {
      this.watcher.start(this.wake); // quiet: woken by the kernel, or by the next deadline
      let next = Number.POSITIVE_INFINITY;
      for (const q of this.queues.values()) next = Math.min(next, q.next());
      this.tickBy(next);
    } else {
      this.delay = Math.min(this.delay * 2, MAX_POLL_MS);
      this.tickBy(now + this.delay);
    }
  };
}

/** Whether the engine runs in this process, and if not, why (for the pool's log line). */
export interface EngineStatus {
  available: boolean;
  /** Why not: turned off, not Linux, libc not loadable, or the ABI check's mismatches. */
  why?: string;
  /** The engine takes IPv6 targets (the kernel has IPv6, and sockaddr_in6 was checked). */
  ipv6?: boolean;
}

/** How the engine comes up: the calls to use and a hook on the measured facts (the unit test's seam). */
export interface EngineSetup {
  calls?: () => Sys;
  /** Rewrites the measured facts before they are judged: the unit test forces a mismatch with it. */
  adjustFacts?: (f: AbiFacts) => AbiFacts;
}

interface Made {
  engine?: Engine;
  status: EngineStatus;
}

/**
 * Makes an engine when this machine passes the ABI check; otherwise none, with why. Never throws. Each
 * call makes a new epoll set: the process uses one (engineTransport's), tests may make their own.
 */
function makeEngine(setup: EngineSetup): Made {
  if (process.env['LVS_PULSE_NANNY_NO_EPOLL'])
    return { status: { available: false, why: 'turned off (LVS_PULSE_NANNY_NO_EPOLL)' } };
  if (process.platform !== 'linux')
    return { status: { available: false, why: `platform ${process.platform}: the engine is for Linux` } };
  let sys: Sys;
  try {
    sys = (setup.calls ?? probeSocketCalls)();
  } catch (err) {
    return { status: { available: false, why: `libc not loadable: ${(err as Error)?.message ?? err}` } };
  }
  let facts: AbiFacts;
  try {
    facts = measureAbi(sys);
  } catch (err) {
    return { status: { available: false, why: `ABI check failed: ${(err as Error)?.message ?? err}` } };
  }
  if (setup.adjustFacts) facts = setup.adjustFacts(facts);
  const bad = abiMismatches(facts);
  if (bad.length) return { status: { available: false, why: `ABI check: ${bad.join('; ')}` } };
  try {
    const { ep, fdLimit, watcher } = openSet(sys);
    // keep a socket per real server while that leaves room for everything else (a quarter of the limit,
    // at least 1024); beyond it a socket lives for one probe
    const keep = Math.max(fdLimit - Math.max(1024, fdLimit / 4), fdLimit / 2);
    const ipv6 = facts.inet6 !== 'unavailable';
    return { engine: new Engine(sys, ep, keep, watcher, ipv6), status: { available: true, ipv6 } };
  } catch (err) {
    return { status: { available: false, why: (err as Error)?.message ?? String(err) } };
  }
}

/** `struct sockaddr_in` / `sockaddr_in6` for address:port; undefined for a scoped or bad address. */
function sockaddr(address: string, port: number): { family: number; addr: Buffer } | undefined {
  const ip = parseIP(address);
  if (!ip) return undefined;
  return { family: ip.family === 4 ? AF_INET : AF_INET6, addr: sockaddrInet(ip.bytes, port) };
}

/** A probe run's phase (plain constants: the hot path compares small integers). */
const IDLE = 0;
const CONNECTING = 1;
const SENDING = 2;
const READING = 3;
type Phase = typeof IDLE | typeof CONNECTING | typeof SENDING | typeof READING;

const INT_ZERO = Buffer.alloc(4);
const INT_ONE = Buffer.from([1, 0, 0, 0]);
const UNSPEC = Buffer.alloc(16); // sa_family AF_UNSPEC = 0: connect() with it resets the connection

/** One real server's probe socket and the run in flight on it (a nanny never runs two at once). */
class Conn {
  fd = -1;
  tag = 0;
  seq = 0;
  deadline = 0;
  private phase: Phase = IDLE;
  private start = 0;
  private resolve: ((r: ProbeResult) => void) | undefined;
  private x: Exchange | undefined;
  private sent = 0;
  private holdAck = true;
  private readonly executor = (resolve: (r: ProbeResult) => void): void => {
    this.resolve = resolve;
  };
  readonly finishCb: Finish = (ok, detail, weight) => this.finish(ok, detail, weight);

  constructor(
    private readonly e: Engine,
    private readonly family: number,
    private readonly addr: Buffer,
    private readonly source: Buffer | undefined,
    readonly timeoutMs: number,
    private readonly make: (() => Exchange) | undefined,
    private readonly halfOpen: boolean,
  ) {}

  busy(): boolean {
    return this.phase !== IDLE;
  }

  run(): Promise<ProbeResult> {
    const p = new Promise<ProbeResult>(this.executor);
    this.start = performance.now();
    this.deadline = this.start + this.timeoutMs;
    this.seq++;
    this.phase = CONNECTING;
    this.x = this.make?.();
    this.holdAck = this.x ? this.x.payload !== undefined : this.halfOpen;
    this.e.started(this);
    this.connect(true);
    return p;
  }

  private connect(mayRetry: boolean): void {
    const { sys } = this.e;
    const reused = this.fd >= 0;
    if (!reused) {
      const fd = this.e.open(this, this.family, this.source);
      if (fd < 0) {
        this.finish(false, errName(-fd));
        return;
      }
      this.fd = fd;
    }
    // held ACK: a half-open check never sends it, a request carries it; sent at once for a full handshake
    // or a banner to wait for (set every time: a reset clears it)
    sys.setsockopt(this.fd, IPPROTO_TCP, TCP_QUICKACK, this.holdAck ? INT_ZERO : INT_ONE, 4);
    if (sys.connect(this.fd, this.addr, this.addr.length) === 0) {
      this.connected(EPOLLOUT);
      return;
    }
    const errno = sys.errno();
    if (errno === EINPROGRESS) return; // the outcome comes as an event
    if (reused && mayRetry) {
      // a kept socket in a state we did not expect: a fresh one decides, not our bookkeeping
      this.dropSocket();
      this.connect(false);
      return;
    }
    this.finish(false, errName(errno));
  }

  /** An epoll event for this socket (edge-triggered: `mask` is its state when harvested). */
  event(mask: number): void {
    try {
      switch (this.phase) {
        case CONNECTING:
          if (mask & (EPOLLERR | EPOLLHUP)) {
            const err = this.soError();
            if (err) {
              this.finish(false, errName(err));
              return;
            }
            if (!(mask & EPOLLOUT)) {
              this.finish(false, 'connection closed');
              return;
            }
          }
          if (mask & EPOLLOUT) this.connected(mask);
          return;
        case SENDING:
          if (mask & EPOLLERR) {
            this.finish(false, `send failed: ${errName(this.soError())}`);
            return;
          }
          if (mask & EPOLLOUT) this.send(mask);
          return;
        case READING:
          if (mask & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) this.read();
          return;
        default:
          return; // idle: the wakeup of our own reset
      }
    } catch (err) {
      this.finish(false, `probe error: ${(err as Error)?.message ?? err}`);
    }
  }

  private connected(mask: number): void {
    if (!this.x) {
      this.finish(true, 'connected');
      return;
    }
    this.sent = 0;
    this.phase = SENDING;
    this.send(mask);
  }

  private send(mask: number): void {
    const { sys } = this.e;
    const x = this.x!;
    const p = x.payload;
    while (p && this.sent < p.length) {
      const chunk = this.sent ? p.subarray(this.sent) : p;
      const n = sys.send(this.fd, chunk, chunk.length, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n >= 0) {
        this.sent += n;
        continue;
      }
      const errno = sys.errno();
      if (errno === EAGAIN) return; // the rest when the socket is writable again
      if (errno !== EINTR) {
        this.finish(false, `send failed: ${errName(errno)}`);
        return;
      }
    }
    this.phase = READING;
    x.afterSend?.(this.finishCb);
    // a reply (or a banner, or a close) already here came with this very event: read it now
    if (this.phase === READING && mask & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) this.read();
  }

  private read(): void {
    const { sys, rbuf } = this.e;
    const x = this.x!;
    while (this.phase === READING) {
      const n = sys.recv(this.fd, rbuf, rbuf.length, MSG_DONTWAIT);
      if (n > 0) x.onData(Buffer.from(rbuf.subarray(0, n)), this.finishCb);
      else if (n === 0) {
        x.onEnd(this.finishCb);
        return;
      } else {
        const errno = sys.errno();
        if (errno === EAGAIN) return;
        if (errno !== EINTR) {
          this.finish(false, errName(errno));
          return;
        }
      }
    }
  }

  /** The deadline passed with no verdict (called after this poll's events). */
  timeout(now: number): void {
    const late = now - this.deadline;
    if (late > stallLimit(this.timeoutMs))
      this.finish(
        false,
        `timeout after ${this.timeoutMs} ms (our event loop ${Math.round(late)} ms late)`,
        undefined,
        true,
      );
    else this.finish(false, `timeout after ${this.timeoutMs} ms`);
  }

  private soError(): number {
    const { sys, soErr, soLen } = this.e;
    soLen.writeUInt32LE(4, 0);
    return sys.getsockopt(this.fd, SOL_SOCKET, SO_ERROR, soErr, soLen) === 0 ? soErr.readInt32LE(0) : 0;
  }

  private finish(ok: boolean, detail: string, weight?: number, inconclusive?: boolean): void {
    if (this.phase === IDLE) return;
    const r: ProbeResult = { ok, detail, ms: since(this.start) };
    if (weight !== undefined) r.weight = weight;
    if (inconclusive) r.inconclusive = true;
    const resolve = this.resolve!;
    this.resolve = undefined;
    this.x = undefined;
    this.phase = IDLE;
    this.seq++;
    this.e.ended();
    this.reset();
    resolve(r);
  }

  /** Ends the connection with a reset (or aborts the connect) and keeps the socket for the next probe. */
  private reset(): void {
    if (this.fd < 0) return;
    const { sys } = this.e;
    // a reset (RST, no FIN and TIME_WAIT), also before closing a socket we do not keep
    const reset = sys.connect(this.fd, UNSPEC, UNSPEC.length) === 0;
    if (!reset || this.e.sockets > this.e.keepLimit) {
      this.dropSocket();
      return;
    }
    // The reset leaves ECONNRESET pending (its wakeup shows EPOLLERR, ignored while idle); the next connect
    // clears it (tcp_connect_init), checked on this kernel after an established, a refused and a
    // never-answered connection: no getsockopt needed here.
  }

  private dropSocket(): void {
    if (this.fd < 0) return;
    this.e.close(this.fd);
    this.fd = -1;
  }

  /** Closes the socket (the nanny stopped or replaced this probe); a run in flight ends. */
  dispose(): void {
    this.finish(false, 'probe disposed');
    this.dropSocket();
  }
}

const collected = new FinalizationRegistry<Conn>((c) => c.dispose());

/**
 * Builds the probe on engine `e`: a connect check without `make`, an exchange with it. Returns undefined
 * when the address is not one the engine takes (then the chooser asks the next rung). `overlap` runs a
 * probe started while the previous run of the same probe is still in flight (a nanny never does that).
 */
function engineProbe(
  e: Engine,
  t: ProbeTarget,
  make: (() => Exchange) | undefined,
  halfOpen: boolean,
  overlap: () => Probe,
): Probe | undefined {
  const to = sockaddr(t.address, t.port);
  if (!to || (to.family === AF_INET6 && !e.ipv6)) return undefined;
  let source: Buffer | undefined;
  if (t.sourceAddress) {
    const s = sockaddr(t.sourceAddress, 0);
    if (!s || s.family !== to.family) return undefined;
    source = s.addr;
  }
  const c = new Conn(e, to.family, to.addr, source, t.timeoutMs, make, halfOpen);
  let other: Probe | undefined;
  const probe: Probe = () => {
    if (!c.busy()) return c.run();
    other ??= overlap();
    return other();
  };
  probe.dispose = () => {
    c.dispose();
    other?.dispose?.();
  };
  collected.register(probe, c);
  return probe;
}

/** The engine as a rung of the transport ladder, with what tests and the pool ask of it. */
export interface EngineTransport extends Transport {
  /** Whether the engine runs (making it, and running the ABI check, on first call). */
  status(): EngineStatus;
  /** Sockets the engine holds (for tests: one per real server, closed by dispose). */
  sockets(): number;
  /** Polls of the engine's set so far (for tests: the quiet mode waits instead of polling). */
  ticks(): number;
}

/**
 * The engine as a rung of the transport ladder, made on first use by `setup` (default: the process's
 * libc). TCP connect probes (half-open unless `halfOpen` is false) and plain-TCP exchanges without TLS or
 * keep-alive, to literal unscoped addresses; undefined for anything else, or when the engine is
 * unavailable (then `status()` says why).
 */
export function engineTransport(setup: EngineSetup = {}): EngineTransport {
  let made: Made | undefined;
  const get = (): Made => {
    made ??= makeEngine(setup);
    return made;
  };
  return {
    name: 'engine',
    status: () => get().status,
    sockets: () => made?.engine?.sockets ?? 0,
    ticks: () => made?.engine?.ticks ?? 0,
    connectProbe(t: ProbeTarget, o: ConnectOptions, overlap: () => Probe): Probe | undefined {
      const e = get().engine;
      return e && engineProbe(e, t, undefined, o.halfOpen, overlap);
    },
    exchangeProbe(
      t: ProbeTarget,
      make: () => Exchange,
      o: ExchangeOptions,
      overlap: () => Probe,
    ): Probe | undefined {
      const e = get().engine;
      if (!e || o.tls || o.keepAlive) return undefined;
      return engineProbe(e, t, make, true, overlap);
    },
  };
}

/** The process's engine: every probe shares its one epoll set. */
export const epoll: EngineTransport = engineTransport();

/** Sockets the process's engine holds (for tests: one per real server, closed by dispose). */
export function epollSockets(): number {
  return epoll.sockets();
}

/** Polls of the process's engine's set so far (for tests). */
export function epollTicks(): number {
  return epoll.ticks();
}
