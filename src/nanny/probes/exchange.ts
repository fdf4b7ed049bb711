/**
 * A request/reply exchange over one TCP (or TLS) connection, the shape of the send/expect and HTTP probes:
 * connect, write an optional payload, feed every chunk read to the probe's logic until it decides, and
 * report an orderly close. Two transports run the same logic:
 * - the fast path on libuv's TCP handle (tcp-handle.ts; plain TCP only), about a third of net.Socket's
 *   user CPU per probe;
 * - net.Socket / tls.TLSSocket (TLS, and the fallback).
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Probe } from '../types';
import { describeError, type ProbeTarget, withDeadline } from './common';
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
}

export interface TlsOptions {
  servername?: string;
  rejectUnauthorized: boolean;
}

/** Builds a probe running `make()`'s exchange against `t`, over TLS when `tls` is given. */
export function exchangeProbe(t: ProbeTarget, make: () => Exchange, tls?: TlsOptions): Probe {
  if (!tls) {
    const fast = fastExchange(t, make);
    if (fast) return fast;
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
 * Closes a probe connection with a reset when it is established, so ten thousand probes a second leave no
 * TIME_WAIT behind on the router (as haproxy's health checks do); plain destroy otherwise.
 */
export function closeFast(sock: Socket): void {
  sock.on('error', () => {});
  if (sock.readyState === 'open' && typeof sock.resetAndDestroy === 'function') sock.resetAndDestroy();
  else sock.destroy();
}
