/**
 * Fast TCP connect probe on libuv's TCP handle (`process.binding('tcp_wrap')`), without net.Socket and its
 * stream machinery: about a third of the user CPU of `net.connect` per probe (measured: 8–13 µs against
 * 22–37 µs), which matters at 10,000 probes a second. The binding is Node's own (on process.binding's
 * allow-list since Node 10, still there in Node 22); when it is missing or behaves unexpectedly,
 * `fastTcpConnectProbe` returns undefined and the caller falls back to net.connect. Set
 * `LVS_PULSE_NANNY_NO_FAST_TCP=1` to force the fallback.
 *
 * Sockets here delay the handshake's last ACK (delayedAckHandle): a TCP connect probe is half-open (SYN,
 * SYN-ACK, RST) unless asked for the full handshake, and a request rides with the ACK. That saves a
 * segment per probe and, for connect probes, the server's accept. `LVS_PULSE_NANNY_NO_DELACK=1` turns it
 * off (to measure the difference).
 */
import { isIPv6 } from 'node:net';
import { getSystemErrorName } from 'node:util';
import { libc, SOCK_CLOEXEC, SOCK_NONBLOCK } from '../../lib/libc';
import type { Probe } from '../types';
import { describeError, type ProbeTarget, withDeadline } from './common';
import type { Exchange } from './exchange';

interface TcpHandle {
  /** Must always be a function: the native setter aborts the process on anything else. */
  onread: (ab?: ArrayBuffer) => void;
  readStart(): number;
  writeBuffer(req: WriteReq, data: Buffer): number;
  bind(address: string, port: number): number;
  bind6(address: string, port: number, flags: number): number;
  connect(req: ConnectReq, address: string, port: number): number;
  connect6(req: ConnectReq, address: string, port: number): number;
  open(fd: number): number;
  reset?(cb: () => void): number;
  close(cb?: () => void): void;
}
interface ConnectReq {
  oncomplete: (status: number) => void;
  address: string;
  port: number;
}
interface WriteReq {
  handle: TcpHandle;
  oncomplete: (status: number) => void;
  async: boolean;
}
interface StreamWrap {
  WriteWrap: new () => WriteReq;
  kReadBytesOrError: number;
  kArrayBufferOffset: number;
  kLastWriteWasAsync: number;
  streamBaseState: Int32Array;
}
interface TcpWrap {
  TCP: new (type: number) => TcpHandle;
  TCPConnectWrap: new () => ConnectReq;
  constants: { SOCKET: number };
}

let binding: TcpWrap | null | undefined;
let streams: StreamWrap | null | undefined;
let uvEof = -4095;

function tcpWrap(): TcpWrap | undefined {
  if (binding !== undefined) return binding ?? undefined;
  binding = null;
  if (process.env['LVS_PULSE_NANNY_NO_FAST_TCP']) return undefined;
  try {
    const b = (process as unknown as { binding(name: string): unknown }).binding(
      'tcp_wrap',
    ) as Partial<TcpWrap>;
    if (
      typeof b?.TCP === 'function' &&
      typeof b.TCPConnectWrap === 'function' &&
      typeof b.constants?.SOCKET === 'number' &&
      typeof b.TCP.prototype.connect === 'function' &&
      typeof b.TCP.prototype.reset === 'function'
    ) {
      binding = b as TcpWrap;
    }
  } catch {
    binding = null;
  }
  return binding ?? undefined;
}

function streamWrap(): StreamWrap | undefined {
  if (streams !== undefined) return streams ?? undefined;
  streams = null;
  if (!tcpWrap()) return undefined;
  try {
    const pb = (process as unknown as { binding(name: string): unknown }).binding;
    const s = pb('stream_wrap') as Partial<StreamWrap>;
    const uv = pb('uv') as { UV_EOF?: number };
    if (
      typeof s?.WriteWrap === 'function' &&
      s.streamBaseState instanceof Int32Array &&
      typeof s.kReadBytesOrError === 'number' &&
      typeof s.kArrayBufferOffset === 'number' &&
      typeof s.kLastWriteWasAsync === 'number' &&
      typeof binding?.TCP.prototype.readStart === 'function' &&
      typeof binding.TCP.prototype.writeBuffer === 'function' &&
      typeof uv?.UV_EOF === 'number'
    ) {
      streams = s as StreamWrap;
      uvEof = uv.UV_EOF;
    }
  } catch {
    streams = null;
  }
  return streams ?? undefined;
}

interface SockCalls {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, val: Buffer, len: number): number;
  close(fd: number): number;
}
/** libc's socket calls for delayedAckHandle; null when unavailable (then: plain handles). */
let sockCalls: SockCalls | null | undefined;
const INT_ZERO = Buffer.alloc(4);
function sockets(): SockCalls | undefined {
  if (sockCalls !== undefined) return sockCalls ?? undefined;
  sockCalls = null;
  if (process.env['LVS_PULSE_NANNY_NO_DELACK']) return undefined;
  // open(fd) hands our socket to the handle; without it (another Node), plain handles: a full handshake
  if (typeof tcpWrap()?.TCP.prototype.open !== 'function') return undefined;
  try {
    const c = libc();
    const setsockopt = c.lib.func('int setsockopt(int, int, int, const void *, uint32_t)');
    sockCalls = {
      socket: c.socket,
      close: c.close,
      setsockopt: (fd, level, name, val, len) => setsockopt(fd, level, name, val, len) as number,
    };
  } catch {
    sockCalls = null;
  }
  return sockCalls ?? undefined;
}

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const IPPROTO_TCP = 6;
const TCP_QUICKACK = 12;

/**
 * A TCP handle on a socket whose handshake ACK is delayed: TCP_QUICKACK off before connect puts the socket
 * in "pingpong" mode, so the kernel holds the last ACK of the handshake (up to 200 ms) instead of sending
 * it. The ACK then rides on the request's first segment, or is never sent when the probe resets at once
 * (a half-open check: SYN, SYN-ACK, RST). HAProxy's checks do the same. libuv cannot set an option
 * between creating the socket and connecting, so the socket is made here (libc through koffi) and handed
 * to the handle with `open(fd)`. Falls back to a plain handle (a full handshake) when that fails.
 */
function delayedAckHandle(b: TcpWrap, v6: boolean): TcpHandle {
  const s = sockets();
  if (s) {
    const fd = s.socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
      const h = new b.TCP(b.constants.SOCKET);
      if (s.setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, INT_ZERO, 4) === 0 && h.open(fd) === 0) return h;
      h.close();
      s.close(fd);
    }
  }
  return new b.TCP(b.constants.SOCKET);
}

function ignoreRead(): void {}
function noop(): void {}

function errName(status: number): string {
  try {
    return describeError({ code: getSystemErrorName(status) });
  } catch {
    return `error ${status}`;
  }
}

/**
 * Up iff a TCP connection is established within the timeout (our side got the SYN-ACK); the connection is
 * then reset (no TIME_WAIT left behind). `halfOpen`: the handshake's last ACK is never sent, so the server
 * drops the half-open connection at the reset and its application never accepts it. Returns undefined
 * when the fast path is unavailable.
 */
export function fastTcpConnectProbe(t: ProbeTarget, halfOpen = true): Probe | undefined {
  const b = tcpWrap();
  if (!b) return undefined;
  const v6 = isIPv6(t.address);
  const { TCP, TCPConnectWrap } = b;
  const SOCKET = b.constants.SOCKET;
  return () =>
    withDeadline(t.timeoutMs, (finish) => {
      const h = halfOpen ? delayedAckHandle(b, v6) : new TCP(SOCKET);
      let connected = false;
      let closed = false;
      if (t.sourceAddress) {
        const e = isIPv6(t.sourceAddress) ? h.bind6(t.sourceAddress, 0, 0) : h.bind(t.sourceAddress, 0);
        if (e) {
          finish(false, errName(e));
          return () => close();
        }
      }
      const req = new TCPConnectWrap();
      req.address = t.address;
      req.port = t.port;
      req.oncomplete = (status: number) => {
        if (status === 0) {
          connected = true;
          finish(true, 'connected');
          close();
        } else finish(false, errName(status));
      };
      const err = v6 ? h.connect6(req, t.address, t.port) : h.connect(req, t.address, t.port);
      if (err) finish(false, errName(err));
      function close(): void {
        if (closed) return;
        closed = true;
        if (connected && h.reset && h.reset(noop) === 0) return;
        h.close();
      }
      return close;
    });
}

/**
 * exchangeProbe's fast path (plain TCP): connect on the handle, write the payload with a WriteWrap, read
 * with `onread` (as net.Socket does internally, minus the stream machinery), reset on close. With
 * `keepAlive`, the handle of a run whose exchange says `reusable()` is parked instead and the next run
 * writes on it, with keepAliveExchangeProbe's semantics (exchange.ts): a parked connection the server
 * closes or writes to is discarded; a reused one that fails before any reply byte is retried once on a
 * fresh connection within the same deadline; `dispose()` resets the parked one. Returns undefined when the
 * bindings are unavailable.
 */
export function fastExchange(t: ProbeTarget, make: () => Exchange, keepAlive = false): Probe | undefined {
  const b = tcpWrap();
  const s = streamWrap();
  if (!b || !s) return undefined;
  const wrap: TcpWrap = b;
  const v6 = isIPv6(t.address);
  const { TCPConnectWrap } = b;
  const { WriteWrap, streamBaseState: state, kReadBytesOrError, kArrayBufferOffset, kLastWriteWasAsync } = s;
  let parked: TcpHandle | undefined;
  let disposed = false;
  const reset = (h: TcpHandle): void => {
    h.onread = ignoreRead;
    if (!(h.reset && h.reset(noop) === 0)) h.close();
  };
  const park = (h: TcpHandle): void => {
    if (disposed) {
      reset(h);
      return;
    }
    parked = h;
    // idle: an orderly close, a reset or any byte from the server ends it
    h.onread = () => {
      if (parked === h) parked = undefined;
      reset(h);
    };
  };
  const probe: Probe = () =>
    withDeadline(t.timeoutMs, (finish) => {
      let x = make();
      let h: TcpHandle;
      let connected = false;
      let closed = false;
      let reused = false;
      let replied = false;
      function close(): void {
        if (closed) return;
        closed = true;
        if (keepAlive && connected && x.reusable?.()) park(h);
        else if (connected) reset(h);
        else {
          h.onread = ignoreRead;
          h.close();
        }
      }
      // a failure; on a reused connection before any reply, retry once on a fresh one instead
      function fail(detail: string): void {
        if (closed) return;
        if (!reused || replied) {
          finish(false, detail);
          return;
        }
        reused = false;
        reset(h);
        x = make();
        open();
      }
      function onRead(ab?: ArrayBuffer): void {
        if (closed) return;
        const n = state[kReadBytesOrError]!;
        if (n > 0 && ab) {
          replied = true;
          x.onData(Buffer.from(ab, state[kArrayBufferOffset]!, n), finish);
        } else if (n === uvEof) {
          if (reused && !replied) fail('connection closed');
          else x.onEnd(finish);
        } else if (n < 0) fail(errName(n));
      }
      function send(): void {
        const payload = x.payload;
        if (!payload) {
          x.afterSend?.(finish);
          return;
        }
        const w = new WriteWrap();
        w.handle = h;
        w.async = false;
        w.oncomplete = (st: number) => {
          if (closed) return;
          if (st < 0) fail(`send failed: ${errName(st)}`);
          else x.afterSend?.(finish);
        };
        const we = h.writeBuffer(w, payload);
        if (we) fail(`send failed: ${errName(we)}`);
        else if (!state[kLastWriteWasAsync]) x.afterSend?.(finish);
      }
      function open(): void {
        // a banner to wait for (no payload): the server accepts, and speaks, only once our ACK arrives
        h = x.payload ? delayedAckHandle(wrap, v6) : new wrap.TCP(wrap.constants.SOCKET);
        connected = false;
        if (t.sourceAddress) {
          const e = isIPv6(t.sourceAddress) ? h.bind6(t.sourceAddress, 0, 0) : h.bind(t.sourceAddress, 0);
          if (e) {
            finish(false, errName(e));
            return;
          }
        }
        h.onread = onRead;
        const req = new TCPConnectWrap();
        req.address = t.address;
        req.port = t.port;
        req.oncomplete = (status: number) => {
          if (closed) return;
          if (status !== 0) return finish(false, errName(status));
          connected = true;
          const re = h.readStart();
          if (re) return finish(false, errName(re));
          send();
        };
        const err = v6 ? h.connect6(req, t.address, t.port) : h.connect(req, t.address, t.port);
        if (err) finish(false, errName(err));
      }
      if (parked) {
        h = parked;
        parked = undefined;
        connected = true;
        reused = true;
        h.onread = onRead;
        send();
      } else open();
      return close;
    });
  if (keepAlive) {
    probe.dispose = () => {
      disposed = true;
      if (parked) reset(parked);
      parked = undefined;
    };
  }
  return probe;
}
