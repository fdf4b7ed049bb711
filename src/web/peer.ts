/**
 * Optional push of a saved configuration to the peer router's console (Piranha never synced the backup's
 * copy). The channel is authenticated with the routers' shared heartbeat key: HMAC-SHA256, under a key
 * derived for this purpose only, over method, path, time, nonce and the body's hash. A push is accepted
 * only within ±30 s of the receiver's clock, once per nonce, and only when it carries a newer serial_no
 * than the receiver's file (so a replayed or older configuration is never applied). Use TLS between the
 * consoles: the HMAC proves who sent the file, TLS hides it.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** The route a push is posted to on the peer's console. */
export const PUSH_PATH = '/api/peer/config';
/** The content type of a push body (parsed as raw text so its hash can be checked). */
export const PUSH_CONTENT_TYPE = 'application/vnd.lvs-pulse.push+json';
/** Largest clock difference accepted between the routers, ms. */
export const PUSH_MAX_SKEW_MS = 30_000;

/** What is pushed: the file's text as the sender saved it. */
export interface PushPayload {
  format: 'yaml' | 'lvs.cf' | 'json';
  serial: number;
  text: string;
}

/** The push key: derived from the heartbeat secret, so a push MAC can never pass as a heartbeat MAC. */
export function pushKey(heartbeatSecret: Buffer): Buffer {
  return createHmac('sha256', heartbeatSecret).update('lvs-pulse config push v1').digest();
}

/** The signature of a push (hex). */
export function signPush(key: Buffer, time: string, nonce: string, body: string): string {
  const bodyHash = createHash('sha256').update(body).digest('hex');
  return createHmac('sha256', key).update(`POST ${PUSH_PATH}\n${time}\n${nonce}\n${bodyHash}`).digest('hex');
}

/** Nonces seen recently (pure; clock injected). */
export class NonceCache {
  private readonly seen = new Map<string, number>();
  constructor(
    private readonly now: () => number,
    private readonly ttlMs = 2 * PUSH_MAX_SKEW_MS,
  ) {}
  /** Records a nonce; false when it was already seen within the TTL. */
  add(nonce: string): boolean {
    const t = this.now();
    for (const [n, exp] of this.seen) if (exp <= t) this.seen.delete(n);
    if (this.seen.has(nonce)) return false;
    if (this.seen.size >= 10_000) return false;
    this.seen.set(nonce, t + this.ttlMs);
    return true;
  }
}

/** The verdict of {@link verifyPush}. */
export type PushCheck = { ok: true } | { ok: false; reason: string };

/**
 * Checks a received push's headers against the body. `keys` are the receiver's current and previous
 * push keys (a key rotation accepts either).
 */
export function verifyPush(
  keys: Buffer[],
  headers: Record<string, string | string[] | undefined>,
  body: string,
  now: number,
  nonces: NonceCache,
): PushCheck {
  const h = (k: string) => {
    const v = headers[k];
    return typeof v === 'string' ? v : undefined;
  };
  const time = h('x-pulse-time');
  const nonce = h('x-pulse-nonce');
  const sig = h('x-pulse-signature');
  if (!time || !nonce || !sig)
    return { ok: false, reason: 'missing x-pulse-time, x-pulse-nonce or x-pulse-signature' };
  if (!/^\d{1,15}$/.test(time) || Math.abs(now - Number(time)) > PUSH_MAX_SKEW_MS)
    return {
      ok: false,
      reason: `time ${time.slice(0, 20)} is more than ${PUSH_MAX_SKEW_MS / 1000} s from ours`,
    };
  if (!/^[A-Za-z0-9_-]{16,64}$/.test(nonce)) return { ok: false, reason: 'malformed nonce' };
  if (!/^[0-9a-f]{64}$/.test(sig)) return { ok: false, reason: 'malformed signature' };
  const given = Buffer.from(sig, 'hex');
  const good = keys.some((k) => timingSafeEqual(Buffer.from(signPush(k, time, nonce, body), 'hex'), given));
  if (!good) return { ok: false, reason: 'bad signature (different heartbeat key?)' };
  if (!nonces.add(nonce)) return { ok: false, reason: 'replayed nonce' };
  return { ok: true };
}

/** Where the peer's console is, and how to trust it. */
export interface PeerTarget {
  /** Base URL of the peer's console, e.g. https://198.18.0.12:3636. */
  url: string;
  /** CA or self-signed certificate to trust for the peer (PEM). */
  ca?: string | Buffer;
  timeoutMs?: number;
}

/** Sends a push; resolves with the peer's reply (status and JSON body). Never rejects. */
export function pushToPeer(
  target: PeerTarget,
  key: Buffer,
  payload: PushPayload,
  now = Date.now(),
): Promise<{ ok: boolean; status?: number; body?: unknown; error?: string }> {
  const body = JSON.stringify(payload);
  const time = String(now);
  const nonce = randomBytes(18).toString('base64url');
  let url: URL;
  try {
    url = new URL(PUSH_PATH, target.url);
  } catch {
    return Promise.resolve({ ok: false, error: `bad peer URL ${JSON.stringify(target.url)}` });
  }
  const headers = {
    'content-type': PUSH_CONTENT_TYPE,
    'content-length': String(Buffer.byteLength(body)),
    'x-pulse-time': time,
    'x-pulse-nonce': nonce,
    'x-pulse-signature': signPush(key, time, nonce, body),
  };
  return new Promise((resolve) => {
    const onRes = (res: import('node:http').IncomingMessage) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (data.length < 1 << 20) data += c;
      });
      res.on('end', () => {
        let parsed: unknown = data;
        try {
          parsed = JSON.parse(data);
        } catch {
          /* keep text */
        }
        resolve({ ok: res.statusCode === 200, status: res.statusCode, body: parsed });
      });
    };
    const opts = { method: 'POST', headers, timeout: target.timeoutMs ?? 10_000 };
    const req =
      url.protocol === 'https:'
        ? httpsRequest(url, { ...opts, ...(target.ca ? { ca: target.ca } : {}) }, onRes)
        : httpRequest(url, opts, onRes);
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url.origin} within ${opts.timeout} ms`)));
    req.on('error', (err) => resolve({ ok: false, error: `cannot push to ${url.origin}: ${err.message}` }));
    req.end(body);
  });
}
