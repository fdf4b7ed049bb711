/**
 * HTTP and HTTPS GET probe: status codes, optional body regex, Host header, SNI, skip-verify, weight header.
 *
 * A lean HTTP/1.0 client instead of node:http: one pre-built request, the reply's status line and headers
 * parsed from the first bytes, `Connection: close`; plain HTTP runs on the probe engine, HTTPS and
 * keep-alive on net/tls sockets (the transport ladder, transport.ts). This is what health checkers do
 * (keepalived's HTTP_GET, haproxy's httpchk) and costs a fraction of node:http's CPU and garbage at 10,000
 * probes a second. HTTP/1.0 replies are never chunked; should a server chunk anyway, the body regex sees
 * the raw chunked text.
 */
import { parseWeight } from '../weights';
import { bytesText } from '../../lib/regex';
import { ereMatcher, type ProbeTarget, quote } from './common';
import type { Exchange, Finish, Probe } from './exchange';
import { exchangeProbe } from './transport';

/**
 * Bodies are matched up to this size: with the pattern's program capped (lib/regex.ts MAX_PROGRAM), the
 * bound on one match's work on the daemon's main thread (docs/security.md has the figures).
 */
export const BODY_LIMIT = 16 * 1024;
/** Status line + headers must fit in this. */
export const HEAD_LIMIT = 16 * 1024;

/** An HTTP(S) probe's settings (monitor.http, plus the kind and the weight header). */
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
  /**
   * Keep the connection open between probes (`Connection: keep-alive`, reused while the server agrees);
   * default false: a fresh connection per probe. See netKeepAliveExchangeProbe for the failure semantics.
   */
  keepAlive?: boolean;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const STATUS_RE = /^HTTP\/\d(?:\.\d)? (\d{3})/;

/** The parsed head of a reply, or why it is not one. */
export interface ReplyHead {
  status: number;
  headers: Map<string, string>;
  /** Offset of the body in the buffer. */
  bodyStart: number;
}

/**
 * Parses `HTTP/x.y NNN …\r\nName: value\r\n…\r\n\r\n` at the start of `buf`. Returns undefined while the
 * head is incomplete, a string saying why when it is not HTTP.
 */
export function parseReplyHead(buf: Buffer): ReplyHead | string | undefined {
  const end = buf.indexOf(CRLFCRLF);
  if (end < 0) {
    if (buf.length >= 8 && !buf.subarray(0, 5).equals(Buffer.from('HTTP/')))
      return `not an HTTP reply: ${quote(buf)}`;
    return buf.length > HEAD_LIMIT ? 'reply head too long' : undefined;
  }
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = STATUS_RE.exec(lines[0] ?? '');
  if (!m) return `not an HTTP reply: ${quote(buf)}`;
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!;
    const c = l.indexOf(':');
    if (c > 0) headers.set(l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim());
  }
  return { status: Number(m[1]), headers, bodyStart: end + 4 };
}

/** Whether a reply head lets the connection be reused: the server said keep-alive and the body length is known. */
function keepsAlive(h: ReplyHead): boolean {
  const c = (h.headers.get('connection') ?? '').toLowerCase();
  if (!/(?:^|,)\s*keep-alive\s*(?:,|$)/.test(c) || /(?:^|,)\s*close\s*(?:,|$)/.test(c)) return false;
  if (h.status === 204 || h.status === 304) return true;
  return /^\d+$/.test(h.headers.get('content-length') ?? '') && !h.headers.has('transfer-encoding');
}

/**
 * GET `path` on the real server itself (no DNS: the connection goes to the target address). Up iff the
 * status is accepted and, when set, the body (first 16 KiB) matches `bodyRegex` (POSIX ERE). By default each probe
 * opens a fresh connection, so a listener that stopped accepting is seen at once; with `keepAlive` the
 * connection is reused while the server keeps it open and a reply was read to its end.
 */
export function httpProbe(t: ProbeTarget, o: HttpOptions): Probe {
  const bodyRe = o.bodyRegex ? ereMatcher(o.bodyRegex) : undefined;
  const accept = new Set(o.status);
  const headerName = o.weightHeader?.toLowerCase();
  const hostHeader =
    o.host ?? (t.address.includes(':') ? `[${t.address}]:${t.port}` : `${t.address}:${t.port}`);
  const request = Buffer.from(
    `GET ${o.path} HTTP/1.0\r\nHost: ${hostHeader}\r\nUser-Agent: lvs-pulse-nanny\r\nAccept: */*\r\nConnection: ${o.keepAlive ? 'keep-alive' : 'close'}\r\n\r\n`,
    'latin1',
  );
  const hostName = o.host?.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  const servername = o.sni ?? (hostName && !/^[0-9.]+$|:/.test(hostName) ? hostName : undefined);
  const tls = o.tls ? { servername, rejectUnauthorized: !o.insecure } : undefined;
  const make = (): Exchange => {
    let buf: Buffer = Buffer.alloc(0);
    let head: ReplyHead | undefined;
    let weight: number | undefined;
    let ended = false;
    const judgeBody = (finish: Finish): void => {
      const h = head!;
      // bytes, as the pattern is read (POSIX ERE in the C locale): a UTF-8 pattern matches UTF-8 text
      const body = bytesText(buf.subarray(h.bodyStart), BODY_LIMIT);
      if (bodyRe!.test(body)) finish(true, `HTTP ${h.status}, body matches`, weight);
      else finish(false, `HTTP ${h.status}, body does not match /${o.bodyRegex}/`);
    };
    return {
      payload: request,
      onData: (chunk, finish) => {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        if (!head) {
          const h = parseReplyHead(buf);
          if (h === undefined) return;
          if (typeof h === 'string') return finish(false, h);
          head = h;
          const good = accept.size ? accept.has(h.status) : h.status >= 200 && h.status < 400;
          if (!good) return finish(false, `HTTP ${h.status}`);
          if (headerName) {
            const v = h.headers.get(headerName);
            if (v !== undefined) weight = parseWeight(v);
          }
          if (!bodyRe) return finish(true, `HTTP ${h.status}`, weight);
        }
        const len = Number(head.headers.get('content-length'));
        const have = buf.length - head.bodyStart;
        if (have >= BODY_LIMIT || (len >= 0 && have >= len)) judgeBody(finish);
      },
      onEnd: (finish) => {
        ended = true;
        if (head) judgeBody(finish);
        else
          finish(
            false,
            buf.length ? `not an HTTP reply: ${quote(buf)}` : 'connection closed before HTTP reply',
          );
      },
      // the whole reply read, nothing more, and the server keeps the connection
      reusable: () => {
        if (ended || !head || !keepsAlive(head)) return false;
        if (head.status === 204 || head.status === 304) return buf.length === head.bodyStart;
        return buf.length - head.bodyStart === Number(head.headers.get('content-length'));
      },
    };
  };
  return exchangeProbe(t, make, { tls, keepAlive: o.keepAlive });
}
