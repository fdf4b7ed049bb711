/** DNS probe: ask the real server (as a DNS server) for a name; up iff it answers with records. */
import { Resolver } from 'node:dns';
import { isIPv6 } from 'node:net';
import type { Probe } from '../types';
import { describeError, type ProbeTarget, withDeadline } from './common';

/** The record types a DNS probe may ask for. */
export type DnsType = 'A' | 'AAAA' | 'SOA' | 'NS' | 'TXT';

const DNS_WORDS: Record<string, string> = {
  ENODATA: 'no records of that type',
  ENOTFOUND: 'name not found (NXDOMAIN)',
  ESERVFAIL: 'server failure (SERVFAIL)',
  EREFUSED: 'query refused (REFUSED)',
  ECONNREFUSED: 'connection refused',
  ETIMEOUT: 'no answer',
  EBADRESP: 'malformed reply',
  EFORMERR: 'format error',
  ECANCELLED: 'cancelled',
};

/**
 * Queries `name`/`type` from `address:port` with one try (`Resolver` with `setServers` and
 * `setLocalAddress`). A reply with at least one record is up; NXDOMAIN, no data, SERVFAIL, a malformed
 * reply or silence is down.
 */
export function dnsProbe(t: ProbeTarget, q: { name: string; type: DnsType }): Probe {
  const resolver = new Resolver({ timeout: t.timeoutMs, tries: 1 });
  resolver.setServers([isIPv6(t.address) ? `[${t.address}]:${t.port}` : `${t.address}:${t.port}`]);
  if (t.sourceAddress) {
    if (isIPv6(t.sourceAddress)) resolver.setLocalAddress('0.0.0.0', t.sourceAddress);
    else resolver.setLocalAddress(t.sourceAddress);
  }
  return () =>
    withDeadline(t.timeoutMs, (finish) => {
      resolver.resolve(q.name, q.type, (err: NodeJS.ErrnoException | null, records: unknown) => {
        if (err) return finish(false, (err.code && DNS_WORDS[err.code]) || describeError(err));
        const n = Array.isArray(records) ? records.length : records ? 1 : 0;
        if (n === 0) return finish(false, 'empty answer');
        finish(true, `${n} ${q.type} record${n === 1 ? '' : 's'}`);
      });
      return () => resolver.cancel();
    });
}
