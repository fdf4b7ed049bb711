/**
 * The few libc calls Node does not expose, through koffi (prebuilt, no compiler): datagram sockets on
 * AF_UNIX (syslog's /dev/log, systemd's NOTIFY_SOCKET). Loaded lazily so pure modules never pay for it.
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
