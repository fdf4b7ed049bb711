import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PUBLIC_ROUTES, SESSION_COOKIE } from '../../../src/web/server';
import { call, cookieHeader, type Env, login, makeEnv, mergeCookies, PASSWORD } from './fixture';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

describe('web console security', () => {
  let env: Env;
  beforeEach(async () => {
    env = await makeEnv();
  });
  afterEach(async () => {
    await env.cleanup();
  });

  it('requires a session on EVERY route and method (CVE-2013-6492: not just GET)', async () => {
    const before = readFileSync(env.configPath, 'utf8');
    // Every registered route, with its parameters filled in, plus paths no route serves.
    const paths = new Set(env.web.routes.map((r) => r.split(' ')[1]!.replace(/:(\w+)/g, 'http')));
    for (const p of [
      '/nope',
      '/api/control/nope',
      '/api/config/virtual/http/real/rs1/x',
      '/login/',
      '/../etc/passwd',
    ])
      paths.add(p);
    assert.ok(paths.size >= 18, `only ${paths.size} paths found`);
    let checked = 0;
    for (const url of paths)
      for (const method of METHODS) {
        if (PUBLIC_ROUTES.has(`${method} ${url}`)) continue;
        for (const cookie of [undefined, `${SESSION_COOKIE}=forged-session-id`]) {
          const res = await env.web.app.inject({
            method,
            url,
            headers: {
              ...(cookie ? { cookie } : {}),
              'content-type': 'application/json',
              accept: 'text/html,application/json',
            },
            ...(method === 'GET' || method === 'HEAD'
              ? {}
              : { payload: '{"version":"x","fields":{"weight":5},"server":"http/rs1"}' }),
          });
          const ok =
            res.statusCode === 401 ||
            (method === 'GET' && res.statusCode === 303 && res.headers.location?.startsWith('/login'));
          assert.ok(
            ok,
            `${method} ${url} ${cookie ?? 'no cookie'} answered ${res.statusCode} without a session`,
          );
          checked++;
        }
      }
    assert.ok(checked > 200, `checked ${checked}`);
    console.log(`      ${checked} unauthenticated requests over ${paths.size} paths`);
    assert.deepEqual(env.daemon.commands, [], 'no command reached the daemon');
    assert.equal(readFileSync(env.configPath, 'utf8'), before, 'the config file is untouched');
  });

  it('serves only the login page, its POST and the stylesheet without a session', async () => {
    assert.equal((await env.web.app.inject({ method: 'GET', url: '/login' })).statusCode, 200);
    assert.equal((await env.web.app.inject({ method: 'GET', url: '/style.css' })).statusCode, 200);
    const app = await env.web.app.inject({ method: 'GET', url: '/app.js' });
    assert.equal(app.statusCode, 401);
  });

  it('logs in with the right password only, with a fresh session id, and audits both', async () => {
    const jar: Record<string, string> = { [SESSION_COOKIE]: 'attacker-chosen-id' };
    const page = await env.web.app.inject({ method: 'GET', url: '/login' });
    mergeCookies(jar, page);
    const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const post = (pw: string) =>
      env.web.app.inject({
        method: 'POST',
        url: '/login',
        headers: { cookie: cookieHeader(jar), 'content-type': 'application/x-www-form-urlencoded' },
        payload: `_csrf=${encodeURIComponent(token)}&password=${encodeURIComponent(pw)}`,
      });
    const bad = await post('wrong password');
    assert.equal(bad.statusCode, 401);
    assert.match(bad.body, /Wrong password/);
    assert.equal(
      bad.cookies.find((c) => c.name === SESSION_COOKIE),
      undefined,
    );
    const good = await post(PASSWORD);
    assert.equal(good.statusCode, 303);
    const sc = good.cookies.find((c) => c.name === SESSION_COOKIE)!;
    assert.notEqual(sc.value, 'attacker-chosen-id');
    assert.ok(sc.value.length >= 43, 'at least 256 bits');
    assert.equal(sc.httpOnly, true);
    assert.equal(String(sc.sameSite).toLowerCase(), 'strict');
    const msgs = env.log.records.map((r) => `${r.msg} ${r.fields.result ?? ''}`);
    assert.ok(msgs.includes('web: login failed bad password'));
    assert.ok(msgs.includes('web: login ok'));
  });

  it('refuses a login POST without the CSRF token (login CSRF)', async () => {
    const res = await env.web.app.inject({
      method: 'POST',
      url: '/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `password=${encodeURIComponent(PASSWORD)}`,
    });
    assert.equal(res.statusCode, 403);
    assert.equal(
      res.cookies.find((c) => c.name === SESSION_COOKIE),
      undefined,
    );
  });

  it('rejects state-changing requests without a valid CSRF token, even with a session', async () => {
    const c = await login(env.web);
    const other = await login(env.web);
    const noToken = await call(env.web, { ...c, csrf: '' }, 'POST', '/api/control/takeover', {});
    assert.equal(noToken.statusCode, 403);
    const wrong = await call(env.web, { ...c, csrf: other.csrf }, 'POST', '/api/control/takeover', {});
    assert.equal(wrong.statusCode, 403, "another session's token is refused");
    const bogus = await call(env.web, { ...c, csrf: 'abc-def' }, 'PUT', '/api/config/global', {
      version: 'x',
      fields: {},
    });
    assert.equal(bogus.statusCode, 403);
    const del = await call(env.web, { ...c, csrf: '' }, 'DELETE', '/api/config/virtual/http', {
      version: 'x',
    });
    assert.equal(del.statusCode, 403);
    assert.deepEqual(env.daemon.commands, []);
    const ok = await call(env.web, c, 'POST', '/api/control/takeover', {});
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(env.daemon.commands, [{ cmd: 'takeover' }]);
    assert.ok(env.log.records.some((r) => r.msg === 'web: refused a request without a valid CSRF token'));
  });

  it('refuses a cross-origin state-changing request', async () => {
    const c = await login(env.web);
    const res = await call(env.web, c, 'POST', '/api/control/release', {}, { origin: 'http://evil.example' });
    assert.equal(res.statusCode, 403);
    assert.deepEqual(env.daemon.commands, []);
  });

  it('expires a session after the idle timeout and after the absolute lifetime', async () => {
    const c = await login(env.web);
    assert.equal((await call(env.web, c, 'GET', '/api/status')).statusCode, 200);
    env.clock.t += 29 * 60_000;
    assert.equal((await call(env.web, c, 'GET', '/api/status')).statusCode, 200, 'use resets the idle timer');
    env.clock.t += 30 * 60_000;
    const expired = await call(env.web, c, 'GET', '/api/status');
    assert.equal(expired.statusCode, 401);
    const page = await env.web.app.inject({
      method: 'GET',
      url: '/',
      headers: { cookie: cookieHeader(c.jar), accept: 'text/html' },
    });
    assert.equal(page.statusCode, 303);
    assert.ok(env.log.records.some((r) => r.msg === 'web: session expired' && r.fields.reason === 'idle'));

    const d = await login(env.web);
    for (let i = 0; i < 17; i++) {
      env.clock.t += 29 * 60_000; // always used within the idle timeout…
      await call(env.web, d, 'GET', '/api/status');
    }
    const late = await call(env.web, d, 'GET', '/api/status'); // …but 8 h after login it ends
    assert.equal(late.statusCode, 401);
    assert.ok(env.log.records.some((r) => r.msg === 'web: session expired' && r.fields.reason === 'max'));
  });

  it('logs out: the session id stops working', async () => {
    const c = await login(env.web);
    const out = await call(env.web, c, 'POST', '/logout', {});
    assert.equal(out.statusCode, 200);
    assert.equal((await call(env.web, c, 'GET', '/api/status')).statusCode, 401);
    assert.ok(env.log.records.some((r) => r.msg === 'web: logout'));
  });

  it('locks an address out after repeated wrong passwords', async () => {
    for (let i = 0; i < 5; i++) await assert.rejects(login(env.web, 'nope nope nope'), /401/);
    await assert.rejects(login(env.web), /429/, 'even the right password is refused while locked');
    env.clock.t += 61_000;
    await login(env.web);
  });

  it('sends strict security headers', async () => {
    const res = await env.web.app.inject({ method: 'GET', url: '/login' });
    assert.match(String(res.headers['content-security-policy']), /script-src 'self'/);
    assert.doesNotMatch(String(res.headers['content-security-policy']), /unsafe-inline/);
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.equal(res.headers['cache-control'], 'no-store');
  });

  it('audits control actions with user and remote address, and forwards them to the daemon', async () => {
    const c = await login(env.web);
    assert.equal(
      (await call(env.web, c, 'POST', '/api/control/drain', { server: 'http/rs1' })).statusCode,
      200,
    );
    assert.equal(
      (await call(env.web, c, 'POST', '/api/control/enable', { server: 'http/rs1' })).statusCode,
      200,
    );
    assert.equal((await call(env.web, c, 'POST', '/api/control/release', {})).statusCode, 200);
    assert.equal((await call(env.web, c, 'POST', '/api/control/drain', {})).statusCode, 400);
    const forged = await call(env.web, c, 'POST', '/api/control/drain', { server: 'x\nweb: login ok' });
    assert.equal(forged.statusCode, 400, 'no control characters (log forging)');
    assert.deepEqual(env.daemon.commands, [
      { cmd: 'drain', server: 'http/rs1' },
      { cmd: 'enable', server: 'http/rs1' },
      { cmd: 'release' },
    ]);
    const a = env.log.records.find((r) => r.msg === 'web: drain')!;
    assert.equal(a.fields.server, 'http/rs1');
    assert.equal(a.fields.user, 'admin');
    assert.equal(a.fields.remote, '127.0.0.1');
    assert.equal(a.fields.op, 'drain');
  });
});
