/**
 * The rtnetlink edge: add and delete interface addresses with RTM_NEWADDR / RTM_DELADDR on a NETLINK_ROUTE
 * socket (libc through koffi), the same messages `ip addr add|del` sends, without spawning a process.
 *
 * Why: spawning `ip` costs ~2–3 ms of event-loop time per VIP (fork/exec happens inside execFile), so with
 * 8 VIPs a claim blocked the loop ~20 ms and the addresses were there only after ~22 ms. The kernel handles
 * a netlink request inside sendto(), so the acknowledgement is already queued when sendto returns: one
 * add costs microseconds. Listing (`ip -json addr show`) and route lookups stay with `iproute.ts`.
 *
 * Idempotent like the iproute edge: EEXIST = already present, EADDRNOTAVAIL = already absent.
 */
import koffi from 'koffi';
import { parseIP } from '../lib/addr';
import { MSG_DONTWAIT, SOCK_CLOEXEC, libc as sharedLibc } from '../lib/libc';
import { type AddressSpec, type AddressTable, IpRoute } from './iproute';
import type { InterfaceInfo } from './vips';

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const NETLINK_ROUTE = 0;
const RTM_NEWADDR = 20;
const RTM_DELADDR = 21;
const NLMSG_ERROR = 2;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_LABEL = 3;
const IFA_BROADCAST = 4;
const IFA_FLAGS = 8;
const IFA_F_NODAD = 0x02;
const EEXIST = 17;
const ENODEV = 19;
const EADDRNOTAVAIL = 99;
const EAGAIN = 11;

const align4 = (n: number): number => (n + 3) & ~3;

function attr(type: number, data: Uint8Array): Buffer {
  const b = Buffer.alloc(align4(4 + data.length));
  b.writeUInt16LE(4 + data.length, 0);
  b.writeUInt16LE(type, 2);
  b.set(data, 4);
  return b;
}

/**
 * Builds the RTM_NEWADDR / RTM_DELADDR message for `spec` on interface `ifindex` (pure; exported for tests).
 * IPv4: IFA_LOCAL and IFA_ADDRESS, IFA_BROADCAST for prefixes ≤ 30, IFA_LABEL when set. IPv6: NODAD.
 */
export function addressMessage(kind: 'add' | 'del', spec: AddressSpec, ifindex: number, seq: number): Buffer {
  const ip = parseIP(spec.address);
  if (!ip || ip.family !== spec.family) throw new Error(`netlink: ${spec.address} is not IPv${spec.family}`);
  const bits = ip.family === 4 ? 32 : 128;
  if (!Number.isInteger(spec.prefixLength) || spec.prefixLength < 0 || spec.prefixLength > bits) {
    throw new Error(`netlink: bad prefix length ${spec.prefixLength} for ${spec.address}`);
  }
  const ifa = Buffer.alloc(8);
  ifa[0] = ip.family === 4 ? 2 : 10;
  ifa[1] = spec.prefixLength;
  ifa[2] = ip.family === 6 ? IFA_F_NODAD : 0;
  ifa[3] = 0; // RT_SCOPE_UNIVERSE
  ifa.writeUInt32LE(ifindex, 4);
  const attrs: Buffer[] = [attr(IFA_LOCAL, ip.bytes), attr(IFA_ADDRESS, ip.bytes)];
  if (kind === 'add') {
    if (ip.family === 4 && spec.prefixLength <= 30) {
      const brd = Uint8Array.from(ip.bytes);
      for (let i = 0; i < 4; i++) {
        const hostBits = Math.max(0, Math.min(8, 32 - spec.prefixLength - (3 - i) * 8));
        brd[i]! |= (1 << hostBits) - 1;
      }
      attrs.push(attr(IFA_BROADCAST, brd));
    }
    if (ip.family === 4 && spec.label && spec.label !== spec.device) {
      if (spec.label.length > 15) throw new Error(`netlink: label ${spec.label} longer than 15 characters`);
      attrs.push(attr(IFA_LABEL, Buffer.from(`${spec.label}\0`, 'utf8')));
    }
    if (ip.family === 6) {
      const f = Buffer.alloc(4);
      f.writeUInt32LE(IFA_F_NODAD, 0);
      attrs.push(attr(IFA_FLAGS, f));
    }
  }
  const body = Buffer.concat([ifa, ...attrs]);
  const hdr = Buffer.alloc(16);
  hdr.writeUInt32LE(16 + body.length, 0);
  hdr.writeUInt16LE(kind === 'add' ? RTM_NEWADDR : RTM_DELADDR, 4);
  hdr.writeUInt16LE(NLM_F_REQUEST | NLM_F_ACK | (kind === 'add' ? NLM_F_CREATE | NLM_F_EXCL : 0), 6);
  hdr.writeUInt32LE(seq, 8);
  hdr.writeUInt32LE(0, 12);
  return Buffer.concat([hdr, body]);
}

/** Reads the errno (0 = success) of the NLMSG_ERROR acknowledging `seq` in a receive buffer, if any. */
export function ackError(buf: Uint8Array, length: number, seq: number): number | undefined {
  const b = Buffer.from(buf.buffer, buf.byteOffset, length);
  let off = 0;
  while (off + 16 <= length) {
    const len = b.readUInt32LE(off);
    if (len < 16 || off + len > length) break;
    const type = b.readUInt16LE(off + 4);
    const s = b.readUInt32LE(off + 8);
    if (type === NLMSG_ERROR && s === seq && len >= 20) return 0 - b.readInt32LE(off + 16) || 0; // negative errno → errno; 0 = ack
    off += align4(len);
  }
  return undefined;
}

interface NetlinkLibc {
  socket: (d: number, t: number, p: number) => number;
  sendto: (fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, alen: number) => number;
  recv: (fd: number, buf: Buffer, len: number, flags: number) => number;
  close: (fd: number) => number;
  if_nametoindex: (name: string) => number;
  strerror: (e: number) => string;
}

let bound: NetlinkLibc | undefined;
function bind(): NetlinkLibc {
  if (bound) return bound;
  const lib = sharedLibc().lib;
  const sendto = lib.func('intptr_t sendto(int, const void *, size_t, int, const void *, uint32_t)');
  const recv = lib.func('intptr_t recv(int, void *, size_t, int)');
  bound = {
    socket: lib.func('int socket(int, int, int)'),
    sendto: (...a) => Number(sendto(...a)),
    recv: (...a) => Number(recv(...a)),
    close: lib.func('int close(int)'),
    if_nametoindex: lib.func('unsigned int if_nametoindex(const char *)'),
    strerror: lib.func('const char *strerror(int)'),
  };
  return bound;
}

/**
 * AddressTable whose add/del speak rtnetlink directly (list and routeDevice via `ip`).
 *
 * @throws Error from the constructor when the netlink socket cannot be opened (fall back to IpRoute).
 */
export class NetlinkAddresses implements AddressTable {
  private fd: number;
  private seq = Math.floor(Math.random() * 0x7fffffff);
  private readonly c = bind();
  private readonly rx = Buffer.alloc(8192);
  private readonly kernel = Buffer.alloc(12); // sockaddr_nl { AF_NETLINK, pad, pid 0, groups 0 }

  constructor(private readonly ip: AddressTable = new IpRoute()) {
    this.kernel.writeUInt16LE(AF_NETLINK, 0);
    this.fd = this.openSocket();
    this.warm();
  }

  /**
   * Runs every call of the add path once without changing anything (a message built and dropped, recv with
   * nothing queued, sendto on fd -1), so the first add of a takeover does not pay first-call costs (~1 ms
   * measured in the lab, during which a client packet attracted by the GARP found no address yet).
   */
  private warm(): void {
    const spec: AddressSpec = { address: '127.0.0.1', family: 4, prefixLength: 8, device: 'lo' };
    for (let i = 0; i < 3; i++) {
      const msg = addressMessage('add', spec, this.c.if_nametoindex('lo'), 0);
      this.c.sendto(-1, msg, msg.length, 0, this.kernel, 12);
      this.c.recv(this.fd, this.rx, this.rx.length, MSG_DONTWAIT);
      ackError(this.rx, 0, 0);
    }
  }

  private openSocket(): number {
    const fd = this.c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) throw new Error(`netlink socket: ${this.c.strerror(koffi.errno())}`);
    return fd;
  }

  list(): Promise<InterfaceInfo[]> {
    return this.ip.list();
  }

  routeDevice(address: string): Promise<string | undefined> {
    return this.ip.routeDevice(address);
  }

  async add(spec: AddressSpec): Promise<'added' | 'present'> {
    const e = await this.request('add', spec);
    if (e === 0) return 'added';
    if (e === EEXIST) return 'present';
    throw this.error('add', spec, e);
  }

  async del(spec: AddressSpec): Promise<'removed' | 'absent'> {
    const e = await this.request('del', spec);
    if (e === 0) return 'removed';
    if (e === EADDRNOTAVAIL) return 'absent';
    throw this.error('del', spec, e);
  }

  close(): void {
    if (this.fd >= 0) this.c.close(this.fd);
    this.fd = -1;
  }

  private error(kind: string, spec: AddressSpec, e: number): Error {
    const what = e === ENODEV ? `no interface ${spec.device}` : this.c.strerror(e);
    return new Error(
      `netlink: ${kind} ${spec.address}/${spec.prefixLength} dev ${spec.device}: ${what} (errno ${e})`,
    );
  }

  /** Sends one request and returns the kernel's errno for it (0 = done). */
  private async request(kind: 'add' | 'del', spec: AddressSpec): Promise<number> {
    if (this.fd < 0) this.fd = this.openSocket(); // closed by close(): reopen on use
    const ifindex = this.c.if_nametoindex(spec.device);
    if (ifindex === 0) return ENODEV;
    this.seq = (this.seq + 1) >>> 0;
    const seq = this.seq;
    const msg = addressMessage(kind, spec, ifindex, seq);
    if (this.c.sendto(this.fd, msg, msg.length, 0, this.kernel, 12) < 0) {
      throw new Error(`netlink: sendto: ${this.c.strerror(koffi.errno())}`);
    }
    // The kernel answers inside sendto; poll without blocking, yielding to the event loop if not there yet.
    const deadline = Date.now() + 2000;
    for (;;) {
      const n = this.c.recv(this.fd, this.rx, this.rx.length, MSG_DONTWAIT);
      if (n > 0) {
        const e = ackError(this.rx, n, seq);
        if (e !== undefined) return e;
        continue; // someone else's message (stale ack): read on
      }
      const err = koffi.errno();
      if (n < 0 && err !== EAGAIN) throw new Error(`netlink: recv: ${this.c.strerror(err)}`);
      if (Date.now() > deadline) throw new Error(`netlink: no answer to ${kind} ${spec.address}`);
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}
