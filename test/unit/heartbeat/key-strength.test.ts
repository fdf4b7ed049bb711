/**
 * The one key-strength check (issue 17 item 4), shared by the heartbeat's key files and the web console's
 * push key: only random keys of `pulsectl keygen` strength, since every captured heartbeat or push lets an
 * attacker test guesses offline. And the key file's owner: root (or the reader), never another user.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkKeyStrength, keygen, readKeyFile } from '../../../src/heartbeat/keys.js';
import { needRoot } from '../../helpers/need';

describe('heartbeat key strength (checkKeyStrength)', () => {
  const check = (s: string) => checkKeyStrength(Buffer.from(s));

  it('accepts what keygen writes, and any 32+ random bytes as hex (upper case, trailing newline)', () => {
    for (let i = 0; i < 2000; i++) assert.equal(check(randomBytes(32).toString('hex')), undefined);
    assert.equal(check(`${randomBytes(48).toString('hex').toUpperCase()}\n`), undefined);
  });

  it('refuses passphrases, short keys and patterned hex, saying how to make a good one', () => {
    const cases: [string, RegExp][] = [
      ['correct horse battery staple correct horse battery staple', /not hex/],
      ['ThisIsMyVeryLongPassphraseForTheHeartbeatKey', /not hex/],
      [randomBytes(32).toString('base64'), /not hex/],
      [randomBytes(16).toString('hex'), /too short \(16 bytes/],
      [randomBytes(31).toString('hex'), /too short \(31 bytes/],
      ['abc', /not hex/],
      ['00'.repeat(32), /does not look random/],
      ['deadbeef'.repeat(8), /does not look random/],
      ['0123456789abcdef'.repeat(4), /does not look random/],
      [Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString('hex'), /does not look random/],
      [
        Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 7) % 256)).toString('hex'),
        /does not look random/,
      ],
      ['', /too short \(0 bytes/],
    ];
    for (const [k, re] of cases) {
      const why = check(k);
      assert.ok(why, `refused: ${k}`);
      assert.match(why, re, k);
      assert.match(why, /pulsectl keygen/);
    }
  });

  it('readKeyFile refuses a key file owned by another user (it could rewrite the key)', function () {
    needRoot(this);
    const dir = mkdtempSync(join(tmpdir(), 'lph-owner-'));
    try {
      const f = join(dir, 'k');
      keygen(f);
      chownSync(f, 65534, 65534);
      assert.throws(() => readKeyFile(f), /owned by uid 65534, not root.*chown root/);
      chownSync(f, 0, 0);
      assert.ok(readKeyFile(f));
      // An SSH host key or any other root-only file that is not a key is refused by its content.
      const pem = join(dir, 'ssh_host_ed25519_key');
      writeFileSync(
        pem,
        '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n',
        {
          mode: 0o600,
        },
      );
      assert.throws(() => readKeyFile(pem), /not hex/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
