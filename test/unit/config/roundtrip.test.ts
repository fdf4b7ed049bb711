import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dumpConfig, loadConfig } from '../../../src/config/index.js';

const ETC = join(__dirname, '../../../etc');
const files = readdirSync(ETC)
  .filter((f) => /\.(cf|ya?ml|json)$/.test(f))
  .sort();

describe('config: round trips on every example in etc/', () => {
  it('has the examples the issue asks for', () => {
    for (const f of ['lvs.cf', 'lvs.yaml', 'direct-routing.yaml', 'piranha-sample.lvs.cf'])
      assert.ok(files.includes(f), f);
  });

  for (const f of files) {
    it(`${f}: file → model → YAML → model → YAML gives identical YAML`, () => {
      const m1 = loadConfig(join(ETC, f)).model;
      const y1 = dumpConfig(m1, 'yaml');
      const m2 = loadConfig('again.yaml', y1).model;
      assert.deepEqual(m2, m1);
      const y2 = dumpConfig(m2, 'yaml');
      assert.equal(y2, y1);
    });

    it(`${f}: model → lvs.cf → model is the same model, and dumping is deterministic`, () => {
      const m1 = loadConfig(join(ETC, f)).model;
      const c1 = dumpConfig(m1, 'lvs.cf');
      const m2 = loadConfig('again.cf', c1).model;
      assert.deepEqual(m2, m1);
      assert.equal(dumpConfig(m2, 'lvs.cf'), c1);
      assert.equal(dumpConfig(structuredClone(m1), 'yaml'), dumpConfig(m1, 'yaml'));
    });
  }

  it('etc/lvs.cf and etc/lvs.yaml describe the same LVS', () => {
    assert.deepEqual(loadConfig(join(ETC, 'lvs.yaml')).model, loadConfig(join(ETC, 'lvs.cf')).model);
  });

  it('the Piranha GUI sample loads unchanged, with its quirks understood', () => {
    const path = join(ETC, 'piranha-sample.lvs.cf');
    const text = readFileSync(path, 'utf8');
    assert.match(text, /\t {4}| {4}\t/, 'tabs and spaces mixed');
    assert.match(text, /^\t# sorry_server/m, 'a commented-out line inside a block');
    const { model, warnings } = loadConfig(path);
    assert.ok(warnings.some((w) => /'backup_active' is written twice/.test(w.message)));
    assert.equal(model.heartbeat.port, 1050);
    assert.equal(model.heartbeat.keepaliveMs, 6000);
    assert.equal(model.heartbeat.deadtimeMs, 18000);
    assert.equal(model.legacy.reservationConflictAction, 'preempt');
    assert.equal(model.legacy.rshCommand, 'ssh');
    const [s1, s2] = model.virtualServers;
    assert.equal(s1!.port, 80, 'port = http');
    assert.equal(s1!.fwmark, 100);
    assert.equal(s1!.sorryServer, undefined, 'the commented-out sorry_server stays out');
    assert.equal(s1!.monitor.rise, 2, 'reentry 10 / timeout 5');
    assert.deepEqual(s1!.monitor.loadMonitor, { kind: 'piranha', method: 'uptime' });
    assert.equal(s2!.active, false);
    assert.equal(s2!.monitor.send, '\n');
    assert.equal(s2!.realServers[0]!.weight, 1);
    assert.deepEqual(
      model.failoverServices.map((f) => [f.name, f.active, f.port, f.startCmd]),
      [
        ['web1', true, 1010, '/etc/rc.d/init.d/httpd start'],
        ['ftp', false, 21, '/etc/rc.d/init.d/inet start'],
      ],
    );
  });
});
