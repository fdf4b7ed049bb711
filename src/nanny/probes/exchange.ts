/**
 * A request/reply exchange over one TCP (or TLS) connection, the shape of the send/expect and HTTP probes:
 * connect, write an optional payload, feed every chunk read to the probe's logic until it decides, and
 * report an orderly close. Three transports run the same logic:
 * - our own probe sockets on one epoll set (epoll.ts; plain TCP, a fresh connection per probe);
 * - the fast path on libuv's TCP handle (tcp-handle.ts; plain TCP only), about a third of net.Socket's
 *   user CPU per probe;
 * - net.Socket / tls.TLSSocket (TLS, and the fallback).
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { TLSSocket, connect as tlsConnect } from 'node:tls';
import type { Probe } from '../types';
import { describeError, type ProbeTarget, withDeadline } from './common';
import { epollExchange } from './epoll';
import { fastExchange } from './tcp-handle';

/** `finish(ok, detail, weight?)` as given by withDeadline: the first call decides. */
export type Finish = (ok: boolean, detail: string, weight?: number) => void;

/** The probe's logic for one exchange; a fresh one per probe run (it may keep per-run state). */
export interface Exchange {
  /** Written once connected. */
  payload?: Buffer;
  /** Called when the payload (if any) has been written. */
  afterSend?(finish: Finish): void;
  /** Called for each chunk read. */
  onData(chunk: Buffer, finish: Finish): void;
  /** Called on an orderly close by the peer. */
  onEnd(finish: Finish): void;
  /**
   * Keep-alive only: after the verdict, whether the connection is clean for the next request (the whole
   * reply was read and the server agreed to keep the connection open).
   */
  reusable?(): boolean;
}

export interface TlsOptions {
  servername?: string;
  rejectUnauthorized: boolean;
}

/** Builds a probe running `make()`'s exchange against `t`, over TLS when `tls` is given. */
export function exchangeProbe(t: ProbeTarget, make: () => Exchange, tls?: TlsOptions): Probe {
  if (!tls) {
    const libuv = (): Probe => fastExchange(t, make) ?? netExchangeProbe(t, make);
    return epollExchange(t, make, libuv) ?? libuv();
  }
  return netExchangeProbe(t, make, tls);
}

/** exchangeProbe on net.Socket / tls.TLSSocket. */
export function netExchangeProbe(t: ProbeTarget, make: () => Exchange, tls?: TlsOptions): Probe {
  const tcpOpts = { host: t.address, port: t.port, localAddress: t.sourceAddress };
  const tlsOpts = tls ? { ...tcpOpts, ...tls } : undefined;
  return () =>
    withDeadline(t.timeoutMs, (finish) => {
      const x = make();
      const sock: Socket = tlsOpts ? tlsConnect(tlsOpts) : tcpConnect(tcpOpts);
      sock.once(tlsOpts ? 'secureConnect' : 'connect', () => {
        if (x.payload) {
          sock.write(x.payload, (err) => {
            if (err) finish(false, `send failed: ${describeError(err)}`);
            else x.afterSend?.(finish);
          });
        } else x.afterSend?.(finish);
      });
      sock.on('data', (chunk: Buffer) => x.onData(chunk, finish));
      sock.once('end', () => x.onEnd(finish));
      sock.once('error', (err) => finish(false, describeError(err)));
      return () => closeFast(sock);
    });
}

/**
 * exchangeProbe over a kept-alive connection (HTTP keep-alive): the connection of a run whose exchange says
 * `reusable()` is parked, and the next run writes its request on it instead of connecting. While parked it
 * is watched: an orderly close, a reset or unexpected bytes from the server discard it. A reused connection
 * that fails before the first byte of the reply (closed, reset, write error: the server dropped an idle
 * connection just as we wrote) is not a verdict: the run retries once on a fresh connection within the same
 * deadline, so a dead service still fails this very probe (connection refused) and a live one passes. A
 * timeout on a reused connection is a verdict (down), and the connection is dropped. `dispose()` closes
 * the parked connection.
 */
export function keepAliveExchangeProbe(t: ProbeTarget, make: () => Exchange, tls?: TlsOptions): Probe {
  if (!tls) {
    const fast = fastExchange(t, make, true);
    if (fast) return fast;
  }
  return netKeepAliveExchangeProbe(t, make, tls);
}

/** Our listeners on a socket, so they can be removed without touching net/tls's own. */
interface Listeners {
  data: (chunk: Buffer) => void;
  end: () => void;
  error: (err: Error) => void;
  close: () => void;
}

function listen(sock: Socket, l: Listeners): () => void {
  sock.on('data', l.data);
  sock.on('end', l.end);
  sock.on('error', l.error);
  sock.on('close', l.close);
  return () => {
    sock.off('data', l.data);
    sock.off('end', l.end);
    sock.off('error', l.error);
    sock.off('close', l.close);
  };
}

/** keepAliveExchangeProbe on net.Socket / tls.TLSSocket. */
export function netKeepAliveExchangeProbe(t: ProbeTarget, make: () => Exchange, tls?: TlsOptions): Probe {
  const tcpOpts = { host: t.address, port: t.port, localAddress: t.sourceAddress };
  const tlsOpts = tls ? { ...tcpOpts, ...tls } : undefined;
  let parked: { sock: Socket; unlisten: () => void } | undefined;
  let disposed = false;
  const drop = (sock: Socket): void => {
    if (parked?.sock === sock) {
      parked.unlisten();
      parked = undefined;
    }
    closeFast(sock);
  };
  const park = (sock: Socket): void => {
    if (disposed || sock.destroyed || !sock.writable) {
      closeFast(sock);
      return;
    }
    sock.unref();
    // anything from the server while idle ends the connection
    const gone = (): void => drop(sock);
    parked = { sock, unlisten: listen(sock, { data: gone, end: gone, error: gone, close: gone }) };
  };
  const probe: Probe = () =>
    withDeadline(t.timeoutMs, (finish) => {
      let x = make();
      let sock: Socket;
      let unlisten: () => void = () => {};
      let reused = false;
      let replied = false;
      let done = false;
      const send = (): void => {
        if (x.payload) {
          sock.write(x.payload, (err) => {
            if (err) fail(`send failed: ${describeError(err)}`);
            else x.afterSend?.(finish);
          });
        } else x.afterSend?.(finish);
      };
      // a reused connection that fails before any reply: retry once on a fresh one
      const fail = (detail: string): void => {
        if (done) return;
        if (reused && !replied) {
          unlisten();
          closeFast(sock);
          x = make();
          open(fresh(), false);
        } else finish(false, detail);
      };
      const fresh = (): Socket => (tlsOpts ? tlsConnect(tlsOpts) : tcpConnect(tcpOpts));
      const open = (s: Socket, isReused: boolean): void => {
        sock = s;
        reused = isReused;
        unlisten = listen(s, {
          data: (chunk) => {
            replied = true;
            x.onData(chunk, finish);
          },
          end: () => (reused && !replied ? fail('connection closed') : x.onEnd(finish)),
          error: (err) => fail(describeError(err)),
          close: () => fail('connection closed'),
        });
        if (isReused) {
          s.ref();
          send();
        } else s.once(tlsOpts ? 'secureConnect' : 'connect', send);
      };
      const idle = parked;
      parked = undefined;
      if (idle) {
        idle.unlisten();
        open(idle.sock, true);
      } else open(fresh(), false);
      return () => {
        done = true;
        unlisten();
        if (x.reusable?.()) park(sock);
        else closeFast(sock);
      };
    });
  probe.dispose = () => {
    disposed = true;
    if (parked) drop(parked.sock);
  };
  return probe;
}

/**
 * Closes a probe connection with a reset when it is established, so ten thousand probes a second leave no
 * TIME_WAIT behind on the router (as haproxy's health checks do); plain destroy otherwise (not connected,
 * or TLS).
 */
export function closeFast(sock: Socket): void {
  sock.on('error', () => {});
  // a TLSSocket cannot reset (resetAndDestroy throws ERR_INVALID_HANDLE_TYPE on its TLS handle, which left
  // the connection open): it is destroyed, i.e. closed with a FIN after close_notify
  if (
    !(sock instanceof TLSSocket) &&
    sock.readyState === 'open' &&
    typeof sock.resetAndDestroy === 'function'
  )
    sock.resetAndDestroy();
  else sock.destroy();
}
