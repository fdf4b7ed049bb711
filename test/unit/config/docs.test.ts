import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LVSCF_KEYS } from '../../../src/config/lvscf.js';
import { renderConfigReference } from '../../../src/config/reference.js';

describe('config: generated reference', () => {
  it('docs/config-reference.md equals what scripts/gen-config-docs.ts generates (run `npm run docs:config`)', () => {
    const committed = readFileSync(join(__dirname, '../../../docs/config-reference.md'), 'utf8');
    assert.equal(committed, renderConfigReference());
  });

  it('documents every lvs.cf key', () => {
    const doc = renderConfigReference();
    for (const keys of Object.values(LVSCF_KEYS))
      for (const k of Object.keys(keys)) assert.ok(doc.includes(`| \`${k}\` |`), k);
  });

  it('docs/config-defaults.md names every shipped default that differs from Piranha', () => {
    const text = readFileSync(join(__dirname, '../../../docs/config-defaults.md'), 'utf8');
    for (const k of [
      'keepalive',
      'deadtime',
      'timeout',
      'interval',
      'rise',
      'arp_count',
      'arp_interval',
      'arp_form',
      'active',
      'backup_active',
    ])
      assert.match(text, new RegExp(`\`${k}\``), k);
  });
});
