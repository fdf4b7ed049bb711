/** UDP probe: send a datagram, expect a reply (matched like send/expect when `expect` is set). */
import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Probe } from '../types';
import { describeError, type ProbeTarget, quote, replyMatcher, withDeadline } from './common';

/** A UDP probe's datagram and the reply it expects (send/expect's rules). */
export interface UdpOptions {
  send?: string;
  expect?: string;
  useRegex: boolean;
}

/**
 * Sends `send` (empty datagram if unset) from a connected socket and waits for one reply within the timeout.
 * An ICMP port unreachable comes back as `connection refused` at once; silence is a timeout.
 */
export function udpProbe(t: ProbeTarget, o: UdpOptions): Probe {
  const payload = Buffer.from(o.send ?? '', 'latin1');
  const matcher = o.expect ? replyMatcher(o.expect, o.useRegex) : undefined;
  const type = isIPv6(t.address) ? 'udp6' : 'udp4';
  return () =>
    withDeadline(t.timeoutMs, (finish) => {
      const sock = createSocket(type);
      let closed = false;
      sock.on('error', (err) => finish(false, describeError(err)));
      sock.on('message', (msg) => {
        const why = matcher?.check(msg);
        finish(!why, why ?? `reply ${quote(msg)}`);
      });
      const go = (): void => {
        sock.connect(t.port, t.address, () => {
          if (closed) return;
          sock.send(payload, (err) => {
            if (err) finish(false, `send failed: ${describeError(err)}`);
          });
        });
      };
      if (t.sourceAddress) sock.bind({ address: t.sourceAddress, port: 0 }, go);
      else go();
      return () => {
        closed = true;
        try {
          sock.close();
        } catch {
          /* already closed */
        }
      };
    });
}
