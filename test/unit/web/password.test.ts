/**
 * The console password (issue 17 item 13): a stored hash of a lower cost still verifies and is rewritten
 * at today's cost on its next login; a password changed by `--set-password` revokes every session; the
 * password file must be owned by root or the console's own user.
 */
import assert from 'node:assert/strict';
import { type IncomingMessage, request } from 'node:http';
import { chownSync, readFileSync, statSync } from 'node:fs';
import { hashPassword, parseHash, readPasswordFile, writePasswordFile } from '../../../src/web/password';
import { startWeb, type WebServer } from '../../../src/web/server';
import { needRoot } from '../../helpers/need';
import { call, cookieHeader, type Env, login, makeEnv, PASSWORD, TEST_SCRYPT } from './fixture';

describe('web console: password hash upgrade, revocation and file owner', () => {
  let env: Env;
  afterEach(async () => {
    await env?.cleanup();
  });

  it('a hash of a lower cost verifies, and the login rewrites it at the configured cost (owner and mode kept)', async () => {
    env = await makeEnv();
    const weak = { N: 256, r: 8, p: 1 };
    writePasswordFile(env.passwordFile, await hashPassword(PASSWORD, weak));
    const c = await login(env.web);
    const h = parseHash(readPasswordFile(env.passwordFile))!;
    assert.deepEqual(h.params, TEST_SCRYPT, 'rewritten at the target cost');
    assert.equal(statSync(env.passwordFile).mode & 0o777, 0o600);
    assert.ok(env.log.records.some((r) => r.msg === 'web: password hash upgraded'));
    assert.equal(
      (await call(env.web, c, 'GET', '/api/status')).statusCode,
      200,
      'the upgrade revokes nobody',
    );
    await login(env.web); // the same password still works
    await assert.rejects(login(env.web, 'not the password'), /401/);
  });

  it('a password changed by --set-password ends every session at once, an open event stream too', async () => {
    env = await makeEnv();
    await env.web.close();
    const server: WebServer = await startWeb({
      runDir: env.runDir,
      passwordFile: env.passwordFile,
      log: env.log,
      port: 0,
      scrypt: TEST_SCRYPT,
    });
    env.web = server;
    const c = await login(server);
    const d = await login(server);
    assert.equal((await call(server, c, 'GET', '/api/status')).statusCode, 200);
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(`${server.url}/events`, { headers: { cookie: cookieHeader(d.jar) } }, resolve);
      req.on('error', reject);
      req.end();
    });
    let stream = '';
    res.setEncoding('utf8');
    res.on('data', (x: string) => {
      stream += x;
    });
    const ended = new Promise<void>((r) => res.on('end', () => r()));

    writePasswordFile(env.passwordFile, await hashPassword('a brand new password', TEST_SCRYPT));
    assert.equal((await call(server, c, 'GET', '/api/status')).statusCode, 401, 'the old session is revoked');
    await Promise.race([
      ended,
      new Promise((_, j) => setTimeout(() => j(new Error('stream still open')), 8000)),
    ]);
    assert.match(stream, /event: expired/);
    assert.equal((await call(server, d, 'GET', '/api/status')).statusCode, 401);
    assert.ok(
      env.log.records.some((r) => r.msg === 'web: the console password was changed: every session revoked'),
    );
    await assert.rejects(login(server), /401/, 'the old password is refused');
    await login(server, 'a brand new password');
  });

  it('refuses a password file owned by another user (it could set the password and log in)', async function () {
    needRoot(this);
    env = await makeEnv();
    chownSync(env.passwordFile, 65534, 65534);
    assert.throws(
      () => readPasswordFile(env.passwordFile),
      /owned by uid 65534; only root or the console's own user/,
    );
    await assert.rejects(login(env.web), /503/, 'no login with an untrustworthy password file');
    chownSync(env.passwordFile, 0, 0);
    writePasswordFile(env.passwordFile, readPasswordFile(env.passwordFile), { uid: 65534, gid: 65534 });
    assert.equal(statSync(env.passwordFile).uid, 65534, '--set-password --owner chowns the file');
    assert.match(readFileSync(env.passwordFile, 'utf8'), /^scrypt\$/);
  });
});
