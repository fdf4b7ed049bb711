/** HTTP and HTTPS GET probe: status codes, optional body regex, Host header, SNI, skip-verify, weight header. */
import { type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Probe } from '../types';
import { parseWeight } from '../weights';
import { describeError, type ProbeTarget, withDeadline } from './common';

/** Bodies are read up to this size for the regex. */
export const BODY_LIMIT = 64 * 1024;

export interface HttpOptions {
  tls: boolean;
  path: string;
  /** Accepted status codes; empty = 200–399. */
  status: number[];
  bodyRegex?: string;
  host?: string;
  sni?: string;
  insecure: boolean;
  /** Response header whose integer value sets the weight (misc_dynamic style). */
  weightHeader?: string;
}

/**
 * GET `path` on the real server itself (no DNS: the connection goes to the target address). Up iff the
 * status is accepted and, when set, the body (first 64 KiB) matches `bodyRegex`. Each probe opens a fresh
 * connection (no keep-alive) so a dead listener is seen at once.
 */
export function httpProbe(t: ProbeTarget, o: HttpOptions): Probe {
  const bodyRe = o.bodyRegex ? new RegExp(o.bodyRegex) : undefined;
  const accept = new Set(o.status);
  const headerName = o.weightHeader?.toLowerCase();
  const hostHeader =
    o.host ?? (t.address.includes(':') ? `[${t.address}]:${t.port}` : `${t.address}:${t.port}`);
  const request = o.tls ? httpsRequest : httpRequest;
  const base = {
    host: t.address,
    port: t.port,
    path: o.path,
    method: 'GET',
    localAddress: t.sourceAddress,
    agent: false as const,
    headers: { Host: hostHeader, 'User-Agent': 'lvs-pulse-nanny', Connection: 'close', Accept: '*/*' },
    ...(o.tls
      ? {
          servername:
            o.sni ?? (o.host && !/^[0-9.:[\]]+$/.test(o.host) ? o.host.replace(/:\d+$/, '') : undefined),
          rejectUnauthorized: !o.insecure,
        }
      : {}),
  };
  return () =>
    withDeadline(t.timeoutMs, (finish) => {
      const req = request(base, (res: IncomingMessage) => {
        const code = res.statusCode ?? 0;
        const good = accept.size ? accept.has(code) : code >= 200 && code < 400;
        let weight: number | undefined;
        if (headerName) {
          const v = res.headers[headerName];
          if (typeof v === 'string') weight = parseWeight(v);
        }
        if (!good) return finish(false, `HTTP ${code}`);
        if (!bodyRe) return finish(true, `HTTP ${code}`, weight);
        const chunks: Buffer[] = [];
        let size = 0;
        const judge = (): void => {
          const body = Buffer.concat(chunks).subarray(0, BODY_LIMIT).toString('utf8');
          if (bodyRe.test(body)) finish(true, `HTTP ${code}, body matches`, weight);
          else finish(false, `HTTP ${code}, body does not match /${o.bodyRegex}/`);
        };
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          size += c.length;
          if (size >= BODY_LIMIT) judge();
        });
        res.on('end', judge);
        res.on('error', (err) => finish(false, `reading body: ${describeError(err)}`));
      });
      req.on('error', (err) => finish(false, describeError(err)));
      req.end();
      return () => req.destroy();
    });
}
