/**
 * DNS rebinding (issue 17 item 9): the console answers only to a Host that names it, and a state-changing
 * request's Origin must be on the same list — comparing the Origin with the request's own Host, as before,
 * lets a rebound page through (its Origin and Host are both the attacker's name).
 */
import assert from 'node:assert/strict';
import { hostAllowed, hostName, hostPolicy, originAllowed } from '../../../src/web/hosts';
import { buildWeb } from '../../../src/web/server';
import { call, type Env, login, makeEnv } from './fixture';

describe('web console: Host and Origin allow-list', () => {
  it('the policy: the listen address, localhost on loopback, configured names; IP literals when on every address', () => {
    const lo = hostPolicy('127.0.0.1');
    for (const h of ['127.0.0.1:3636', 'localhost:3636', 'LOCALHOST:8080', '127.0.0.1', 'localhost.'])
      assert.ok(hostAllowed(h, lo), h);
    for (const h of ['evil.example:3636', '127.0.0.2:3636', '[::1]:3636', '', 'a b', undefined])
      assert.equal(hostAllowed(h, lo), false, String(h));
    const v6 = hostPolicy('::1');
    assert.ok(hostAllowed('[::1]:3636', v6));
    assert.ok(hostAllowed('localhost:3636', v6));
    const net = hostPolicy('198.18.0.11', ['lvs1.example.net']);
    assert.ok(hostAllowed('198.18.0.11:3636', net));
    assert.ok(hostAllowed('lvs1.example.net:3636', net));
    assert.equal(hostAllowed('localhost:3636', net), false, 'not listening on loopback');
    assert.equal(hostAllowed('198.18.0.12:3636', net), false);
    const any = hostPolicy('0.0.0.0', ['lvs1.example.net']);
    assert.ok(hostAllowed('198.18.0.11:3636', any), 'an IP literal cannot be rebound');
    assert.ok(hostAllowed('[2001:2::11]:3636', hostPolicy('::')));
    assert.equal(hostAllowed('evil.example:3636', any), false);
    assert.equal(hostName('[2001:2::1]:443'), '2001:2::1');
  });

  it('an Origin must be on the list and be the Host the request came to, with the console’s scheme', () => {
    const p = hostPolicy('127.0.0.1');
    assert.ok(originAllowed('http://127.0.0.1:3636', '127.0.0.1:3636', false, p));
    assert.ok(originAllowed('http://localhost:8080', 'localhost:8080', false, p), 'an SSH tunnel port');
    assert.equal(originAllowed('http://evil.example:3636', 'evil.example:3636', false, p), false, 'rebound');
    assert.equal(
      originAllowed('http://localhost:9999', 'localhost:3636', false, p),
      false,
      'another local port',
    );
    assert.equal(originAllowed('https://127.0.0.1:3636', '127.0.0.1:3636', false, p), false, 'scheme');
    assert.equal(originAllowed('null', '127.0.0.1:3636', false, p), false);
    assert.ok(
      originAllowed(
        'https://lvs1.example.net',
        'lvs1.example.net',
        true,
        hostPolicy('0.0.0.0', ['lvs1.example.net']),
      ),
    );
  });

  describe('over the console', () => {
    let env: Env;
    beforeEach(async () => {
      env = await makeEnv();
    });
    afterEach(async () => {
      await env.cleanup();
    });

    it('answers 421 to a rebound host name, on every route, before any other check', async () => {
      for (const url of ['/login', '/', '/api/status', '/style.css', '/nope'])
        for (const host of ['evil.example:3636', 'evil.example', '198.18.0.66:3636']) {
          const r = await env.web.app.inject({ method: 'GET', url, headers: { host } });
          assert.equal(r.statusCode, 421, `${host} ${url}`);
        }
      const c = await login(env.web);
      const r = await call(env.web, c, 'POST', '/api/control/takeover', {}, { host: 'evil.example:3636' });
      assert.equal(r.statusCode, 421, 'even with a valid session and CSRF token');
      assert.deepEqual(env.daemon.commands, []);
      assert.ok(env.log.records.some((x) => x.msg === 'web: refused a request for another host name'));
    });

    it('refuses a state-changing request whose Origin is a rebound name, even when it equals the Host', async () => {
      const c = await login(env.web);
      // The rebinding attacker's Host would already get 421; an Origin that is not on the list is refused
      // even when the Host header is the console's.
      const r = await call(
        env.web,
        c,
        'POST',
        '/api/control/release',
        {},
        { origin: 'http://evil.example:3636' },
      );
      assert.equal(r.statusCode, 403);
      const ok = await call(
        env.web,
        c,
        'POST',
        '/api/control/release',
        {},
        { origin: 'http://localhost:80' },
      );
      assert.equal(ok.statusCode, 200, ok.body);
      assert.deepEqual(env.daemon.commands, [{ cmd: 'release' }]);
    });

    it('serves a configured name (--allowed-host) and refuses it without', async () => {
      await env.web.close();
      env.web = await buildWeb({
        runDir: env.runDir,
        passwordFile: env.passwordFile,
        log: env.log,
        host: '198.18.0.11',
        allowedHosts: ['lvs1.example.net'],
      });
      assert.equal(
        (
          await env.web.app.inject({
            method: 'GET',
            url: '/login',
            headers: { host: 'lvs1.example.net:3636' },
          })
        ).statusCode,
        200,
      );
      assert.equal(
        (await env.web.app.inject({ method: 'GET', url: '/login', headers: { host: '198.18.0.11:3636' } }))
          .statusCode,
        200,
      );
      assert.equal(
        (await env.web.app.inject({ method: 'GET', url: '/login', headers: { host: 'localhost:3636' } }))
          .statusCode,
        421,
      );
    });
  });
});
