import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config';
import { keygen } from '../../../src/heartbeat/keys';
import {
  NonceCache,
  PUSH_CONTENT_TYPE,
  PUSH_PATH,
  pushKey,
  pushToPeer,
  signPush,
  verifyPush,
} from '../../../src/web/peer';
import { buildWeb, PUBLIC_ROUTES, startWeb, type Web, type WebServer } from '../../../src/web/server';
import { call, type Env, login, makeEnv } from './fixture';

describe('web console: push to the peer router', () => {
  let keyDir: string;
  let keyFile: string;
  let a: Env;
  let b: Env;
  let bServer: WebServer;
  let aWeb: Web;
  const withKey = (t: string) => t.replace('/etc/lvs-pulse/heartbeat.key', keyFile);

  beforeEach(async () => {
    keyDir = mkdtempSync(join(tmpdir(), 'pulse-web-key-'));
    keyFile = join(keyDir, 'heartbeat.key');
    keygen(keyFile);
    b = await makeEnv({ edit: withKey, passConfigPath: true });
    await b.web.close();
    bServer = await startWeb({
      runDir: b.runDir,
      passwordFile: b.passwordFile,
      configPath: b.configPath,
      log: b.log,
      port: 0,
      acceptPeerPush: true,
    });
    a = await makeEnv({ edit: withKey, passConfigPath: true });
    await a.web.close();
    aWeb = await buildWeb({
      runDir: a.runDir,
      passwordFile: a.passwordFile,
      configPath: a.configPath,
      log: a.log,
      peer: { url: bServer.url },
    });
  });
  afterEach(async () => {
    await aWeb.close();
    await bServer.close();
    await a.cleanup();
    await b.cleanup();
    rmSync(keyDir, { recursive: true, force: true });
  });

  it('pushes a saved edit to the peer, which validates, saves (keeping .prev) and reloads', async () => {
    const c = await login(aWeb);
    const cfg = (await call(aWeb, c, 'GET', '/api/config')).json();
    const r = await call(aWeb, c, 'PUT', '/api/config/virtual/http/real/rs1', {
      version: cfg.version,
      fields: { weight: '4' },
    });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().peer.ok, true, JSON.stringify(r.json().peer));
    assert.deepEqual(r.json().peer.reload, { ok: true, changes: {} });
    assert.equal(
      readFileSync(b.configPath, 'utf8'),
      readFileSync(a.configPath, 'utf8'),
      'same file on both routers',
    );
    assert.equal(loadConfig(b.configPath).model.virtualServers[0]!.realServers[0]!.weight, 4);
    assert.ok(readFileSync(`${b.configPath}.prev`, 'utf8').includes('serial_no: 1'));
    assert.deepEqual(b.daemon.commands, [{ cmd: 'reload' }]);
    assert.ok(b.log.records.some((x) => x.msg === 'web: config received from peer' && x.fields.to === 2));
    assert.ok(a.log.records.some((x) => x.msg === 'web: config pushed to peer'));
  });

  it('refuses unsigned, wrongly signed, skewed, replayed and older pushes', async () => {
    const before = readFileSync(b.configPath, 'utf8');
    const key = pushKey(Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'hex'));
    const text = withKey(readFileSync('etc/lvs.yaml', 'utf8')).replace('serial_no: 1', 'serial_no: 7');
    const payload = { format: 'yaml' as const, serial: 7, text };

    const unsigned = await fetch(`${bServer.url}${PUSH_PATH}`, {
      method: 'POST',
      headers: { 'content-type': PUSH_CONTENT_TYPE },
      body: JSON.stringify(payload),
    });
    assert.equal(unsigned.status, 401);
    const wrong = await pushToPeer({ url: bServer.url }, pushKey(Buffer.alloc(32, 7)), payload);
    assert.equal(wrong.status, 401);
    assert.match(JSON.stringify(wrong.body), /bad signature/);
    const skewed = await pushToPeer({ url: bServer.url }, key, payload, Date.now() - 120_000);
    assert.equal(skewed.status, 401);
    const older = await pushToPeer({ url: bServer.url }, key, { ...payload, serial: 1, text: before });
    assert.equal(older.status, 409);
    assert.equal(readFileSync(b.configPath, 'utf8'), before, 'nothing applied');
    assert.deepEqual(b.daemon.commands, []);

    // A captured push replayed verbatim is refused.
    const body = JSON.stringify(payload);
    const time = String(Date.now());
    const nonce = 'n0nce-n0nce-n0nce-1';
    const headers = {
      'content-type': PUSH_CONTENT_TYPE,
      'x-pulse-time': time,
      'x-pulse-nonce': nonce,
      'x-pulse-signature': signPush(key, time, nonce, body),
    };
    const first = await fetch(`${bServer.url}${PUSH_PATH}`, { method: 'POST', headers, body });
    assert.equal(first.status, 200, await first.text());
    const replay = await fetch(`${bServer.url}${PUSH_PATH}`, { method: 'POST', headers, body });
    assert.equal(replay.status, 401);
    assert.match(await replay.text(), /replayed nonce/);
    assert.ok(b.log.records.filter((x) => x.msg === 'web: peer push refused').length >= 4);
  });

  it('has no push route unless --accept-peer-push (the path then needs a session like any other)', async () => {
    const res = await aWeb.app.inject({
      method: 'POST',
      url: PUSH_PATH,
      headers: { 'content-type': PUSH_CONTENT_TYPE },
      payload: '{}',
    });
    assert.equal(res.statusCode, 401);
    assert.equal(aWeb.routes.includes(`POST ${PUSH_PATH}`), false);
  });

  it('with --accept-peer-push every other route still needs a session, and the push needs its HMAC', async () => {
    const paths = new Set(bServer.routes.map((r) => r.split(' ')[1]!.replace(/:(\w+)/g, 'http')));
    assert.ok(paths.has(PUSH_PATH));
    for (const url of paths)
      for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH'] as const) {
        if (PUBLIC_ROUTES.has(`${method} ${url}`)) continue;
        const res = await bServer.app.inject({
          method,
          url,
          headers: { 'content-type': url === PUSH_PATH ? PUSH_CONTENT_TYPE : 'application/json' },
          ...(method === 'GET' || method === 'HEAD'
            ? {}
            : { payload: '{"format":"yaml","serial":99,"text":""}' }),
        });
        assert.equal(res.statusCode, 401, `${method} ${url}`);
      }
    assert.deepEqual(b.daemon.commands, []);
  });

  it('verifyPush accepts the previous key during a rotation', () => {
    const k1 = pushKey(Buffer.alloc(32, 1));
    const k2 = pushKey(Buffer.alloc(32, 2));
    const nonces = new NonceCache(() => 0);
    const sig = signPush(k1, '1000', 'abcdefghijklmnop', 'x');
    const h = { 'x-pulse-time': '1000', 'x-pulse-nonce': 'abcdefghijklmnop', 'x-pulse-signature': sig };
    assert.deepEqual(verifyPush([k2], h, 'x', 1000, nonces), {
      ok: false,
      reason: 'bad signature (different heartbeat key?)',
    });
    assert.deepEqual(verifyPush([k2, k1], h, 'x', 1000, nonces), { ok: true });
    assert.deepEqual(verifyPush([k2, k1], h, 'y', 1000, new NonceCache(() => 0)).ok, false, 'body is signed');
  });
});
