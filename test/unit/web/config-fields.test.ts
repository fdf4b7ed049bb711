import assert from 'node:assert/strict';
import { loadConfig } from '../../../src/config';
import { webKindOf } from '../../../src/config/formats';
import { groupOf, keyByModel, SCOPES } from '../../../src/config/keys';
import { applyFields } from '../../../src/web/edit';
import { FORMS, fieldsOf, newVirtualServer, type Scope } from '../../../src/web/fields';

const FORM_NAMES = Object.keys(FORMS) as Scope[];

describe('web console: the form fields are derived from the config key table', () => {
  it('every field is a table key: label, type, document path and lvs.cf key come from its entry', () => {
    for (const form of FORM_NAMES) {
      const keys = FORMS[form].keys;
      for (const f of fieldsOf(form)) {
        const k = keyByModel(keys, f.id);
        assert.ok(k?.web, `${form} ${f.id} is a key with a web label`);
        assert.equal(f.label, k.web.label, f.id);
        assert.equal(f.doc, k.path, f.id);
        assert.equal(f.cf, k.cf?.key, f.id);
        assert.equal(f.type, webKindOf(k.format), f.id);
        assert.equal(f.group, groupOf(keys, f.id)?.model, f.id);
      }
    }
  });

  it('a key that names a program root runs, or is marked webReadOnly, is read-only in every form; nothing else is', () => {
    let programs = 0;
    const sensitive: string[] = [];
    for (const form of FORM_NAMES)
      for (const f of fieldsOf(form)) {
        const k = keyByModel(FORMS[form].keys, f.id)!;
        const ro = k.runsProgram === true || k.webReadOnly !== undefined;
        assert.equal(f.readOnly === true, ro, `${form} ${f.id}`);
        if (ro) assert.ok(f.readOnlyReason, `${form} ${f.id} says why`);
        if (k.runsProgram === true) programs++;
        else if (k.webReadOnly !== undefined) sensitive.push(f.id);
      }
    assert.equal(programs, 6, 'hooks (3), ipvsadm, conntrackd, send_program');
    assert.deepEqual(sensitive.sort(), [
      'heartbeat.auth',
      'heartbeat.keyFile',
      'heartbeat.piranhaCompat',
      'heartbeat.previousKeyFile',
      'heartbeat.rtPriority',
      'metrics.listen',
      'monitor.loadMonitor',
    ]);
  });

  it('the heartbeat security settings cannot be weakened from the web (issue 17 item 6)', () => {
    const m = loadConfig('etc/lvs.yaml').model;
    const before = structuredClone(m);
    const r = applyFields(
      'redundancy',
      m,
      {
        'heartbeat.auth': 'none',
        'heartbeat.piranhaCompat': true,
        'heartbeat.keyFile': '/etc/ssh/ssh_host_ed25519_key',
        'heartbeat.previousKeyFile': '/etc/shadow',
        'heartbeat.rtPriority': '99',
      },
      'redundancy',
    );
    assert.deepEqual(r.errors.map((e) => e.field).sort(), [
      'heartbeat.auth',
      'heartbeat.keyFile',
      'heartbeat.piranhaCompat',
      'heartbeat.previousKeyFile',
      'heartbeat.rtPriority',
    ]);
    for (const e of r.errors) assert.match(e.message, /never from the web: \S/);
    const g = applyFields('global', m, { 'metrics.listen': '0.0.0.0:9539' }, 'global');
    assert.equal(g.errors[0]?.field, 'metrics.listen');
    assert.deepEqual(m, before, 'nothing changed');
  });

  it('every key with a web label is on exactly one form of its scope', () => {
    for (const [scope, def] of Object.entries(SCOPES))
      for (const k of def.keys.filter((x) => x.web)) {
        const on = FORM_NAMES.filter(
          (form) => FORMS[form].keys === scope && FORMS[form].ids.includes(k.model as never),
        );
        assert.equal(on.length, 1, `${scope} ${k.model} is on ${on.join(', ') || 'no form'}`);
      }
  });

  it('load_monitor is read-only from the web: a command runs as root, a URL is fetched by root (blind SSRF)', () => {
    const vs = newVirtualServer();
    assert.deepEqual(
      applyFields('virtual', vs, { 'monitor.loadMonitor': 'none' }, 't').errors,
      [],
      'posting the value it has is fine',
    );
    for (const bad of ['uptime', 'http://169.254.169.254/latest/meta-data/', '/usr/local/bin/load']) {
      const r = applyFields('virtual', vs, { 'monitor.loadMonitor': bad }, 't');
      assert.equal(r.errors.length, 1, bad);
      assert.match(r.errors[0]!.message, /never from the web: .*SSRF/);
    }
    assert.deepEqual(vs.monitor.loadMonitor, { kind: 'none' }, 'unchanged');
  });

  it('the Global settings form shows the sync daemon multicast group after the sync interface', () => {
    const ids = fieldsOf('global').map((f) => f.id);
    assert.equal(ids.indexOf('syncDaemon.mcastGroup'), ids.indexOf('syncDaemon.interface') + 1);
  });
});
