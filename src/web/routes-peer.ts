/**
 * The peer push over HTTP: the sender side (after a saved edit) and, with --accept-peer-push, the
 * receiving route, authenticated by its HMAC instead of a session (see peer.ts for the scheme).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { LvsModel } from '../config/model';
import { readKeyFile } from '../heartbeat/keys';
import { reloadDaemon, type WebContext } from './context';
import type { SaveResult } from './editor';
import {
  NonceCache,
  PUSH_CONTENT_TYPE,
  PUSH_PATH,
  type PushPayload,
  pushKey,
  pushToPeer,
  verifyPush,
} from './peer';

/** Push keys (current and previous) derived from the heartbeat key files of a model; [] when none. */
export function pushKeysOf(m: LvsModel): Buffer[] {
  const files = [m.heartbeat.keyFile, m.heartbeat.previousKeyFile].filter((f): f is string => !!f);
  return files.map((f) => pushKey(readKeyFile(f).secret));
}

/** Pushes a saved file to the peer's console; returns the outcome for the page, audited. */
export async function pushAfterSave(
  ctx: WebContext,
  req: FastifyRequest,
  r: Extract<SaveResult, { ok: true }>,
): Promise<unknown> {
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

/** POST /api/peer/config: receives a pushed file (only registered with acceptPeerPush). */
export async function registerPeerRoute(app: FastifyInstance, ctx: WebContext): Promise<void> {
  const nonces = new NonceCache(ctx.now);
  await app.register(async (scope) => {
    scope.addContentTypeParser(
      PUSH_CONTENT_TYPE,
      { parseAs: 'string', bodyLimit: 4 << 20 },
      (_req, body, done) => done(null, body),
    );
    scope.post(PUSH_PATH, { bodyLimit: 4 << 20 }, async (req, reply) => {
      const raw = typeof req.body === 'string' ? req.body : '';
      const peerLog = (level: 'info' | 'warn', msg: string, fields: Record<string, unknown>) =>
        ctx.log[level](`web: ${msg}`, { op: 'push-receive', remote: req.ip, ...fields });
      let keys: Buffer[];
      try {
        keys = pushKeysOf((await ctx.editor.load()).model);
      } catch (err) {
        peerLog('warn', 'peer push refused', { reason: (err as Error).message });
        return reply.code(503).send({ error: 'this router cannot check a push now' });
      }
      if (keys.length === 0) {
        peerLog('warn', 'peer push refused', { reason: 'no heartbeat_key_file' });
        return reply.code(403).send({ error: 'peer push needs heartbeat_key_file on both routers' });
      }
      const check = verifyPush(keys, req.headers, raw, ctx.now(), nonces);
      if (!check.ok) {
        peerLog('warn', 'peer push refused', { reason: check.reason });
        return reply.code(401).send({ error: check.reason });
      }
      let p: PushPayload;
      try {
        p = JSON.parse(raw) as PushPayload;
      } catch {
        return reply.code(400).send({ error: 'body is not JSON' });
      }
      if (
        typeof p.text !== 'string' ||
        !Number.isInteger(p.serial) ||
        !['yaml', 'lvs.cf', 'json'].includes(p.format)
      )
        return reply.code(400).send({ error: 'body needs format, serial and text' });
      const r = await ctx.editor.replace(p.text, p.format, p.serial);
      if (!r.ok) {
        peerLog('warn', 'peer push refused', { reason: JSON.stringify(r.errors).slice(0, 1000) });
        return reply.code(r.status).send({ errors: r.errors });
      }
      peerLog('info', 'config received from peer', {
        file: r.path,
        previous: r.previous,
        from: r.from,
        to: r.to,
      });
      const reload = await reloadDaemon(ctx);
      peerLog('info', 'reload after peer push', { result: JSON.stringify(reload).slice(0, 2000) });
      return { ok: true, path: r.path, serial: r.to, reload };
    });
  });
}
