import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sinon from 'sinon';
import { keygen, parseKey, readKeyFile } from '../../../src/heartbeat/keys.js';
import { LinkMonitor, linkState } from '../../../src/heartbeat/links.js';

describe('heartbeat key files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lph-keys-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keygen writes 32 random bytes as hex, mode 0600, and readKeyFile reads the same key', () => {
    const f = join(dir, 'k');
    const k = keygen(f);
    assert.equal(statSync(f).mode & 0o777, 0o600);
    assert.match(readFileSync(f, 'utf8'), /^[0-9a-f]{64}\n$/);
    const r = readKeyFile(f);
    assert.deepEqual(r.secret, k.secret);
    assert.equal(r.id, k.id);
    assert.notDeepEqual(keygen(join(dir, 'k2')).secret, k.secret);
  });

  it('keygen refuses to overwrite unless force (atomic replace, still 0600)', () => {
    const f = join(dir, 'k');
    const a = keygen(f);
    assert.throws(() => keygen(f), /already exists; move it aside/);
    const b = keygen(f, { force: true });
    assert.notDeepEqual(a.secret, b.secret);
    assert.equal(statSync(f).mode & 0o777, 0o600);
    assert.deepEqual(readKeyFile(f).secret, b.secret);
  });

  it('refuses a key file readable by group or others, naming the file and the fix', () => {
    const f = join(dir, 'k');
    keygen(f);
    for (const mode of [0o640, 0o604, 0o660, 0o602]) {
      chmodSync(f, mode);
      assert.throws(
        () => readKeyFile(f),
        (e: Error) => e.message.includes(f) && /chmod 600/.test(e.message),
      );
    }
    chmodSync(f, 0o400);
    assert.ok(readKeyFile(f));
  });

  it('refuses a symlink, a missing file and a too-short key', () => {
    const f = join(dir, 'k');
    keygen(f);
    const l = join(dir, 'link');
    symlinkSync(f, l);
    assert.throws(() => readKeyFile(l), /cannot open/);
    assert.throws(() => readKeyFile(join(dir, 'nope')), /cannot open heartbeat key file/);
    const s = join(dir, 'short');
    writeFileSync(s, 'tooshort\n', { mode: 0o600 });
    assert.throws(() => readKeyFile(s), /is not hex: a key must be random bytes/);
    writeFileSync(s, `${'ab'.repeat(31)}\n`, { mode: 0o600 });
    assert.throws(() => readKeyFile(s), /too short \(31 bytes, need at least 32\)/);
  });

  it('parseKey: random hex is decoded; a passphrase or a patterned key is refused (offline guessing)', () => {
    keygen(join(dir, 'k'));
    const hex = readFileSync(join(dir, 'k'), 'utf8');
    assert.equal(parseKey(Buffer.from(hex), 'f').length, 32);
    assert.throws(
      () => parseKey(Buffer.from('a long passphrase here, longer than 32 bytes\n'), 'f'),
      /f: .*not hex/,
    );
    assert.throws(() => parseKey(Buffer.from('00'.repeat(32)), 'f'), /does not look random/);
  });
});

describe('heartbeat link monitor (sysfs carrier + operstate)', () => {
  const fake = (m: Record<string, string>) => (p: string) => m[p];

  it('up needs carrier 1 and operstate up/unknown; bonds and VLANs read the same files', () => {
    const r = fake({
      '/sys/class/net/bond0/operstate': 'up',
      '/sys/class/net/bond0/carrier': '1',
      '/sys/class/net/eth0.100/operstate': 'lowerlayerdown',
      '/sys/class/net/eth0.100/carrier': '0',
      '/sys/class/net/dummy0/operstate': 'unknown',
      '/sys/class/net/dummy0/carrier': '1',
      '/sys/class/net/eth1/operstate': 'down',
    });
    assert.deepEqual(linkState('bond0', r), { up: true, detail: 'bond0 up (carrier 1, operstate up)' });
    assert.equal(linkState('eth0.100', r).up, false);
    assert.equal(linkState('eth0.100', r).detail, 'eth0.100 down (carrier 0, operstate lowerlayerdown)');
    assert.equal(linkState('dummy0', r).up, true);
    assert.equal(linkState('eth1', r).detail, 'eth1 down (carrier n/a, operstate down)');
    assert.equal(linkState('nope', r).up, false);
    assert.equal(linkState('../../etc', r).up, false);
  });

  it('never reads outside /sys/class/net/NAME/: `.`, `..`, `x/..` and labels are not interface names', () => {
    const read: string[] = [];
    // a reader that would say "up" for anything, so only the name check can make these down
    const any = (p: string) => {
      read.push(p);
      return p.endsWith('carrier') ? '1' : 'up';
    };
    for (const n of ['..', '.', 'x/..', 'eth0:1', 'a b', 'x";drop;#', '-x', ''])
      assert.match(linkState(n, any).detail, /not an interface name/, n);
    assert.deepEqual(read, []);
  });

  it('polls and emits a change only when the aggregate fault changes', async () => {
    const clock = sinon.useFakeTimers();
    try {
      const m: Record<string, string> = {
        '/sys/class/net/eth0/operstate': 'up',
        '/sys/class/net/eth0/carrier': '1',
        '/sys/class/net/eth1/operstate': 'up',
        '/sys/class/net/eth1/carrier': '1',
      };
      const mon = new LinkMonitor({ interfaces: ['eth0', 'eth1'], intervalMs: 50, read: (p) => m[p] });
      const changes: { on: boolean; detail: string }[] = [];
      mon.on('change', (c) => changes.push(c));
      mon.start();
      await clock.tickAsync(200);
      assert.deepEqual(changes, []);
      m['/sys/class/net/eth1/carrier'] = '0';
      m['/sys/class/net/eth1/operstate'] = 'down';
      await clock.tickAsync(50);
      assert.deepEqual(changes, [{ on: true, detail: 'eth1 down (carrier 0, operstate down)' }]);
      await clock.tickAsync(500);
      assert.equal(changes.length, 1);
      m['/sys/class/net/eth1/carrier'] = '1';
      m['/sys/class/net/eth1/operstate'] = 'up';
      await clock.tickAsync(50);
      assert.deepEqual(changes[1], { on: false, detail: 'all links up' });
      mon.stop();
    } finally {
      clock.restore();
    }
  });
});
