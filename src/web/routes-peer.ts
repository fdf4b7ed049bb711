/**
 * The receiving side of the peer push, registered only with --accept-peer-push: POST /api/peer/config,
 * authenticated by its HMAC instead of a session. What it does with a push is peer-push.ts.
 */
import type { FastifyInstance } from 'fastify';
import type { WebContext } from './context';
import { NonceCache, PUSH_CONTENT_TYPE, PUSH_PATH } from './peer';
import { receivePushedConfig } from './peer-push';

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
      const r = await receivePushedConfig(ctx, req, raw, nonces);
      return reply.code(r.status).send(r.body);
    });
  });
}
