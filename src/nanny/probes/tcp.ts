/** TCP connect probe, and the send/expect probe over TCP (Piranha's default check). */
import { connect } from 'node:net';
import type { Probe } from '../types';
import {
  describeError,
  type ProbeTarget,
  quote,
  type ReplyMatcher,
  replyMatcher,
  withDeadline,
} from './common';
import { closeFast, type Exchange, exchangeProbe } from './exchange';
import { epollTcpConnectProbe } from './epoll';
import { fastTcpConnectProbe } from './tcp-handle';

export { closeFast } from './exchange';

/**
 * Up iff a TCP connection is established within the timeout; closed at once (reset). Half-open by default
 * (SYN, SYN-ACK, reset: the server's application never sees it); `fullHandshake` sends the last ACK first.
 * Runs on the probe-socket engine (epoll.ts) when available, else on libuv's TCP handle (tcp-handle.ts),
 * else on net.connect (always a full handshake).
 */
export function tcpConnectProbe(t: ProbeTarget, o: { fullHandshake?: boolean } = {}): Probe {
  const libuv = (): Probe => fastTcpConnectProbe(t, !o.fullHandshake) ?? netTcpConnectProbe(t);
  return epollTcpConnectProbe(t, !o.fullHandshake, libuv) ?? libuv();
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
  const payload = o.send ? Buffer.from(o.send, 'latin1') : undefined;
  const matcher: ReplyMatcher | undefined = o.expect ? replyMatcher(o.expect, o.useRegex) : undefined;
  const star = o.expect === '*';
  const ex: Exchange = {
    payload,
    afterSend: (finish) => {
      if (!matcher) finish(true, payload ? 'sent' : 'connected');
    },
    // Piranha judged the first read only
    onData: (chunk, finish) => {
      const why = matcher?.check(chunk);
      finish(!why, why ?? `reply ${quote(chunk)}`);
    },
    onEnd: (finish) => finish(star, star ? 'closed without reply' : 'connection closed before reply'),
  };
  // stateless: one exchange object serves every run
  return exchangeProbe(t, () => ex);
}
