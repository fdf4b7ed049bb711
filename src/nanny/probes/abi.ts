/**
 * The probe engine's feature and ABI check, run once before the engine is used. The engine talks to libc
 * through koffi with struct layouts and numbers written by hand (src/lib/libc.ts): a wrong one would not
 * fail loudly, it would read garbage events or connect to the wrong address. So every assumption is
 * checked against this machine first, by measuring what the kernel and Node say, and any mismatch keeps
 * the engine off (the probes then run on net/tls sockets; the pool logs why once):
 * - platform, architecture and byte order: Linux, a 64-bit little-endian architecture whose socket numbers
 *   are the generic ones (mips, sparc, alpha and parisc use others; 32-bit ones another rlimit layout);
 * - errno values and SOCK_NONBLOCK, against Node's own tables (built from this platform's headers);
 * - `struct epoll_event`'s size and data offset (packed on x86-64 only), by reading two ready events back;
 * - `struct sockaddr_in` / `sockaddr_in6`, by binding one (the loopback's address, or the wildcard when
 *   lo has none) and reading it back with getsockname;
 * - SOL_SOCKET, SO_TYPE and SOCK_STREAM, by reading a socket's type back; SO_ERROR's size;
 * - `struct pollfd`'s revents offset (the quiet mode's poll()), and that errno reads back (EAGAIN);
 * - `struct rlimit` as two 64-bit numbers.
 * measureAbi() does the syscalls; abiMismatches() is the pure comparison.
 */
import { constants as fsConstants } from 'node:fs';
import { endianness, constants as osConstants } from 'node:os';
import {
  AF_INET,
  AF_INET6,
  EAGAIN,
  EINPROGRESS,
  EINTR,
  EPOLL_CTL_ADD,
  EPOLL_EVENT,
  EPOLLIN,
  POLLIN,
  type ProbeSocketCalls,
  RLIMIT_NOFILE,
  SO_ERROR,
  SO_TYPE,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  sockaddrInet,
} from '../../lib/libc';

/** Architectures (Node's `process.arch`) with Linux's generic socket ABI and 64-bit longs. */
export const ENGINE_ARCHES: readonly string[] = ['x64', 'arm64', 'riscv64', 'loong64', 'ppc64'];

/** A sockaddr read back with getsockname: its length and the bytes where the engine writes. */
export interface SockaddrFacts {
  /** The address bound (the loopback's, or the wildcard when the loopback has none: lo down). */
  bound: number[];
  len: number;
  family: number;
  port: number;
  /** The address bytes at the engine's offset (4 for IPv4, 8 for IPv6). */
  address: number[];
}

/** What the engine relies on, as measured on this machine (see the module comment). */
export interface AbiFacts {
  platform: string;
  arch: string;
  endianness: string;
  /** Node's errno table: the values of the names the engine compares with. */
  errno: { EINTR?: number; EAGAIN?: number; EINPROGRESS?: number };
  /** fs.constants.O_NONBLOCK (SOCK_NONBLOCK is it on Linux). */
  oNonblock?: number;
  /**
   * Two ready eventfds registered with the data 0x0102030400000001 and …02, read back with the engine's
   * layout: the events and data of the first two records (or why it could not be measured).
   */
  epoll: { n: number; events: number[]; data: string[] } | string;
  /** A socket bound to 127.0.0.1 (or 0.0.0.0) port 0 (or why not). */
  inet: SockaddrFacts | string;
  /** A socket bound to ::1 (or ::) port 0; "unavailable" when the kernel has no IPv6. */
  inet6: SockaddrFacts | string;
  /** getsockopt(SOL_SOCKET, SO_TYPE) of a TCP socket, and SO_ERROR's length. */
  soType: number;
  soErrorLen: number;
  /** revents of a poll() on a ready eventfd, read at offset 6 of struct pollfd; its return value. */
  poll: { r: number; revents: number };
  /** errno after reading an empty non-blocking eventfd (EAGAIN expected). */
  emptyReadErrno: number;
  /** RLIMIT_NOFILE read as two little-endian 64-bit numbers. */
  rlimit: { soft: number; hard: number } | string;
}

const PATTERN = ['0102030400000001', '0102030400000002'];

/** Measures the facts abiMismatches() judges; a handful of syscalls on throwaway descriptors. */
export function measureAbi(c: ProbeSocketCalls): AbiFacts {
  const fds: number[] = [];
  const keep = (fd: number): number => {
    if (fd >= 0) fds.push(fd);
    return fd;
  };
  try {
    const errno = osConstants.errno as Record<string, number | undefined>;
    const facts: AbiFacts = {
      platform: process.platform,
      arch: process.arch,
      endianness: endianness(),
      errno: { EINTR: errno['EINTR'], EAGAIN: errno['EAGAIN'], EINPROGRESS: errno['EINPROGRESS'] },
      oNonblock: (fsConstants as Record<string, number | undefined>)['O_NONBLOCK'],
      epoll: 'not measured',
      inet: 'not measured',
      inet6: 'not measured',
      soType: -1,
      soErrorLen: -1,
      poll: { r: -1, revents: 0 },
      emptyReadErrno: 0,
      rlimit: 'not measured',
    };
    // epoll_event: two ready eventfds, read back through the engine's layout
    const ep = keep(c.epollCreate1(SOCK_CLOEXEC));
    const e1 = keep(c.eventfd(1, SOCK_NONBLOCK | SOCK_CLOEXEC));
    const e2 = keep(c.eventfd(1, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (ep < 0 || e1 < 0 || e2 < 0) facts.epoll = `epoll_create1/eventfd: errno ${c.errno()}`;
    else {
      const ev = Buffer.alloc(EPOLL_EVENT.size);
      let added = true;
      for (const [i, fd] of [e1, e2].entries()) {
        ev.fill(0);
        ev.writeUInt32LE(EPOLLIN, 0);
        ev.writeBigUInt64LE(BigInt(`0x${PATTERN[i]}`), EPOLL_EVENT.data);
        if (c.epollCtl(ep, EPOLL_CTL_ADD, fd, ev) !== 0) added = false;
      }
      if (!added) facts.epoll = `epoll_ctl: errno ${c.errno()}`;
      else {
        const out = Buffer.alloc(64);
        const n = c.epollWait(ep, out, 2, 0);
        const events: number[] = [];
        const data: string[] = [];
        for (let i = 0; i < 2; i++) {
          const o = i * EPOLL_EVENT.size;
          events.push(out.readUInt32LE(o));
          data.push(
            out
              .readBigUInt64LE(o + EPOLL_EVENT.data)
              .toString(16)
              .padStart(16, '0'),
          );
        }
        facts.epoll = { n, events, data };
      }
      // pollfd: { int fd; short events; short revents }
      const pfd = Buffer.alloc(8);
      pfd.writeInt32LE(e1, 0);
      pfd.writeInt16LE(POLLIN, 4);
      facts.poll = { r: c.poll(pfd, 1, 0), revents: pfd.readInt16LE(6) };
      // errno reads back: drain the counter, then an empty read fails with EAGAIN
      const b8 = Buffer.alloc(8);
      c.read(e1, b8, 8);
      facts.emptyReadErrno = c.read(e1, b8, 8) < 0 ? c.errno() : 0;
    }
    const bound = (family: number, loopback: number[]): SockaddrFacts | string => {
      const fd = keep(c.socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
      if (fd < 0) return `socket: errno ${c.errno()}`;
      let bytes = loopback;
      let sa = sockaddrInet(Uint8Array.from(bytes), 0);
      if (c.bind(fd, sa, sa.length) !== 0) {
        // no loopback address (lo down, as in a fresh network namespace): the wildcard shows the layout too
        bytes = loopback.map(() => 0);
        sa = sockaddrInet(Uint8Array.from(bytes), 0);
        if (c.bind(fd, sa, sa.length) !== 0) return `bind: errno ${c.errno()}`;
      }
      const out = Buffer.alloc(128);
      const len = Buffer.alloc(4);
      len.writeUInt32LE(out.length, 0);
      if (c.getsockname(fd, out, len) !== 0) return `getsockname: errno ${c.errno()}`;
      if (family === AF_INET) {
        const opt = Buffer.alloc(4);
        const optLen = Buffer.alloc(4);
        optLen.writeUInt32LE(4, 0);
        if (c.getsockopt(fd, SOL_SOCKET, SO_TYPE, opt, optLen) === 0) facts.soType = opt.readInt32LE(0);
        optLen.writeUInt32LE(4, 0);
        if (c.getsockopt(fd, SOL_SOCKET, SO_ERROR, opt, optLen) === 0)
          facts.soErrorLen = optLen.readUInt32LE(0);
      }
      const at = family === AF_INET ? 4 : 8;
      return {
        bound: bytes,
        len: len.readUInt32LE(0),
        family: out.readUInt16LE(0),
        port: out.readUInt16BE(2),
        address: [...out.subarray(at, at + bytes.length)],
      };
    };
    facts.inet = bound(AF_INET, [127, 0, 0, 1]);
    const loop6 = [...Array(15).fill(0), 1];
    const six = bound(AF_INET6, loop6);
    // no IPv6 in this kernel (or on lo): the engine then takes IPv4 targets only
    facts.inet6 =
      typeof six === 'string' && /errno (97|99)$/.test(six) && !six.startsWith('getsockname')
        ? 'unavailable'
        : six;
    const lim = Buffer.alloc(16);
    facts.rlimit =
      c.getrlimit(RLIMIT_NOFILE, lim) === 0
        ? { soft: Number(lim.readBigUInt64LE(0)), hard: Number(lim.readBigUInt64LE(8)) }
        : `getrlimit: errno ${c.errno()}`;
    return facts;
  } finally {
    for (const fd of fds) c.close(fd);
  }
}

/**
 * What in `f` does not match the engine's assumptions, one reason each; empty when the engine may run.
 * Pure (the unit test feeds it measured facts and forced mismatches).
 */
export function abiMismatches(f: AbiFacts): string[] {
  const bad: string[] = [];
  const want = (what: string, got: unknown, expected: unknown): void => {
    if (JSON.stringify(got) !== JSON.stringify(expected))
      bad.push(`${what} is ${JSON.stringify(got)}, the engine assumes ${JSON.stringify(expected)}`);
  };
  if (f.platform !== 'linux') bad.push(`platform ${f.platform}: the engine is for Linux`);
  if (!ENGINE_ARCHES.includes(f.arch))
    bad.push(`architecture ${f.arch}: the engine knows ${ENGINE_ARCHES.join(', ')}`);
  want('byte order', f.endianness, 'LE');
  want('EINTR', f.errno.EINTR, EINTR);
  want('EAGAIN', f.errno.EAGAIN, EAGAIN);
  want('EINPROGRESS', f.errno.EINPROGRESS, EINPROGRESS);
  want('O_NONBLOCK (= SOCK_NONBLOCK)', f.oNonblock, SOCK_NONBLOCK);
  if (typeof f.epoll === 'string') bad.push(`struct epoll_event not measured: ${f.epoll}`);
  else {
    want('epoll_wait of two ready descriptors', f.epoll.n, 2);
    want(
      `struct epoll_event (${EPOLL_EVENT.size} bytes, data at ${EPOLL_EVENT.data}): events`,
      f.epoll.events.map((e) => e & EPOLLIN),
      [EPOLLIN, EPOLLIN],
    );
    want(
      `struct epoll_event (${EPOLL_EVENT.size} bytes, data at ${EPOLL_EVENT.data}): data`,
      [...f.epoll.data].sort(),
      PATTERN,
    );
  }
  const inet = (name: string, s: SockaddrFacts | string, len: number, family: number) => {
    if (typeof s === 'string') bad.push(`${name} not measured: ${s}`);
    else {
      want(`${name} length`, s.len, len);
      want(`${name} family`, s.family, family);
      want(`${name} address`, s.address, s.bound);
      if (!(s.port > 0)) bad.push(`${name}: no port read back at offset 2 (big-endian)`);
    }
  };
  inet('struct sockaddr_in', f.inet, 16, AF_INET);
  if (f.inet6 !== 'unavailable') inet('struct sockaddr_in6', f.inet6, 28, AF_INET6);
  want('SO_TYPE of a TCP socket (SOL_SOCKET, SO_TYPE, SOCK_STREAM)', f.soType, SOCK_STREAM);
  want('SO_ERROR length', f.soErrorLen, 4);
  want('poll() of a ready descriptor (struct pollfd revents at 6)', f.poll, { r: 1, revents: POLLIN });
  want('errno of an empty non-blocking read (koffi errno)', f.emptyReadErrno, EAGAIN);
  if (typeof f.rlimit === 'string') bad.push(`RLIMIT_NOFILE not read: ${f.rlimit}`);
  else if (!(f.rlimit.soft > 0 && f.rlimit.soft <= f.rlimit.hard))
    bad.push(`struct rlimit read as ${JSON.stringify(f.rlimit)}: not two 64-bit limits`);
  return bad;
}
