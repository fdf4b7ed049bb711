/**
 * Issue 17 items 7, 11 and 12 at the config layer: a native file fails closed on heartbeat
 * authentication; diagnostics are capped; only regular files of bounded size are read.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  capDiagnostics,
  checkConfig,
  type ConfigDiagnostic,
  ConfigError,
  loadConfig,
  MAX_CONFIG_BYTES,
  MAX_DIAGNOSTICS,
  readConfigText,
} from '../../../src/config';

const PAIR_YAML = `primary:
  address: 198.18.0.11
backup:
  address: 198.18.0.12
heartbeat:
  keepalive_ms: 20
network: direct
`;

describe('config: heartbeat authentication fails closed in native files (issue 17 item 7)', () => {
  it('YAML with a backup and no key is refused, at the heartbeat section, naming both ways out', () => {
    const r = checkConfig('pair.yaml', { text: PAIR_YAML });
    assert.equal(r.ok, false);
    const e = r.diagnostics.find((d) => d.severity === 'error')!;
    assert.equal(`${e.file}:${e.line}:${e.col}`, 'pair.yaml:6:3');
    assert.match(
      e.message,
      /heartbeat would not be authenticated: set heartbeat\.key_file .* heartbeat\.auth: none/,
    );
  });

  it('JSON likewise; with no heartbeat section the error is at the file start', () => {
    const json = JSON.stringify({ primary: { address: '198.18.0.11' }, backup: { address: '198.18.0.12' } });
    assert.throws(
      () => loadConfig('pair.json', json),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.diagnostics.some(
          (d) => d.severity === 'error' && d.line === 1 && /not be authenticated/.test(d.message),
        ),
    );
  });

  it('auth: none written on purpose runs (warned); a key file runs authenticated', () => {
    const none = loadConfig('n.yaml', PAIR_YAML.replace('keepalive_ms: 20', 'auth: none'));
    assert.equal(none.model.heartbeat.auth, 'none');
    assert.ok(none.warnings.some((w) => /not authenticated/.test(w.message)));
    const keyed = loadConfig(
      'k.yaml',
      PAIR_YAML.replace('keepalive_ms: 20', 'key_file: /etc/lvs-pulse/hb.key'),
    );
    assert.equal(keyed.model.heartbeat.auth, 'hmac');
  });

  it("lvs.cf keeps Piranha's behaviour: unauthenticated with a warning; no backup needs no key", () => {
    const cf = loadConfig(
      'lvs.cf',
      'primary = 198.18.0.11\nbackup = 198.18.0.12\nbackup_active = 1\nservice = lvs\n',
    );
    assert.equal(cf.model.heartbeat.auth, 'none');
    assert.ok(cf.warnings.some((w) => /not authenticated/.test(w.message)));
    const alone = loadConfig('a.yaml', 'primary:\n  address: 198.18.0.11\nbackup_active: false\n');
    assert.equal(alone.model.heartbeat.auth, 'none');
  });
});

describe('config: diagnostics are capped (issue 17 item 11)', () => {
  const diag = (i: number, severity: 'error' | 'warning'): ConfigDiagnostic => ({
    file: 'f',
    line: i + 1,
    col: 1,
    severity,
    message: `m${i}`,
  });

  it('keeps the first ones and counts the rest; an error among the rest keeps the file refused', () => {
    const all = [
      ...Array.from({ length: MAX_DIAGNOSTICS + 20 }, (_, i) => diag(i, 'warning')),
      diag(500, 'error'),
    ];
    const c = capDiagnostics(all);
    assert.equal(c.length, MAX_DIAGNOSTICS + 1);
    assert.deepEqual(c.slice(0, MAX_DIAGNOSTICS), all.slice(0, MAX_DIAGNOSTICS));
    const last = c.at(-1)!;
    assert.equal(last.severity, 'error');
    assert.match(last.message, /^and 21 more problems from here on \(1 errors, 20 warnings\), not shown$/);
    assert.equal(last.line, MAX_DIAGNOSTICS + 1);
    assert.equal(capDiagnostics(all.slice(0, 5)).length, 5);
  });

  it('a file of 2,000 unknown keys reports at most MAX_DIAGNOSTICS + 1 lines', () => {
    let t = 'primary:\n  address: 198.18.0.11\nbackup_active: false\n';
    for (let i = 0; i < 2000; i++) t += `bogus_${i}: 1\n`;
    const r = checkConfig('many.yaml', { text: t });
    assert.equal(r.ok, false);
    assert.equal(r.diagnostics.length, MAX_DIAGNOSTICS + 1);
  });
});

describe('config: only regular files of bounded size are read (issue 17 items 11, 12)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lp-cfg-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const refused = (path: string, why: RegExp) =>
    assert.throws(
      () => readConfigText(path),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.diagnostics[0]!.line === 1 &&
        e.diagnostics[0]!.file === path &&
        why.test(e.diagnostics[0]!.message),
    );

  it('refuses a FIFO, a device, a directory at once, without blocking or reading', () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const t0 = performance.now();
    refused(fifo, /cannot read the file: it is a FIFO, not a regular file/);
    refused('/dev/zero', /it is a device, not a regular file/);
    refused(dir, /it is a directory, not a regular file/);
    assert.ok(performance.now() - t0 < 1000);
  });

  it('refuses a file over the size cap; reads one at the cap; follows a symlink to a regular file', () => {
    const big = join(dir, 'big.cf');
    writeFileSync(big, '');
    truncateSync(big, MAX_CONFIG_BYTES + 1);
    refused(
      big,
      new RegExp(`it is ${MAX_CONFIG_BYTES + 1} bytes, larger than the ${MAX_CONFIG_BYTES}-byte limit`),
    );
    truncateSync(big, MAX_CONFIG_BYTES);
    assert.equal(readConfigText(big).length, MAX_CONFIG_BYTES);
    const small = join(dir, 'small.yaml');
    writeFileSync(small, 'primary: {}\n');
    execFileSync('ln', ['-s', small, join(dir, 'link.yaml')]);
    assert.equal(readConfigText(join(dir, 'link.yaml')), 'primary: {}\n');
  });
});
