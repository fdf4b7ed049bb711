import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { ConfigError, dumpConfig, type LvsModel, loadConfig } from '../../../src/config/index.js';
import { parseLvsCf } from '../../../src/config/lvscf.js';
import { parseYaml } from '../../../src/config/yaml.js';

const ETC = join(__dirname, '../../../etc');
const examples = readdirSync(ETC)
  .filter((f) => /\.(cf|ya?ml)$/.test(f))
  .sort()
  .map((f) => ({ name: f, text: readFileSync(join(ETC, f), 'utf8') }));
/**
 * Cases through the whole pipeline (front end, schema, model, semantic and host checks, dumps), shared by
 * the three full properties; LPC_FUZZ_RUNS=20000 for a soak. The front ends alone get FRONT_RUNS cases.
 */
const TOTAL = Number(process.env.LPC_FUZZ_RUNS ?? 2000);
const FRONT_RUNS = Number(process.env.LPC_FUZZ_FRONT_RUNS ?? 5000);
const noHost = { fileExists: () => false, interfaceExists: () => false };
const SLOW_MS = 1000;

/** Loads a config: only ConfigError may come out, and quickly; what loads must also dump and reload. */
function exercise(name: string, text: string): void {
  const t0 = performance.now();
  let model: LvsModel | undefined;
  try {
    model = loadConfig(name, text, { hostChecks: true, host: noHost }).model;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    assert.ok(e.diagnostics.some((d) => d.severity === 'error'));
    for (const d of e.diagnostics)
      assert.ok(d.line >= 1 && d.col >= 1 && typeof d.message === 'string', JSON.stringify(d));
  }
  if (model) {
    assert.deepEqual(loadConfig('again.yaml', dumpConfig(model, 'yaml')).model, model);
    assert.deepEqual(loadConfig('again.cf', dumpConfig(model, 'lvs.cf')).model, model);
  }
  const took = performance.now() - t0;
  assert.ok(took < SLOW_MS, `took ${took.toFixed(0)} ms`);
}

/** A garbling step applied to a list of lines. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), at: fc.nat(), to: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    col: fc.nat(),
    text: fc.string({ maxLength: 6 }),
  }),
  fc.record({
    kind: fc.constant('token' as const),
    at: fc.nat(),
    col: fc.nat(),
    text: fc.constantFrom(
      '"',
      "'",
      '{',
      '}',
      '=',
      '#',
      '\\',
      '\t',
      ' ',
      '0x',
      '-1',
      '99999999999',
      '0.0001',
      ':',
      '- ',
      '&a',
      '*a',
      '[',
      ']',
      '\r',
      '%x',
      '(',
    ),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), col: fc.nat() }),
);

function garble(
  text: string,
  steps: { kind: string; at: number; to?: number; col?: number; text?: string }[],
): string {
  const lines = text.split('\n');
  for (const s of steps) {
    if (lines.length === 0) lines.push('');
    const i = s.at % lines.length;
    const line = lines[i]!;
    const c = (s.col ?? 0) % (line.length + 1);
    switch (s.kind) {
      case 'delete':
        lines.splice(i, 1);
        break;
      case 'duplicate':
        lines.splice(i, 0, line);
        break;
      case 'swap': {
        const j = (s.to ?? 0) % lines.length;
        [lines[i], lines[j]] = [lines[j]!, line];
        break;
      }
      case 'insert':
      case 'token':
        lines[i] = line.slice(0, c) + s.text + line.slice(c);
        break;
      case 'truncate':
        lines[i] = line.slice(0, c);
        break;
    }
  }
  return lines.join('\n');
}

describe('config: fuzz — garbled and random inputs give config errors only, never another exception or a hang', function () {
  this.timeout(600_000);

  it(`front ends alone on garbled examples: never throw, every position inside the text (${FRONT_RUNS} cases)`, () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...examples),
        fc.array(mutation, { minLength: 1, maxLength: 8 }),
        (ex, steps) => {
          const text = garble(ex.text, steps);
          const lines = text.split(/\r\n|\r|\n/).length;
          const r = ex.name.endsWith('.cf') ? parseLvsCf(text, ex.name) : parseYaml(text, ex.name);
          for (const p of [...r.positions.values(), ...r.diagnostics])
            assert.ok(p.line >= 1 && p.line <= lines + 1 && p.col >= 1, JSON.stringify(p));
        },
      ),
      { numRuns: FRONT_RUNS, seed: 0x0ec, endOnFailure: true },
    );
  });

  it(`garbled examples (${Math.round(TOTAL * 0.6)} cases)`, () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...examples),
        fc.array(mutation, { minLength: 1, maxLength: 8 }),
        (ex, steps) => {
          exercise(ex.name, garble(ex.text, steps));
        },
      ),
      { numRuns: Math.round(TOTAL * 0.6), seed: 0x1ec, endOnFailure: true },
    );
  });

  it(`random text as lvs.cf, YAML and JSON (${Math.round(TOTAL * 0.2)} cases)`, () => {
    fc.assert(
      fc.property(
        fc.constantFrom('r.cf', 'r.yaml', 'r.json'),
        fc.string({ unit: 'binary', maxLength: 300 }),
        (name, text) => {
          exercise(name, text);
        },
      ),
      { numRuns: Math.round(TOTAL * 0.2), seed: 0x2ec, endOnFailure: true },
    );
  });

  it(`random documents (${Math.round(TOTAL * 0.2)} cases)`, () => {
    const key = fc.constantFrom(
      'primary',
      'backup',
      'heartbeat',
      'virtual_servers',
      'real_servers',
      'vip',
      'address',
      'port',
      'monitor',
      'name',
      'keepalive_ms',
      'deadtime_ms',
      'network',
      'nat_router',
      '__proto__',
      'constructor',
      'failover_services',
      'kind',
      'http',
      'weight',
    );
    const doc = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.constantFrom(
          null,
          true,
          false,
          0,
          -1,
          80,
          70000,
          1.5,
          '',
          '198.18.0.10',
          'nat',
          'wlc',
          'eth0:1',
          'x',
        ),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(key, tie('value'), { maxKeys: 4 }),
      ),
    })).value;
    fc.assert(
      fc.property(fc.dictionary(key, doc, { maxKeys: 6 }), fc.boolean(), (d, asJson) => {
        exercise(asJson ? 'd.json' : 'd.yaml', asJson ? JSON.stringify(d) : stringify(d));
      }),
      { numRuns: Math.round(TOTAL * 0.2), seed: 0x3ec, endOnFailure: true },
    );
  });
});
