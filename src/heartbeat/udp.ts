/**
 * The heartbeat's UDP sockets (I/O edge). One socket per path, bound to the configured local address
 * (never 0.0.0.0: Piranha did that and failed with EADDRINUSE), sending to the peer's address on that path;
 * optionally a multicast socket bound to the group (so IP_MULTICAST_ALL cannot feed it other groups), TTL 1,
 * joined on the given interface.
 */
import { createSocket, type Socket } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { isIPv6 } from 'node:net';
import type { Log } from '../lib/log.js';
import type { PathName } from './codec.js';
import type { Transport } from './core.js';

/** A unicast path: our address on it (the socket binds there) and the peer's. */
export interface UnicastPath {
  path: 'public' | 'private';
  localAddress: string;
  peerAddress: string;
}

/** The multicast path: the group, where to join it, our source address, the TTL. */
export interface MulticastPath {
  group: string;
  /** Interface name; default: the interface holding `localAddress`. */
  interface?: string;
  /** Our address on that interface (the multicast source). */
  localAddress: string;
  ttl: number;
}

/** What {@link UdpTransport.open} opens, and where received packets go. */
export interface UdpOptions {
  port: number;
  unicast: UnicastPath[];
  multicast?: MulticastPath;
  onMessage: (path: PathName, buf: Buffer, from: string) => void;
  log: Log;
}

/** Address of `family` on interface `name`, or undefined. */
export function interfaceAddress(name: string, v6: boolean): string | undefined {
  const list = networkInterfaces()[name] ?? [];
  const hit = list.find((a) => (v6 ? a.family === 'IPv6' : a.family === 'IPv4'));
  return hit?.address;
}

/** Every address of this host (for who-am-I). */
export function localAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a): a is NonNullable<typeof a> => a !== undefined)
    .map((a) => a.address);
}

function bindSocket(sock: Socket, address: string, port: number, exclusive: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    sock.once('error', onError);
    sock.bind({ address, port, exclusive }, () => {
      sock.off('error', onError);
      resolve();
    });
  });
}

/**
 * The heartbeat's sockets, one per path (see the file header): the core's {@link Transport}, and the source
 * of every received packet (`onMessage`, with the path it came in on and its source address).
 */
export class UdpTransport implements Transport {
  /** Send errors by `path:code` (e.g. `private:ENETUNREACH`). */
  readonly sendErrors: Record<string, number> = {};
  private socks = new Map<PathName, { sock: Socket; to: string }>();
  private lastErrorLogged = new Map<string, number>();

  private constructor(private readonly opts: UdpOptions) {}

  /** Opens and binds every socket. Rejects (closing what was opened) with the path and address at fault. */
  static async open(opts: UdpOptions): Promise<UdpTransport> {
    const t = new UdpTransport(opts);
    try {
      for (const u of opts.unicast) await t.openUnicast(u);
      if (opts.multicast) await t.openMulticast(opts.multicast);
    } catch (err) {
      t.close();
      throw err;
    }
    return t;
  }

  private watch(path: PathName, sock: Socket): void {
    sock.on('message', (buf, rinfo) => this.opts.onMessage(path, buf, rinfo.address));
    sock.on('error', (err) => this.opts.log.error('heartbeat socket error', { path, error: err.message }));
  }

  private async openUnicast(u: UnicastPath): Promise<void> {
    const sock = createSocket({ type: isIPv6(u.localAddress) ? 'udp6' : 'udp4' });
    try {
      await bindSocket(sock, u.localAddress, this.opts.port, true);
    } catch (err) {
      sock.close();
      throw new Error(
        `heartbeat: cannot bind ${u.path} path to ${u.localAddress}:${this.opts.port}: ${(err as Error).message}` +
          ' (is the address configured on this host?)',
      );
    }
    this.watch(u.path, sock);
    this.socks.set(u.path, { sock, to: u.peerAddress });
  }

  private async openMulticast(m: MulticastPath): Promise<void> {
    const v6 = isIPv6(m.group);
    const sock = createSocket({ type: v6 ? 'udp6' : 'udp4', reuseAddr: true });
    const ifAddr = m.interface ? (interfaceAddress(m.interface, v6) ?? m.localAddress) : m.localAddress;
    const membership = v6 && m.interface ? `::%${m.interface}` : ifAddr;
    try {
      await bindSocket(sock, m.group, this.opts.port, false);
      sock.addMembership(m.group, membership);
      sock.setMulticastInterface(v6 && m.interface ? `::%${m.interface}` : ifAddr);
      sock.setMulticastTTL(m.ttl);
      sock.setMulticastLoopback(false);
    } catch (err) {
      sock.close();
      throw new Error(
        `heartbeat: cannot join multicast ${m.group} on ${m.interface ?? ifAddr}: ${(err as Error).message}`,
      );
    }
    this.watch('multicast', sock);
    this.socks.set('multicast', { sock, to: m.group });
  }

  /** Sends on `path`; errors (ENETUNREACH while a link is down…) are counted and logged at most once a second. */
  send(path: PathName, buf: Buffer): void {
    const s = this.socks.get(path);
    if (!s) return;
    s.sock.send(buf, this.opts.port, s.to, (err) => {
      if (!err) return;
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      const k = `${path}:${code}`;
      this.sendErrors[k] = (this.sendErrors[k] ?? 0) + 1;
      const now = Date.now();
      if ((this.lastErrorLogged.get(k) ?? 0) + 1000 < now) {
        this.lastErrorLogged.set(k, now);
        this.opts.log.warn('heartbeat send failed', { path, to: s.to, error: err.message });
      }
    });
  }

  /** Paths with an open socket. */
  paths(): PathName[] {
    return [...this.socks.keys()];
  }

  /** Closes every socket. */
  close(): void {
    for (const { sock } of this.socks.values()) {
      try {
        sock.close();
      } catch {
        // already closed
      }
    }
    this.socks.clear();
  }
}
