/**
 * The peer push service: sending a saved configuration to the peer router's console, and accepting one
 * from it. Both routes use it — routes-config after a save, routes-peer when a push arrives — and neither
 * calls the other. The wire scheme (HMAC over method, path, time, nonce and body; skew; nonces) is peer.ts.
 */
import type { LvsModel } from '../config/model';
import { readKeyFile } from '../heartbeat/keys';
import { reloadDaemon, type WebContext } from './context';
import type { SaveResult } from './editor';
import { type NonceCache, type PushPayload, pushKey, pushToPeer, verifyPush } from './peer';

/** Push keys (current and previous) derived from the heartbeat key files of a model; [] when none. */
export function pushKeysOf(m: LvsModel): Buffer[] {
  const files = [m.heartbeat.keyFile, m.heartbeat.previousKeyFile].filter((f): f is string => !!f);
  return files.map((f) => pushKey(readKeyFile(f).secret));
}

/** The request fields the service logs and audits (a Fastify request has them). */
export interface PushRequest {
  ip: string;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * Pushes a saved file to the peer's console (`ctx.opts.peer`); returns the outcome for the page. Never
 * throws: a failed push is an `{ ok: false, error }` outcome. Audited either way.
 */
export async function pushSavedConfig(
  ctx: WebContext,
  req: Parameters<WebContext['audit']>[0],
  r: Extract<SaveResult, { ok: true }>,
): Promise<{ ok: boolean } & Record<string, unknown>> {
  const target = ctx.opts.peer!;
  let peer: { ok: boolean } & Record<string, unknown>;
  try {
    const [key] = pushKeysOf(r.model);
    if (!key) throw new Error('no heartbeat_key_file: the push to the peer needs the shared key');
    const res = await pushToPeer(target, key, { format: r.format, serial: r.model.serialNo, text: r.text });
    peer = res.ok
      ? { ...(res.body as object), ok: true }
      : { ok: false, error: res.error ?? JSON.stringify(res.body).slice(0, 500), status: res.status };
  } catch (err) {
    peer = { ok: false, error: (err as Error).message };
  }
  ctx.audit(req, peer.ok ? 'info' : 'warn', 'config pushed to peer', {
    op: 'push',
    peer: target.url,
    serial: r.model.serialNo,
    result: JSON.stringify(peer).slice(0, 2000),
  });
  return peer;
}

/** The answer to a received push: the HTTP status and the JSON body. */
export interface PushReceipt {
  status: number;
  body: unknown;
}

/**
 * Checks a pushed file (HMAC with this router's heartbeat keys, time, nonce, newer serial), saves it as
 * the editor saves an edit, and reloads the daemon. Never throws; every refusal is logged with its reason.
 */
export async function receivePushedConfig(
  ctx: WebContext,
  req: PushRequest,
  raw: string,
  nonces: NonceCache,
): Promise<PushReceipt> {
  const peerLog = (level: 'info' | 'warn', msg: string, fields: Record<string, unknown>) =>
    ctx.log[level](`web: ${msg}`, { op: 'push-receive', remote: req.ip, ...fields });
  let keys: Buffer[];
  try {
    keys = pushKeysOf((await ctx.editor.load()).model);
  } catch (err) {
    peerLog('warn', 'peer push refused', { reason: (err as Error).message });
    return { status: 503, body: { error: 'this router cannot check a push now' } };
  }
  if (keys.length === 0) {
    peerLog('warn', 'peer push refused', { reason: 'no heartbeat_key_file' });
    return { status: 403, body: { error: 'peer push needs heartbeat_key_file on both routers' } };
  }
  const check = verifyPush(keys, req.headers, raw, ctx.now(), nonces);
  if (!check.ok) {
    peerLog('warn', 'peer push refused', { reason: check.reason });
    return { status: 401, body: { error: check.reason } };
  }
  let p: PushPayload;
  try {
    p = JSON.parse(raw) as PushPayload;
  } catch {
    return { status: 400, body: { error: 'body is not JSON' } };
  }
  if (
    typeof p.text !== 'string' ||
    !Number.isInteger(p.serial) ||
    !['yaml', 'lvs.cf', 'json'].includes(p.format)
  )
    return { status: 400, body: { error: 'body needs format, serial and text' } };
  const r = await ctx.editor.replace(p.text, p.format, p.serial);
  if (!r.ok) {
    peerLog('warn', 'peer push refused', { reason: JSON.stringify(r.errors).slice(0, 1000) });
    return { status: r.status, body: { errors: r.errors } };
  }
  peerLog('info', 'config received from peer', {
    file: r.path,
    previous: r.previous,
    from: r.from,
    to: r.to,
  });
  const reload = await reloadDaemon(ctx);
  peerLog('info', 'reload after peer push', { result: JSON.stringify(reload).slice(0, 2000) });
  return { status: 200, body: { ok: true, path: r.path, serial: r.to, reload } };
}
