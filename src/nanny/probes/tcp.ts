/** TCP connect probe, and the send/expect probe over TCP (Piranha's default check), on the transport ladder. */
import { type ProbeTarget, quote, type ReplyMatcher, replyMatcher } from './common';
import type { Exchange, Probe } from './exchange';
import { connectProbe, exchangeProbe } from './transport';

/**
 * Up iff a TCP connection is established within the timeout; closed at once (reset). Half-open by default
 * (SYN, SYN-ACK, reset: the server's application never sees it) on the engine; `fullHandshake` sends the
 * last ACK first. On net/tls (the engine unavailable, or a target it does not take) always a full
 * handshake.
 */
export function tcpConnectProbe(t: ProbeTarget, o: { fullHandshake?: boolean } = {}): Probe {
  return connectProbe(t, { halfOpen: !o.fullHandshake });
}

/** send/expect's options: Piranha's `send`, `expect` and `use_regex`. */
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
