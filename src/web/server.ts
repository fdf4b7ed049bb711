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
import { createLogger } from '../daemon/logging';
import { readConfigText, saveAtomically, versionOf } from './configfile';
import { securityHeaders, type WebContext } from './context';
import { controlClient } from './daemon-client';
import { type ConfigApi, ConfigEditor } from './editor';
import { LiveHub } from './live';
import type { WebOptions } from './options';
import { hostAllowed, hostPolicy, originAllowed } from './hosts';
import {
  DEFAULT_SCRYPT,
  hashPassword,
  MAX_PASSWORD_LENGTH,
  PasswordWatch,
  readPasswordFile,
  verifyPassword,
  weakerThan,
  writePasswordFile,
} from './password';
import { PUSH_PATH } from './peer';
import { checkPushOptions, readPushKeys } from './peer-push';
import { registerConfigRoutes } from './routes-config';
import { registerControlRoutes } from './routes-control';
import { registerPeerRoute } from './routes-peer';
import { type Session, SessionStore } from './sessions';
import { LoginThrottle, VerifyQueue } from './throttle';
import { APP_JS } from './static/app';
import { appPage, loginPage } from './static/pages';
import { STYLE_CSS } from './static/style';

export type { WebOptions } from './options';

/** The console listens on loopback unless told otherwise. */
export const DEFAULT_HOST = '127.0.0.1';
/** The console's default port. */
export const DEFAULT_PORT = 3636;
/** The name of the session cookie. */
export const SESSION_COOKIE = 'pulse_session';
/** Requests that need no session: the login form, its POST, its stylesheet, and an empty favicon. */
export const PUBLIC_ROUTES: ReadonlySet<string> = new Set([
  'GET /login',
  'HEAD /login',
  'POST /login',
  'GET /style.css',
  'HEAD /style.css',
  'GET /favicon.ico',
  'HEAD /favicon.ico',
]);

/** A built console (not listening). */
export interface Web {
  app: FastifyInstance;
  /** Every registered `METHOD /url` (tests walk them all to check authentication). */
  routes: string[];
  sessions: SessionStore;
  /** Password checks so far: how many ran, the most at once, how many were refused for a full queue. */
  logins: VerifyQueue['stats'];
  close(): Promise<void>;
}

/** A listening console. */
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
const configApi: ConfigApi = {
  loadConfig: (path, text) => loadConfig(path, text),
  dumpConfig,
  detectFormat,
};

/** Why the console's options cannot work (the CLI prints it and exits 2). */
export class WebOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebOptionsError';
  }
}

/**
 * Builds the console (not listening): use `app.inject` in tests, or `startWeb` to serve.
 * @throws PasswordFileError when the password file is missing, malformed, readable by others or owned by
 *   another user; WebOptionsError when the peer push options are incomplete (no TLS, key or peer address).
 */
export async function buildWeb(opts: WebOptions): Promise<Web> {
  readPasswordFile(opts.passwordFile); // refuse to start without a password
  const optionError = checkPushOptions(opts);
  if (optionError) throw new WebOptionsError(optionError);
  // A weak, unreadable or foreign push key stops the start, not the first push.
  if (opts.pushKeyFiles?.length)
    try {
      readPushKeys(opts.pushKeyFiles);
    } catch (err) {
      throw new WebOptionsError(`--push-key ${(err as Error).message}`);
    }
  const tls = !!opts.tls;
  const hosts = hostPolicy(opts.host ?? DEFAULT_HOST, opts.allowedHosts);
  const scryptTarget = opts.scrypt ?? DEFAULT_SCRYPT;
  const verifier = new VerifyQueue({ concurrency: 1, maxWaiting: 4 });
  const passwordWatch = new PasswordWatch(opts.passwordFile);
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
    ...(opts.throttle?.maxEntries !== undefined ? { maxEntries: opts.throttle.maxEntries } : {}),
    ...(opts.throttle?.burst !== undefined ? { burst: opts.throttle.burst } : {}),
    ...(opts.throttle?.refillMs !== undefined ? { refillMs: opts.throttle.refillMs } : {}),
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
    // Slow or idle unauthenticated clients must not hold sockets for long.
    requestTimeout: 30_000,
    keepAliveTimeout: 5_000,
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
  /** A password set by someone else (`--set-password`) ends every session: whoever knew the old one is out. */
  const checkPassword = () => {
    if (!passwordWatch.changed()) return;
    const n = sessions.revokeAll();
    for (const st of streams) {
      st.raw.write('event: expired\ndata: {}\n\n');
      st.raw.end();
    }
    log.warn('web: the console password was changed: every session revoked', { op: 'password', revoked: n });
  };
  const ctx: WebContext = {
    opts,
    tls,
    now,
    log,
    daemon,
    sessions,
    editor,
    hub,
    streams,
    audit,
    checkPassword,
  };

  // 0. DNS rebinding: only a Host that names the console is answered (before anything else). Logged at
  // most every 10 s, with the count, so unauthenticated requests cannot flood the log.
  let misdirected = { at: Number.NEGATIVE_INFINITY, suppressed: 0 };
  app.addHook('onRequest', async (req, reply) => {
    if (hostAllowed(req.headers.host, hosts)) return;
    if (now() - misdirected.at >= 10_000) {
      log.warn('web: refused a request for another host name', {
        op: 'host',
        remote: remote(req),
        host: String(req.headers.host ?? '').slice(0, 200),
        ...(misdirected.suppressed ? { more: misdirected.suppressed } : {}),
      });
      misdirected = { at: now(), suppressed: 0 };
    } else misdirected.suppressed++;
    return reply
      .code(421)
      .send({ error: 'misdirected request: this console does not answer to that host name' });
  });

  // 1. Authentication, before anything else (body parsing included) on every route and method.
  app.addHook('onRequest', async (req, reply) => {
    if (reply.sent) return;
    checkPassword();
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
    if (origin !== undefined && !originAllowed(origin, req.headers.host, tls, hosts)) {
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
  let refusedLog = { at: Number.NEGATIVE_INFINITY, suppressed: 0 };
  app.post('/login', async (req, reply) => {
    const body = (req.body ?? {}) as { password?: unknown };
    const html = (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
    const fail = (code: number, message: string) => {
      if (!html) return reply.code(code).send({ error: message });
      return reply
        .code(code)
        .type('text/html; charset=utf-8')
        .send(loginPage(reply.generateCsrf({ userInfo: 'login' } as never), message));
    };
    // Counted before the password is checked: parallel guesses cannot all slip through.
    const adm = throttle.admit(remote(req));
    if (!adm.ok) {
      const wait = Math.ceil(adm.retryMs / 1000);
      // Refusals cost nothing to send: logged at most every 10 s, with how many were not.
      if (now() - refusedLog.at >= 10_000) {
        audit(req, 'warn', 'login refused: too many attempts', {
          op: 'login',
          result: adm.reason,
          client: adm.key,
          ...(refusedLog.suppressed ? { more: refusedLog.suppressed } : {}),
        });
        refusedLog = { at: now(), suppressed: 0 };
      } else refusedLog.suppressed++;
      reply.header('retry-after', String(wait));
      return fail(
        429,
        adm.reason === 'locked'
          ? `Too many failed logins; try again in ${wait} s.`
          : `Too many logins are being tried; try again in ${wait} s.`,
      );
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
    const checked = await verifier.run(() => verifyPassword(password, hash));
    if (!checked.ok) {
      audit(req, 'warn', 'login refused: busy', { op: 'login', result: 'busy' });
      reply.header('retry-after', '2');
      return fail(503, 'The console is busy checking other logins; try again in a few seconds.');
    }
    if (!checked.value) {
      audit(req, 'warn', 'login failed', {
        op: 'login',
        result: 'bad password',
        locked: throttle.lockedFor(remote(req)) > 0,
      });
      return fail(401, 'Wrong password.');
    }
    throttle.succeed(remote(req));
    // A hash of an older, lower cost is rewritten at today's cost while the password is at hand.
    if (weakerThan(hash, scryptTarget)) {
      const upgraded = await verifier.run(() => hashPassword(password, scryptTarget));
      if (upgraded.ok)
        try {
          writePasswordFile(opts.passwordFile, upgraded.value);
          passwordWatch.wrote(upgraded.value);
          audit(req, 'info', 'password hash upgraded', { op: 'password', N: scryptTarget.N });
        } catch (err) {
          log.warn('web: cannot upgrade the password hash; run pulse-web --set-password', {
            op: 'password',
            error: (err as Error).message,
          });
        }
    }
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
  app.get('/favicon.ico', async (_req, reply) => reply.code(204).send());
  app.get('/style.css', async (_req, reply) => reply.type('text/css; charset=utf-8').send(STYLE_CSS));
  app.get('/api/session', async (req, reply) => {
    const s = req.pulseSession!;
    return { user: s.user, csrf: reply.generateCsrf({ userInfo: s.id } as never) };
  });

  registerControlRoutes(app, ctx);

  registerConfigRoutes(app, ctx);
  if (opts.acceptPeerPush) await registerPeerRoute(app, ctx);

  const sweep = setInterval(() => {
    checkPassword();
    sessions.sweep();
  }, 60_000);
  sweep.unref();

  return {
    app,
    routes,
    sessions,
    logins: verifier.stats,
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
