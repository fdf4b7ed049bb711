/**
 * `pulse-web`: the web console (Piranha's Configuration Tool, done right), a companion process that talks
 * to the daemon only through its control socket.
 *
 * Security model (each point is tested in test/unit/web):
 * - every route and every method needs a session, except the login page, the login POST and the
 *   stylesheet (Piranha checked the password on GET only: CVE-2013-6492);
 * - no default password: a scrypt hash in a root-only file, set with `pulse-web --set-password`;
 * - sessions: random 256-bit ids in an HttpOnly SameSite=Strict cookie (Secure under TLS), new id at each
 *   login, idle and absolute expiry, login throttled per remote address;
 * - CSRF token (bound to the session) on every state-changing request, plus an Origin check;
 * - loopback by default; TLS with --tls-cert/--tls-key; strict CSP, no inline script;
 * - no command execution: the web can do what `pulsectl` can (takeover, release, drain, enable, reload)
 *   and edit the configuration, never fields naming programs;
 * - every change (and every login, logout, refusal) audited to the log (syslog).
 */
import { randomBytes } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { detectFormat, dumpConfig, loadConfig } from '../config';
import { ConfigError } from '../config/model';
import { createLogger } from '../daemon/logging';
import type { Log } from '../lib/log';
import { readConfigText, saveAtomically, versionOf } from './configfile';
import { controlClient, type DaemonClient } from './daemon-client';
import type { Edit, Fields } from './edit';
import { ConfigEditor, type ConfigApi, type SaveResult } from './editor';
import { newRealServer, newVirtualServer, viewFields } from './fields';
import { readKeyFile } from '../heartbeat/keys';
import type { LvsModel } from '../config/model';
import { LiveHub } from './live';
import {
  NonceCache,
  type PeerTarget,
  PUSH_CONTENT_TYPE,
  PUSH_PATH,
  type PushPayload,
  pushKey,
  pushToPeer,
  verifyPush,
} from './peer';
import { readPasswordFile, verifyPassword, MAX_PASSWORD_LENGTH } from './password';
import { LoginThrottle, type Session, SessionStore, type ThrottleOptions } from './sessions';
import { APP_JS } from './static/app';
import { appPage, loginPage } from './static/pages';
import { STYLE_CSS } from './static/style';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 3636;
export const SESSION_COOKIE = 'pulse_session';
/** Requests that need no session: the login form, its POST, and the stylesheet the login page uses. */
export const PUBLIC_ROUTES: ReadonlySet<string> = new Set([
  'GET /login',
  'HEAD /login',
  'POST /login',
  'GET /style.css',
  'HEAD /style.css',
]);

export interface WebOptions {
  /** Run directory of the daemon (its control socket), e.g. /run/lvs-pulse. */
  runDir: string;
  /** Configuration file to edit; default: the one the daemon reports in its status. */
  configPath?: string;
  /** Root-only file with the scrypt hash (`pulse-web --set-password`). Required: no default password. */
  passwordFile: string;
  /** Listen address (default 127.0.0.1) and port (default 3636; 0 = any free port). */
  host?: string;
  port?: number;
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Session idle timeout (default 30 min) and absolute lifetime (default 8 h), ms. */
  sessionIdleMs?: number;
  sessionMaxMs?: number;
  /** Status poll period of the live view, ms (default 2000). */
  statusIntervalMs?: number;
  /** Audit log; default: the daemon logger at level info (syslog + stderr), component `web`. */
  log?: Log;
  /** Clock for sessions and throttling (tests). */
  now?: () => number;
  /** Daemon client (default: the control socket in runDir). */
  daemon?: DaemonClient;
  /** Login throttling (default: 5 failures in 5 min lock the address for 1 min). */
  throttle?: Partial<Omit<ThrottleOptions, 'now'>>;
  /** Push each saved configuration to the peer router's console (HMAC with the heartbeat key; use https). */
  peer?: PeerTarget;
  /**
   * Accept configurations pushed by the peer's console at POST /api/peer/config (the one route not behind
   * a session: it is authenticated by the heartbeat-key HMAC instead). Off by default: the route then
   * does not exist.
   */
  acceptPeerPush?: boolean;
}

/** Push keys (current and previous) derived from the heartbeat key files of a model; [] when none. */
export function pushKeysOf(m: LvsModel): Buffer[] {
  const files = [m.heartbeat.keyFile, m.heartbeat.previousKeyFile].filter((f): f is string => !!f);
  return files.map((f) => pushKey(readKeyFile(f).secret));
}

export interface Web {
  app: FastifyInstance;
  /** Every registered `METHOD /url` (tests walk them all to check authentication). */
  routes: string[];
  sessions: SessionStore;
  close(): Promise<void>;
}

export interface WebServer extends Web {
  /** Where it listens, e.g. http://127.0.0.1:3636. */
  url: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    pulseSession: Session | null;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const configApi: ConfigApi = {
  loadConfig: (path, text) => loadConfig(path, text),
  dumpConfig,
  detectFormat,
};

function securityHeaders(tls: boolean): Record<string, string> {
  return {
    'content-security-policy': CSP,
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    // same-origin, not no-referrer: with no-referrer Chrome sends `Origin: null` on form posts.
    'referrer-policy': 'same-origin',
    'cache-control': 'no-store',
    ...(tls ? { 'strict-transport-security': 'max-age=31536000' } : {}),
  };
}

/**
 * Builds the console (not listening): use `app.inject` in tests, or `startWeb` to serve.
 * @throws PasswordFileError when the password file is missing, malformed or readable by others.
 */
export async function buildWeb(opts: WebOptions): Promise<Web> {
  readPasswordFile(opts.passwordFile); // refuse to start without a password
  const tls = !!opts.tls;
  const now = opts.now ?? Date.now;
  const log = opts.log ?? createLogger({ level: 'info' }).child({ component: 'web' });
  const daemon = opts.daemon ?? controlClient(opts.runDir);
  const sessions = new SessionStore({
    idleMs: opts.sessionIdleMs ?? 30 * 60_000,
    maxMs: opts.sessionMaxMs ?? 8 * 3600_000,
    now,
    newId: () => randomBytes(32).toString('base64url'),
  });
  const throttle = new LoginThrottle({
    maxFailures: opts.throttle?.maxFailures ?? 5,
    windowMs: opts.throttle?.windowMs ?? 5 * 60_000,
    lockMs: opts.throttle?.lockMs ?? 60_000,
    now,
  });
  const hub = new LiveHub(daemon, { statusIntervalMs: opts.statusIntervalMs, log });
  const editor = new ConfigEditor(
    configApi,
    { read: readConfigText, save: saveAtomically, version: versionOf },
    async () => opts.configPath ?? (await daemon.status()).config.path,
  );
  const streams = new Set<FastifyReply>();

  const app = Fastify({
    logger: false,
    bodyLimit: 64 * 1024,
    ...(opts.tls ? { https: { cert: opts.tls.cert, key: opts.tls.key } } : {}),
  }) as unknown as FastifyInstance;
  const routes: string[] = [];
  app.addHook('onRoute', (r) => {
    for (const m of [r.method].flat()) routes.push(`${m} ${r.url}`);
  });
  app.decorateRequest('pulseSession', null);

  await app.register(fastifyCookie);
  await app.register(fastifyFormbody);
  await app.register(fastifyCsrf, {
    sessionPlugin: '@fastify/cookie',
    cookieOpts: { path: '/', sameSite: 'strict', httpOnly: true, secure: tls },
    csrfOpts: { hmacKey: randomBytes(32) },
    getUserInfo: (req: FastifyRequest) => req.pulseSession?.id ?? 'login',
  });

  const remote = (req: FastifyRequest) => req.ip;
  const audit = (
    req: FastifyRequest,
    level: 'info' | 'warn',
    msg: string,
    fields: Record<string, unknown> = {},
  ) => log[level](`web: ${msg}`, { user: req.pulseSession?.user, remote: remote(req), ...fields });

  // 1. Authentication, before anything else (body parsing included) on every route and method.
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    if (PUBLIC_ROUTES.has(`${req.method} ${path}`)) return;
    // The peer push is authenticated by its HMAC (checked in its handler), not by a session.
    if (opts.acceptPeerPush && req.method === 'POST' && path === PUSH_PATH) return;
    const found = sessions.lookup(req.cookies[SESSION_COOKIE]);
    if ('session' in found) {
      req.pulseSession = found.session;
      return;
    }
    if (found.expired !== 'unknown')
      audit(req, 'info', 'session expired', { op: 'expire', reason: found.expired });
    if (req.method === 'GET' && (req.headers.accept ?? '').includes('text/html'))
      return reply
        .code(303)
        .header('location', found.expired === 'unknown' ? '/login' : '/login?expired=1')
        .send();
    return reply.code(401).send({ error: 'login required' });
  });

  // 2. CSRF and Origin on every state-changing request (login included).
  app.addHook('preHandler', (req, reply, done) => {
    if (SAFE_METHODS.has(req.method)) return done();
    if (opts.acceptPeerPush && req.url === PUSH_PATH && !req.pulseSession) return done();
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `${tls ? 'https' : 'http'}://${req.headers.host}`) {
      audit(req, 'warn', 'refused a cross-origin request', { op: 'csrf', origin, url: req.url });
      return reply.code(403).send({ error: 'cross-origin request refused' });
    }
    app.csrfProtection(req, reply, (err?: Error) => {
      if (!err && reply.sent) return;
      done(err);
    });
  });

  app.addHook('onSend', async (_req, reply, payload) => {
    for (const [k, v] of Object.entries(securityHeaders(tls))) if (!reply.hasHeader(k)) reply.header(k, v);
    return payload;
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (err.code?.startsWith('FST_CSRF'))
      audit(req, 'warn', 'refused a request without a valid CSRF token', { op: 'csrf', url: req.url });
    else if (status >= 500) log.error('web: request failed', { url: req.url, error: err.message });
    reply.code(status).send({ error: status >= 500 ? 'internal error' : err.message });
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: 'not found' }));

  // ---- pages ----
  app.get('/login', async (req, reply) => {
    const q = req.query as { expired?: string };
    reply.type('text/html; charset=utf-8');
    return loginPage(
      reply.generateCsrf({ userInfo: 'login' } as never),
      q.expired ? 'Your session expired; please log in again.' : undefined,
    );
  });
  app.post('/login', async (req, reply) => {
    const body = (req.body ?? {}) as { password?: unknown };
    const wait = throttle.lockedFor(remote(req));
    const html = (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
    const fail = (code: number, message: string) => {
      if (!html) return reply.code(code).send({ error: message });
      return reply
        .code(code)
        .type('text/html; charset=utf-8')
        .send(loginPage(reply.generateCsrf({ userInfo: 'login' } as never), message));
    };
    if (wait > 0) {
      audit(req, 'warn', 'login refused: too many failures', { op: 'login', result: 'locked' });
      return fail(429, `Too many failed logins; try again in ${Math.ceil(wait / 1000)} s.`);
    }
    const password =
      typeof body.password === 'string' && body.password.length <= MAX_PASSWORD_LENGTH ? body.password : '';
    let hash: string;
    try {
      hash = readPasswordFile(opts.passwordFile);
    } catch (err) {
      log.error('web: login impossible', { error: (err as Error).message });
      return fail(503, 'The console password file is unusable; see the router log.');
    }
    if (!(await verifyPassword(password, hash))) {
      const locked = throttle.fail(remote(req));
      audit(req, 'warn', 'login failed', { op: 'login', result: 'bad password', locked });
      return fail(401, 'Wrong password.');
    }
    throttle.succeed(remote(req));
    const old = req.cookies[SESSION_COOKIE];
    if (old) sessions.destroy(old);
    const s = sessions.create('admin', remote(req));
    req.pulseSession = s;
    audit(req, 'info', 'login', { op: 'login', result: 'ok' });
    reply.setCookie(SESSION_COOKIE, s.id, { path: '/', httpOnly: true, sameSite: 'strict', secure: tls });
    if (html) return reply.code(303).header('location', '/').send();
    return { ok: true };
  });
  app.post('/logout', async (req, reply) => {
    const s = req.pulseSession!;
    sessions.destroy(s.id);
    audit(req, 'info', 'logout', { op: 'logout' });
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    if ((req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded'))
      return reply.code(303).header('location', '/login').send();
    return { ok: true };
  });
  app.get('/', async (req, reply) => {
    reply.type('text/html; charset=utf-8');
    return appPage(reply.generateCsrf({ userInfo: req.pulseSession!.id } as never), req.pulseSession!.user);
  });
  app.get('/app.js', async (_req, reply) => reply.type('text/javascript; charset=utf-8').send(APP_JS));
  app.get('/style.css', async (_req, reply) => reply.type('text/css; charset=utf-8').send(STYLE_CSS));
  app.get('/api/session', async (req, reply) => {
    const s = req.pulseSession!;
    return { user: s.user, csrf: reply.generateCsrf({ userInfo: s.id } as never) };
  });

  // ---- monitoring and control ----
  app.get('/api/status', async (_req, reply) => {
    try {
      return await daemon.status();
    } catch (err) {
      return reply.code(502).send({ error: (err as Error).message });
    }
  });
  app.get('/events', (req, reply) => {
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      ...securityHeaders(tls),
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    raw.write('retry: 2000\n\n');
    streams.add(reply);
    const sid = req.pulseSession!.id;
    const unsubscribe = hub.subscribe((m) =>
      raw.write(`event: ${m.event}\ndata: ${JSON.stringify(m.data)}\n\n`),
    );
    // The stream does not count as use (idle expiry still applies), but it ends when the session does.
    const ping = setInterval(() => {
      if ('session' in sessions.lookup(sid, false)) raw.write(': ping\n\n');
      else {
        raw.write('event: expired\ndata: {}\n\n');
        raw.end();
      }
    }, 5000);
    const done = () => {
      clearInterval(ping);
      unsubscribe();
      streams.delete(reply);
    };
    raw.on('close', done);
  });
  for (const cmd of ['takeover', 'release', 'reload'] as const) {
    app.post(`/api/control/${cmd}`, async (req, reply) => {
      try {
        const result = await daemon.call(cmd);
        audit(req, 'info', cmd, { op: cmd, result: JSON.stringify(result) });
        return { ok: true, result };
      } catch (err) {
        audit(req, 'warn', `${cmd} failed`, { op: cmd, error: (err as Error).message });
        return reply.code(502).send({ error: (err as Error).message });
      }
    });
  }
  for (const cmd of ['drain', 'enable'] as const) {
    app.post(`/api/control/${cmd}`, async (req, reply) => {
      const server = (req.body as { server?: unknown } | undefined)?.server;
      if (typeof server !== 'string' || server.length === 0 || server.length > 256)
        return reply
          .code(400)
          .send({ error: `${cmd} needs "server": VIRTUAL/SERVER, SERVER or ADDRESS:PORT` });
      try {
        const result = await daemon.call(cmd, { server });
        audit(req, 'info', `${cmd} ${server}`, { op: cmd, server, result: JSON.stringify(result) });
        return { ok: true, result };
      } catch (err) {
        audit(req, 'warn', `${cmd} ${server} failed`, { op: cmd, server, error: (err as Error).message });
        return reply.code(502).send({ error: (err as Error).message });
      }
    });
  }

  // ---- configuration ----
  app.get('/api/config', async (_req, reply) => {
    try {
      const c = await editor.load();
      const m = c.model;
      const first = m.virtualServers[0];
      return {
        path: c.path,
        format: c.format,
        version: c.version,
        serial: m.serialNo,
        warnings: c.warnings.map((d) => `${d.file}:${d.line}:${d.col}: ${d.message}`),
        global: viewFields('global', m),
        redundancy: viewFields('redundancy', m),
        virtualServers: m.virtualServers.map((v) => ({
          name: v.name,
          active: v.active,
          vip: `${v.vip.address}/${v.vip.prefixLength}${v.vip.device ? ` ${v.vip.device}` : ''}`,
          service: v.fwmark !== undefined ? `fwmark ${v.fwmark}` : `${v.protocol}/${v.port}`,
          scheduler: v.scheduler,
          fields: viewFields('virtual', v),
          realServers: v.realServers.map((r) => ({
            name: r.name,
            address: r.address,
            port: r.port,
            weight: r.weight,
            active: r.active,
            fields: viewFields('real', r),
          })),
        })),
        templates: {
          virtual: viewFields('virtual', newVirtualServer()),
          real: viewFields('real', newRealServer(first ?? newVirtualServer())),
        },
      };
    } catch (err) {
      if (err instanceof ConfigError)
        return reply.code(500).send({
          errors: err.diagnostics
            .filter((d) => d.severity === 'error')
            .map((d) => ({ message: d.message, file: d.file, line: d.line, col: d.col })),
        });
      return reply.code(502).send({ error: (err as Error).message });
    }
  });

  type P = Record<string, string>;
  const editRoute = (
    method: 'POST' | 'PUT' | 'DELETE',
    url: string,
    make: (p: P, fields: Fields) => Edit,
  ) => {
    app.route({
      method,
      url,
      handler: async (req, reply) => {
        const body = (req.body ?? {}) as { version?: unknown; fields?: unknown };
        const version =
          typeof body.version === 'string' ? body.version : (req.query as { version?: string }).version;
        const fields = (typeof body.fields === 'object' && body.fields !== null ? body.fields : {}) as Fields;
        const edit = make(req.params as P, fields);
        let r: SaveResult;
        try {
          r = await editor.apply(edit, version);
        } catch (err) {
          return reply.code(502).send({ error: (err as Error).message });
        }
        const target =
          'virtual' in edit ? `${edit.virtual}${'real' in edit ? `/${edit.real}` : ''}` : edit.kind;
        if (!r.ok) {
          audit(req, 'info', 'config edit refused', {
            op: 'config',
            edit: edit.kind,
            target,
            status: r.status,
            errors: JSON.stringify(r.errors).slice(0, 2000),
          });
          return reply.code(r.status).send({ errors: r.errors });
        }
        audit(req, 'info', 'config saved', {
          op: 'config',
          edit: edit.kind,
          target,
          file: r.path,
          previous: r.previous,
          changes: JSON.stringify(r.changes).slice(0, 4000),
        });
        let reload: unknown;
        try {
          reload = await daemon.call('reload');
        } catch (err) {
          reload = { ok: false, error: (err as Error).message };
        }
        audit(req, 'info', 'reload after config save', {
          op: 'reload',
          result: JSON.stringify(reload).slice(0, 2000),
        });
        let peer: unknown;
        if (opts.peer) {
          try {
            const [key] = pushKeysOf(r.model);
            if (!key) throw new Error('no heartbeat_key_file: the push to the peer needs the shared key');
            const res = await pushToPeer(opts.peer, key, {
              format: r.format,
              serial: r.model.serialNo,
              text: r.text,
            });
            peer = res.ok
              ? { ok: true, ...(res.body as object) }
              : { ok: false, error: res.error ?? JSON.stringify(res.body).slice(0, 500), status: res.status };
          } catch (err) {
            peer = { ok: false, error: (err as Error).message };
          }
          audit(req, (peer as { ok: boolean }).ok ? 'info' : 'warn', 'config pushed to peer', {
            op: 'push',
            peer: opts.peer.url,
            serial: r.model.serialNo,
            result: JSON.stringify(peer).slice(0, 2000),
          });
        }
        return {
          ok: true,
          path: r.path,
          previous: r.previous,
          version: r.version,
          changes: r.changes,
          warnings: r.warnings.map((d) => `${d.file}:${d.line}:${d.col}: ${d.message}`),
          reload,
          ...(peer ? { peer } : {}),
        };
      },
    });
  };
  editRoute('PUT', '/api/config/global', (_p, fields) => ({ kind: 'global', fields }));
  editRoute('PUT', '/api/config/redundancy', (_p, fields) => ({ kind: 'redundancy', fields }));
  editRoute('POST', '/api/config/virtual', (_p, fields) => ({ kind: 'virtual-add', fields }));
  editRoute('PUT', '/api/config/virtual/:vs', (p, fields) => ({
    kind: 'virtual-edit',
    virtual: p.vs!,
    fields,
  }));
  editRoute('DELETE', '/api/config/virtual/:vs', (p) => ({ kind: 'virtual-delete', virtual: p.vs! }));
  editRoute('POST', '/api/config/virtual/:vs/real', (p, fields) => ({
    kind: 'real-add',
    virtual: p.vs!,
    fields,
  }));
  editRoute('PUT', '/api/config/virtual/:vs/real/:rs', (p, fields) => ({
    kind: 'real-edit',
    virtual: p.vs!,
    real: p.rs!,
    fields,
  }));
  editRoute('DELETE', '/api/config/virtual/:vs/real/:rs', (p) => ({
    kind: 'real-delete',
    virtual: p.vs!,
    real: p.rs!,
  }));

  if (opts.acceptPeerPush) {
    const nonces = new NonceCache(now);
    await app.register(async (scope) => {
      scope.addContentTypeParser(
        PUSH_CONTENT_TYPE,
        { parseAs: 'string', bodyLimit: 4 << 20 },
        (_req, body, done) => done(null, body),
      );
      scope.post(PUSH_PATH, { bodyLimit: 4 << 20 }, async (req, reply) => {
        const raw = typeof req.body === 'string' ? req.body : '';
        const peerLog = (level: 'info' | 'warn', msg: string, fields: Record<string, unknown>) =>
          log[level](`web: ${msg}`, { op: 'push-receive', remote: remote(req), ...fields });
        let keys: Buffer[];
        try {
          keys = pushKeysOf((await editor.load()).model);
        } catch (err) {
          peerLog('warn', 'peer push refused', { reason: (err as Error).message });
          return reply.code(503).send({ error: 'this router cannot check a push now' });
        }
        if (keys.length === 0) {
          peerLog('warn', 'peer push refused', { reason: 'no heartbeat_key_file' });
          return reply.code(403).send({ error: 'peer push needs heartbeat_key_file on both routers' });
        }
        const check = verifyPush(keys, req.headers, raw, now(), nonces);
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
        const r = await editor.replace(p.text, p.format, p.serial);
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
        let reload: unknown;
        try {
          reload = await daemon.call('reload');
        } catch (err) {
          reload = { ok: false, error: (err as Error).message };
        }
        peerLog('info', 'reload after peer push', { result: JSON.stringify(reload).slice(0, 2000) });
        return { ok: true, path: r.path, serial: r.to, reload };
      });
    });
  }

  const sweep = setInterval(() => sessions.sweep(), 60_000);
  sweep.unref();

  return {
    app,
    routes,
    sessions,
    async close() {
      clearInterval(sweep);
      hub.stop();
      for (const s of streams) s.raw.end();
      await app.close();
    },
  };
}

/**
 * Starts the console and listens (default 127.0.0.1:3636).
 * @example const web = await startWeb({ runDir: '/run/lvs-pulse', passwordFile: '/etc/lvs-pulse/web.passwd' });
 */
export async function startWeb(opts: WebOptions): Promise<WebServer> {
  const web = await buildWeb(opts);
  const host = opts.host ?? DEFAULT_HOST;
  await web.app.listen({ host, port: opts.port ?? DEFAULT_PORT });
  const addr = web.app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? DEFAULT_PORT);
  const h = host.includes(':') ? `[${host}]` : host;
  return { ...web, url: `${opts.tls ? 'https' : 'http'}://${h}:${port}` };
}
