/**
 * The raw-frame edge: an AF_PACKET / SOCK_RAW socket per interface, opened once via koffi (libc `socket`,
 * `sendto`, `close`, `if_nametoindex`) and kept open, so a takeover only costs one `sendto` per frame.
 *
 * The socket is opened with protocol 0: it sends only and never receives (no receive queue to drain).
 * Frames are complete Ethernet frames built by `arp.ts` / `ndp.ts`. Sends use MSG_DONTWAIT so a full
 * queue fails fast instead of blocking the event loop.
 */
import { readFileSync } from 'node:fs';
import koffi from 'koffi';
import { sysClassNetPath } from '../lib/ifname';
import { libc as sharedLibc } from '../lib/libc';
import { parseMac } from './addr';

const AF_PACKET = 17;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const MSG_DONTWAIT = 0x40;
const SOCKADDR_LL_SIZE = 20;

/** Something frames can be written to: one interface. */
export interface FrameSocket {
  readonly device: string;
  /** The interface's hardware address (source MAC of our frames). */
  readonly mac: Uint8Array;
  /** Sends one complete Ethernet frame; throws with errno text on failure. */
  send(frame: Uint8Array): void;
  /** Runs the send path for `frame` without sending it (pre-stages a takeover). */
  warm(frame: Uint8Array): void;
  close(): void;
}

interface Libc {
  socket: (domain: number, type: number, protocol: number) => number;
  sendto: (fd: number, buf: Uint8Array, len: number, flags: number, addr: Buffer, addrlen: number) => number;
  close: (fd: number) => number;
  if_nametoindex: (name: string) => number;
  strerror: (errnum: number) => string;
}

let libc: Libc | undefined;
function loadLibc(): Libc {
  if (libc) return libc;
  const lib = sharedLibc().lib; // one libc handle for the whole process (src/lib/libc.ts)
  libc = {
    socket: lib.func('int socket(int domain, int type, int protocol)'),
    sendto: lib.func(
      'intptr_t sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t addrlen)',
    ),
    close: lib.func('int close(int fd)'),
    if_nametoindex: lib.func('unsigned int if_nametoindex(const char *ifname)'),
    strerror: lib.func('const char *strerror(int errnum)'),
  };
  return libc;
}

function errnoText(c: Libc): string {
  const e = koffi.errno();
  return `${c.strerror(e)} (errno ${e})`;
}

/** Reads an interface's MAC from sysfs (`/sys/class/net/IF/address`). */
export function readInterfaceMac(device: string): Uint8Array {
  const path = sysClassNetPath(device, 'address'); // throws on a name that is not a device name
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`${path}: cannot read the MAC of ${device}: ${(err as Error).message}`);
  }
  return parseMac(text);
}

/** Builds a `struct sockaddr_ll` for sending on `ifindex` to `dst` with `ethertype`. */
function sockaddrLl(ifindex: number, ethertype: number, dst: Uint8Array): Buffer {
  const b = Buffer.alloc(SOCKADDR_LL_SIZE);
  b.writeUInt16LE(AF_PACKET, 0); // sll_family (host order; x86/arm little-endian)
  b.writeUInt16BE(ethertype, 2); // sll_protocol (network order)
  b.writeInt32LE(ifindex, 4); // sll_ifindex
  b.writeUInt16LE(1, 8); // sll_hatype ARPHRD_ETHER (ignored on send)
  b[10] = 0; // sll_pkttype
  b[11] = 6; // sll_halen
  b.set(dst.subarray(0, 6), 12);
  return b;
}

/**
 * Opens a send-only AF_PACKET socket on `device` (needs CAP_NET_RAW).
 *
 * @throws Error naming the device and the errno when the interface is missing or the socket cannot be made.
 * @example const s = openPacketSocket('eth0'); s.send(gratuitousArp('request', s.mac, '198.18.0.10'));
 */
export function openPacketSocket(device: string): FrameSocket {
  const c = loadLibc();
  const mac = readInterfaceMac(device);
  let ifindex = c.if_nametoindex(device);
  if (ifindex === 0) throw new Error(`raw socket on ${device}: no such interface (${errnoText(c)})`);
  let fd = c.socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new Error(`raw socket on ${device}: socket(AF_PACKET, SOCK_RAW) failed: ${errnoText(c)}`);
  // One sockaddr_ll per frame, built on first use (frames are pre-built and reused: a WeakMap hit per send).
  let addrs = new WeakMap<Uint8Array, Buffer>();
  const addrFor = (frame: Uint8Array): Buffer => {
    let a = addrs.get(frame);
    if (!a) {
      a = sockaddrLl(ifindex, (frame[12]! << 8) | frame[13]!, frame.subarray(0, 6));
      addrs.set(frame, a);
    }
    return a;
  };
  const sendVia = (useFd: number, frame: Uint8Array): number =>
    c.sendto(useFd, frame, frame.length, MSG_DONTWAIT, addrFor(frame), SOCKADDR_LL_SIZE);
  return {
    device,
    mac,
    warm(frame: Uint8Array): void {
      // The whole send path on fd -1 (EBADF, nothing leaves): JIT, FFI call set-up and sockaddr cache are
      // ready before the takeover, whose first sendto then costs microseconds.
      for (let i = 0; i < 3; i++) sendVia(-1, frame);
    },
    send(frame: Uint8Array): void {
      if (fd < 0) throw new Error(`raw socket on ${device}: closed`);
      if (frame.length < 14) throw new Error(`raw socket on ${device}: frame of ${frame.length} bytes`);
      let n = sendVia(fd, frame);
      if (n < 0) {
        const e = koffi.errno();
        // ENXIO / ENODEV / ENETDOWN: the interface may have been recreated (new ifindex): look it up once.
        if (e === 6 || e === 19 || e === 100) {
          const again = c.if_nametoindex(device);
          if (again !== 0 && again !== ifindex) {
            ifindex = again;
            addrs = new WeakMap();
            n = sendVia(fd, frame);
          }
        }
        if (n < 0) throw new Error(`raw socket on ${device}: sendto failed: ${errnoText(c)}`);
      }
    },
    close(): void {
      if (fd >= 0) c.close(fd);
      fd = -1;
    },
  };
}
