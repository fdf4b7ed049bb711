/**
 * The web console against the REAL daemon pair on the lab (network namespaces; needs root): the console
 * runs in this process and reaches r1's daemon through its control socket only. It shows the status,
 * drives a release (r1 active → standby) seen live over SSE, drains a real server, and saves a config
 * edit that the real daemon reloads — and refuses one the validator rejects, at its field.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type IncomingMessage, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StatusJson } from '../../../src/daemon/status';
import { isRoot } from '../../../lab/netns';
import { LabPair } from '../../../lab/pair';
import { MemoryLog } from '../../../src/lib/log';
import { hashPassword, writePasswordFile } from '../../../src/web/password';
import { startWeb, type WebServer } from '../../../src/web/server';
import { until } from '../../helpers/until';
import { call, type Client, cookieHeader, login, PASSWORD, TEST_SCRYPT } from '../../unit/web/fixture';
import { need } from '../../helpers/need';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('web console with the real daemon pair (lab)', function () {
  this.timeout(90_000);
  let pair: LabPair | undefined;
  let web: WebServer | undefined;
  let dir: string;
  let c: Client;
  const log = new MemoryLog();

  before(async function () {
    if (!isRoot()) {
      need(this, 'needs root');
    }
    dir = mkdtempSync(join(tmpdir(), 'pulse-web-lab-'));
    const passwordFile = join(dir, 'web.passwd');
    writePasswordFile(passwordFile, await hashPassword(PASSWORD, TEST_SCRYPT));
    pair = await LabPair.create({ prefix: 'lw' });
    await pair.waitRole('r1', 'active', 15_000);
    await pair.waitRole('r2', 'standby', 15_000);
    web = await startWeb({
      runDir: pair.routers.r1.runDir,
      passwordFile,
      log,
      port: 0,
      scrypt: TEST_SCRYPT,
      statusIntervalMs: 500,
    });
    c = await login(web);
  });

  after(async function () {
    if (this.currentTest?.state === 'failed' && pair) console.log(pair.routers.r1.log.slice(-40).join('\n'));
    await web?.close();
    await pair?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("shows the daemon's status", async () => {
    const r = await call(web!, c, 'GET', '/api/status');
    assert.equal(r.statusCode, 200, r.body);
    const s = r.json() as StatusJson;
    assert.equal(s.role, 'active');
    assert.equal(s.config.path, pair!.configPath);
    assert.deepEqual(
      s.virtual_servers[0]!.real_servers.map((x) => x.name),
      ['rs1', 'rs2'],
    );
  });

  it('releases r1 from the web and the page stream shows it live', async () => {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(`${web!.url}/events`, { headers: { cookie: cookieHeader(c.jar) } }, resolve);
      req.on('error', reject);
      req.end();
    });
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (d: string) => {
      buf += d;
    });
    try {
      await until('first status on the stream', async () => (/event: status/.test(buf) ? true : undefined));
      await sleep(300); // the hub follows the daemon's events by now
      const t0 = Date.now();
      const r = await call(web!, c, 'POST', '/api/control/release', {});
      assert.equal(r.statusCode, 200, r.body);
      await until('standby on the stream', async () => (/"role":"standby"/.test(buf) ? true : undefined));
      console.log(`      release → standby on the console's stream after ${Date.now() - t0} ms`);
      assert.match(buf, /event: daemon\ndata: \{[^\n]*"type":"transition"/);
      await pair!.waitRole('r2', 'active', 5000);
    } finally {
      res.destroy();
    }
  });

  it('drains a real server through the daemon', async () => {
    const r = await call(web!, c, 'POST', '/api/control/drain', { server: 'web/rs1' });
    assert.equal(r.statusCode, 200, r.body);
    const s = await pair!.status('r1');
    assert.equal(s.virtual_servers[0]!.real_servers.find((x) => x.name === 'rs1')!.state, 'drained');
    assert.equal((await call(web!, c, 'POST', '/api/control/enable', { server: 'web/rs1' })).statusCode, 200);
  });

  it('saves a config edit the real daemon reloads, and refuses an invalid one at its field', async () => {
    const before = readFileSync(pair!.configPath, 'utf8');
    let cfg = (await call(web!, c, 'GET', '/api/config')).json();
    assert.equal(cfg.format, 'lvs.cf');
    const bad = await call(web!, c, 'PUT', '/api/config/virtual/web/real/rs2', {
      version: cfg.version,
      fields: { weight: '-1' },
    });
    assert.equal(bad.statusCode, 422, bad.body);
    assert.equal(bad.json().errors[0].field, 'weight');
    assert.equal(readFileSync(pair!.configPath, 'utf8'), before);
    cfg = (await call(web!, c, 'GET', '/api/config')).json();
    const ok = await call(web!, c, 'PUT', '/api/config/virtual/web/real/rs2', {
      version: cfg.version,
      fields: { weight: '3' },
    });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json().reload.ok, true, JSON.stringify(ok.json().reload));
    assert.equal(readFileSync(`${pair!.configPath}.prev`, 'utf8'), before);
    const s = await until('rs2 configured weight 3', async () => {
      const st = await pair!.status('r1');
      return st.virtual_servers[0]!.real_servers.find((x) => x.name === 'rs2')!.configured_weight === 3
        ? st
        : undefined;
    });
    assert.ok(s);
    assert.ok(log.records.some((r) => r.msg === 'web: config saved'));
  });
});
