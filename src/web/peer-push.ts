/**
 * The peer push service: sending a saved configuration to the peer router's console, and accepting one
 * from it. Both routes use it — routes-config after a save, routes-peer when a push arrives — and neither
 * calls the other. The wire scheme (HMAC over method, path, time, nonce and body; skew; nonces) is peer.ts.
 *
 * A received push is checked cheapest and least trusting first, and nothing of it is parsed, loaded or
 * validated before its HMAC is good: the source address (the peer router's only), the headers, the HMAC
 * with the push keys read from their files (never from the configuration), the nonce; only then the body.
 * A push that would change a program-naming or security-sensitive key (config/sensitive.ts) is refused
 * unless the receiver runs with --accept-program-changes: holding the push key must not be enough to
 * choose what root runs. Every push is logged with the names of the keys it changes (never values).
 */
import { changedKeys } from '../config/sensitive';
import { readKeyFile } from '../heartbeat/keys';
import { canonicalIP } from '../lib/addr';
import { reloadDaemon, type WebContext } from './context';
import type { SaveResult } from './editor';
import type { WebOptions } from './options';
import { type NonceCache, type PushPayload, pushKey, pushToPeer, verifyPush } from './peer';

/**
 * Push keys from their files (the one key-strength and owner check of heartbeat/keys.ts), each derived
 * for the push only, so a push MAC can never pass as a heartbeat MAC even where the files are shared.
 * @throws naming the file when one is unreadable, weak, shared with others or owned by another user.
 */
export function readPushKeys(files: readonly string[]): Buffer[] {
  return files.map((f) => pushKey(readKeyFile(f).secret));
}

/** What is missing for the push options to work, or undefined. */
export function checkPushOptions(o: WebOptions): string | undefined {
  if (o.peer) {
    if (!/^https:\/\//i.test(o.peer.url))
      return `--peer-url ${o.peer.url}: the push needs https (the configuration would cross the network in clear)`;
    if (!o.pushKeyFiles?.length)
      return '--peer-url needs --push-key FILE (pulsectl keygen FILE, the same on both routers)';
  }
  if (o.acceptPeerPush) {
    if (!o.tls)
      return '--accept-peer-push needs --tls-cert and --tls-key (pushes are accepted over https only)';
    if (!o.pushKeyFiles?.length) return '--accept-peer-push needs --push-key FILE';
    if (!o.peerAddresses?.length)
      return '--accept-peer-push needs the peer router’s address (--peer-address ADDR, or --peer-url)';
  }
  return undefined;
}

/** A remote address as compared with the peer's (IPv4-mapped IPv6 as IPv4, canonical spelling). */
function canonicalRemote(ip: string): string {
  const v4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip)?.[1];
  return canonicalIP(v4 ?? ip) ?? ip;
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
    const [key] = readPushKeys(ctx.opts.pushKeyFiles ?? []);
    if (!key) throw new Error('no --push-key: the push to the peer needs the shared push key');
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
 * Checks a pushed file (source address, HMAC with this router's push keys, time, nonce, then the body:
 * newer serial, same format, valid, no protected change unless accepted), saves it as the editor saves an
 * edit, and reloads the daemon. Never throws; every refusal is logged with its reason.
 */
export async function receivePushedConfig(
  ctx: WebContext,
  req: PushRequest,
  raw: string,
  nonces: NonceCache,
): Promise<PushReceipt> {
  const peerLog = (level: 'info' | 'warn', msg: string, fields: Record<string, unknown>) =>
    ctx.log[level](`web: ${msg}`, { op: 'push-receive', remote: req.ip, ...fields });
  const refuse = (status: number, reason: string, body: unknown = { error: reason }): PushReceipt => {
    peerLog('warn', 'peer push refused', { reason: reason.slice(0, 1000) });
    return { status, body };
  };
  const from = canonicalRemote(req.ip);
  const peers = (ctx.opts.peerAddresses ?? []).map(canonicalRemote);
  if (!peers.includes(from))
    return refuse(403, `pushes are accepted from the peer router only (${peers.join(', ')})`);
  if (!ctx.tls) return refuse(403, 'pushes are accepted over https only');
  let keys: Buffer[];
  try {
    keys = readPushKeys(ctx.opts.pushKeyFiles ?? []);
  } catch (err) {
    peerLog('warn', 'peer push refused', { reason: (err as Error).message });
    return { status: 503, body: { error: 'this router cannot check a push now' } };
  }
  if (keys.length === 0) return refuse(403, 'peer push needs --push-key on both routers');
  const check = verifyPush(keys, req.headers, raw, ctx.now(), nonces);
  if (!check.ok) return refuse(401, check.reason);
  // Authenticated: only now is the body looked at.
  let p: PushPayload;
  try {
    p = JSON.parse(raw) as PushPayload;
  } catch {
    return refuse(400, 'body is not JSON');
  }
  if (
    typeof p !== 'object' ||
    p === null ||
    typeof p.text !== 'string' ||
    !Number.isSafeInteger(p.serial) ||
    !['yaml', 'lvs.cf', 'json'].includes(p.format)
  )
    return refuse(400, 'body needs format, serial and text');
  let changed: string[] = [];
  let r: Awaited<ReturnType<WebContext['editor']['replace']>>;
  try {
    r = await ctx.editor.replace(p.text, p.format, p.serial, (before, after) => {
      const diff = changedKeys(before, after);
      changed = diff.map((c) => c.name);
      const prot = diff.filter((c) => c.protection);
      if (prot.length === 0 || ctx.opts.acceptProgramChanges) return undefined;
      return prot.map((c) => ({
        message:
          `${c.name}: ${c.protection === 'program' ? 'names a program root runs' : 'is security-sensitive'}; ` +
          'this router accepts such changes from the peer only with --accept-program-changes',
      }));
    });
  } catch (err) {
    return refuse(503, `cannot apply a push now: ${(err as Error).message}`, {
      error: 'this router cannot apply a push now',
    });
  }
  if (!r.ok) {
    peerLog('warn', 'peer push refused', {
      reason: JSON.stringify(r.errors).slice(0, 1000),
      changed: JSON.stringify(changed).slice(0, 2000),
    });
    return { status: r.status, body: { errors: r.errors } };
  }
  peerLog('info', 'config received from peer', {
    file: r.path,
    previous: r.previous,
    from: r.from,
    to: r.to,
    changed: JSON.stringify(changed).slice(0, 4000),
  });
  const reload = await reloadDaemon(ctx);
  peerLog('info', 'reload after peer push', { result: JSON.stringify(reload).slice(0, 2000) });
  return { status: 200, body: { ok: true, path: r.path, serial: r.to, reload } };
}
