import assert from 'node:assert/strict';
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

  it('a key that names a program root runs is read-only in every form; nothing else is', () => {
    let programs = 0;
    for (const form of FORM_NAMES)
      for (const f of fieldsOf(form)) {
        const k = keyByModel(FORMS[form].keys, f.id)!;
        assert.equal(f.readOnly === true, k.runsProgram === true, `${form} ${f.id}`);
        if (k.runsProgram === true) programs++;
      }
    assert.equal(programs, 6, 'hooks (3), ipvsadm, conntrackd, send_program');
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

  it('a load_monitor value that is a command is refused from the web; none, Piranha words and URLs are not', () => {
    const vs = newVirtualServer();
    for (const ok of ['none', 'uptime', 'http://198.18.0.21:9000/load'])
      assert.deepEqual(applyFields('virtual', vs, { 'monitor.loadMonitor': ok }, 't').errors, [], ok);
    const r = applyFields('virtual', vs, { 'monitor.loadMonitor': '/usr/local/bin/load' }, 't');
    assert.equal(r.errors.length, 1);
    assert.match(r.errors[0]!.message, /commands are set in the file/);
    assert.deepEqual(
      vs.monitor.loadMonitor,
      { kind: 'http', url: 'http://198.18.0.21:9000/load' },
      'unchanged',
    );
  });

  it('the Global settings form shows the sync daemon multicast group after the sync interface', () => {
    const ids = fieldsOf('global').map((f) => f.id);
    assert.equal(ids.indexOf('syncDaemon.mcastGroup'), ids.indexOf('syncDaemon.interface') + 1);
  });
});
