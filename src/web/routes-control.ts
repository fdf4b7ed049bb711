/**
 * CONTROL/MONITORING routes: the daemon's status, the live event stream (SSE), and the operator actions
 * `pulsectl` has (takeover, release, reload, drain, enable), each audited.
 */
import type { FastifyInstance } from 'fastify';
import { securityHeaders, type WebContext } from './context';

/** Registers /api/status, /events (SSE) and the /api/control/* actions. */
export function registerControlRoutes(app: FastifyInstance, ctx: WebContext): void {
  app.get('/api/status', async (_req, reply) => {
    try {
      return await ctx.daemon.status();
    } catch (err) {
      return reply.code(502).send({ error: (err as Error).message });
    }
  });
  app.get('/events', (req, reply) => {
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      ...securityHeaders(ctx.tls),
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    raw.write('retry: 2000\n\n');
    ctx.streams.add(reply);
    const sid = req.pulseSession!.id;
    const unsubscribe = ctx.hub.subscribe((m) =>
      raw.write(`event: ${m.event}\ndata: ${JSON.stringify(m.data)}\n\n`),
    );
    // The stream does not count as use (idle expiry still applies), but it ends when the session does.
    const ping = setInterval(() => {
      ctx.checkPassword();
      if ('session' in ctx.sessions.lookup(sid, false)) raw.write(': ping\n\n');
      else {
        raw.write('event: expired\ndata: {}\n\n');
        raw.end();
      }
    }, 5000);
    const done = () => {
      clearInterval(ping);
      unsubscribe();
      ctx.streams.delete(reply);
    };
    raw.on('close', done);
  });
  for (const cmd of ['takeover', 'release', 'reload'] as const) {
    app.post(`/api/control/${cmd}`, async (req, reply) => {
      try {
        const result = await ctx.daemon.call(cmd);
        ctx.audit(req, 'info', cmd, { op: cmd, result: JSON.stringify(result) });
        return { ok: true, result };
      } catch (err) {
        ctx.audit(req, 'warn', `${cmd} failed`, { op: cmd, error: (err as Error).message });
        return reply.code(502).send({ error: (err as Error).message });
      }
    });
  }
  for (const cmd of ['drain', 'enable'] as const) {
    app.post(`/api/control/${cmd}`, async (req, reply) => {
      const server = (req.body as { server?: unknown } | undefined)?.server;
      // No control characters: the name goes to the daemon and into syslog lines.
      if (
        typeof server !== 'string' ||
        server.length === 0 ||
        server.length > 256 ||
        /[\u0000-\u001f\u007f]/.test(server)
      )
        return reply
          .code(400)
          .send({ error: `${cmd} needs "server": VIRTUAL/SERVER, SERVER or ADDRESS:PORT` });
      try {
        const result = await ctx.daemon.call(cmd, { server });
        ctx.audit(req, 'info', cmd, { op: cmd, server, result: JSON.stringify(result) });
        return { ok: true, result };
      } catch (err) {
        ctx.audit(req, 'warn', `${cmd} failed`, { op: cmd, server, error: (err as Error).message });
        return reply.code(502).send({ error: (err as Error).message });
      }
    });
  }
}
