/** TCP connect probe, and the send/expect probe over TCP (Piranha's default check). */
import { connect, type Socket } from 'node:net';
import type { Probe } from '../types';
import {
  describeError,
  type ProbeTarget,
  quote,
  type ReplyMatcher,
  replyMatcher,
  withDeadline,
} from './common';
import { fastTcpConnectProbe } from './tcp-handle';

/**
 * Up iff a TCP connection is established within the timeout; closed at once (reset). Uses the fast
 * handle-based path when available (tcp-handle.ts), net.connect otherwise.
 */
export function tcpConnectProbe(t: ProbeTarget): Probe {
  return fastTcpConnectProbe(t) ?? netTcpConnectProbe(t);
}

/** tcpConnectProbe on net.connect (the fallback; also used by tests to compare). */
export function netTcpConnectProbe(t: ProbeTarget): Probe {
  const opts = { host: t.address, port: t.port, localAddress: t.sourceAddress };
  return () =>
    withDeadline(t.timeoutMs, (finish) => {
      const sock = connect(opts);
      sock.once('connect', () => finish(true, 'connected'));
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

export interface SendExpectOptions {
  send?: string;
  expect?: string;
  useRegex: boolean;
}

/**
 * Connects, writes `send` (if any), and judges the first read against `expect` with Piranha's rules
 * (prefix, `*`, or unanchored regex over the first 254 bytes). Without `expect`, up once `send` is written.
 * A close or reset before any reply is down (except for `*`, which accepts an orderly close).
 */
export function sendExpectProbe(t: ProbeTarget, o: SendExpectOptions): Probe {
  const opts = { host: t.address, port: t.port, localAddress: t.sourceAddress };
  const payload = o.send ? Buffer.from(o.send, 'latin1') : undefined;
  const matcher: ReplyMatcher | undefined = o.expect ? replyMatcher(o.expect, o.useRegex) : undefined;
  const star = o.expect === '*';
  return () =>
    withDeadline(t.timeoutMs, (finish) => {
      const sock = connect(opts);
      sock.once('connect', () => {
        if (payload) {
          sock.write(payload, (err) => {
            if (err) finish(false, `send failed: ${describeError(err)}`);
            else if (!matcher) finish(true, 'sent');
          });
        } else if (!matcher) finish(true, 'connected');
      });
      sock.once('data', (chunk: Buffer) => {
        const why = matcher?.check(chunk);
        finish(!why, why ?? `reply ${quote(chunk)}`);
      });
      sock.once('end', () => finish(star, star ? 'closed without reply' : 'connection closed before reply'));
      sock.once('error', (err) => finish(false, describeError(err)));
      return () => closeFast(sock);
    });
}
