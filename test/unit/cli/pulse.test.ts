import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../src/cli/pulse';
import { capture } from './capture';

const GOOD = `serial_no: 1
primary:
  address: 198.18.0.11
network: direct
virtual_servers:
  - name: web
    vip: { address: 198.18.0.10, prefix_length: 24 }
    port: 80
    real_servers:
      - { name: rs1, address: 198.18.0.21 }
`;

describe('pulse: arguments, --check-config and --dump-config', () => {
  let dir: string;
  let good: string;
  let bad: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lp-pulse-cli-'));
    good = join(dir, 'good.yaml');
    bad = join(dir, 'bad.yaml');
    writeFileSync(good, GOOD);
    writeFileSync(bad, GOOD.replace('port: 80', 'port: 70000'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const run = (...argv: string[]) => capture(main, 'pulse', argv);

  it('--help prints the options and exits 0', async () => {
    const r = await run('--help');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Usage: pulse \[options\]/);
    for (const o of ['--check-config', '--dump-config', '--run-dir', '--log-level', '--node', '--no-syslog'])
      assert.ok(r.stdout.includes(o), o);
  });

  it('usage errors exit 2 with the reason on stderr', async () => {
    const cases: [string[], RegExp][] = [
      [['--bogus'], /unknown option '--bogus'/],
      [['--format', 'xml', '--dump-config'], /argument 'xml' is invalid\. Allowed choices are yaml, lvs\.cf/],
      [['--log-level', 'loud'], /expected error, warn, info or debug/],
      [['--node', 'middle'], /argument 'middle' is invalid\. Allowed choices are primary, backup/],
      [['-f'], /option '-f, --config <file>' argument missing/],
    ];
    for (const [argv, why] of cases) {
      const r = await run(...argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.stderr, why);
    }
  });

  it('-t: a good file prints its summary and exits 0; errors exit 2 as FILE:LINE:COL', async () => {
    const ok = await run('-t', '--config', good);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^service lvs, serial 1, network direct/);
    assert.match(ok.stdout, /^ {2}web: tcp 198\.18\.0\.10:80 /m);
    const ko = await run('--check-config', '--config', bad);
    assert.equal(ko.code, 2);
    assert.match(ko.stderr, new RegExp(`^${bad.replace(/[.]/g, '\\.')}:\\d+:\\d+: error: .*70000`, 'm'));
    assert.match(ko.stderr, /bad\.yaml: 1 error\n$/);
    assert.equal(ko.stdout, '');
  });

  it('--dump-config converts to lvs.cf; a missing or bad file exits 2', async () => {
    const r = await run('--dump-config', '--format', 'lvs.cf', '--config', good);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^primary = 198\.18\.0\.11$/m);
    assert.match(r.stdout, /^virtual web \{$/m);
    const missing = await run('--dump-config', '--config', join(dir, 'none.yaml'));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /none\.yaml:1:1: error: cannot read the file: ENOENT/);
    assert.equal((await run('--dump-config', '--config', bad)).code, 2);
  });
});
