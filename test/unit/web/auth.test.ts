import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  hashPassword,
  parseHash,
  PasswordFileError,
  readPasswordFile,
  verifyPassword,
  writePasswordFile,
} from '../../../src/web/password';
import { buildWeb } from '../../../src/web/server';
import { SessionStore } from '../../../src/web/sessions';
import { LoginThrottle } from '../../../src/web/throttle';
import { TEST_SCRYPT } from './fixture';

describe('web console: password hashing (scrypt)', () => {
  it('verifies the right password and refuses others', async () => {
    const h = await hashPassword('correct horse battery', TEST_SCRYPT);
    assert.match(h, /^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    assert.equal(await verifyPassword('correct horse battery', h), true);
    assert.equal(await verifyPassword('correct horse batterY', h), false);
    assert.equal(await verifyPassword('', h), false);
    assert.equal(await verifyPassword('x'.repeat(5000), h), false);
    assert.notEqual(await hashPassword('correct horse battery', TEST_SCRYPT), h, 'salted');
  });

  it('uses the strong default cost (N 2^17) and rejects malformed or abusive hashes', async () => {
    const h = await hashPassword('p');
    assert.deepEqual(parseHash(h)!.params, { N: 131072, r: 8, p: 1 });
    assert.equal(
      parseHash('scrypt$1048576$32$1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA'),
      undefined,
      'memory bounded (4 GiB)',
    );
    assert.equal(await verifyPassword('p', 'plain-text-password'), false);
    assert.equal(
      parseHash('scrypt$1000$8$1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA'),
      undefined,
      'N not a power of two',
    );
    assert.equal(
      parseHash(`scrypt$${1 << 24}$8$1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA`),
      undefined,
      'cost bounded',
    );
  });

  describe('password file', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'pulse-web-pw-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('is written 0600 and read back', async () => {
      const p = join(dir, 'web.passwd');
      const h = await hashPassword('secret secret', TEST_SCRYPT);
      writePasswordFile(p, h);
      assert.equal(statSync(p).mode & 0o777, 0o600);
      assert.equal(readPasswordFile(p), h);
    });

    it('refuses to start without one: there is no default password', async () => {
      const p = join(dir, 'missing');
      assert.throws(
        () => readPasswordFile(p),
        (e: Error) =>
          e instanceof PasswordFileError && /no console password is set.*--set-password/.test(e.message),
      );
      await assert.rejects(buildWeb({ runDir: dir, passwordFile: p }), /there is no default password/);
    });

    it('refuses a file others can read, or one that is not a hash', async () => {
      const p = join(dir, 'web.passwd');
      writePasswordFile(p, await hashPassword('secret secret', TEST_SCRYPT));
      chmodSync(p, 0o644);
      assert.throws(() => readPasswordFile(p), /mode 644.*chmod 600/);
      writeFileSync(p, 'admin\n', { mode: 0o600 });
      chmodSync(p, 0o600);
      assert.throws(() => readPasswordFile(p), /not a scrypt hash/);
    });
  });
});

describe('web console: sessions', () => {
  const make = () => {
    const clock = { t: 0 };
    let n = 0;
    const store = new SessionStore({
      idleMs: 1000,
      maxMs: 5000,
      now: () => clock.t,
      newId: () => `id${++n}`,
      maxSessions: 3,
    });
    return { clock, store };
  };

  it('expires on idle, keeps alive on use, and ends at the absolute lifetime', () => {
    const { clock, store } = make();
    const s = store.create('admin', '127.0.0.1');
    clock.t = 999;
    assert.ok('session' in store.lookup(s.id));
    clock.t = 1998;
    assert.ok('session' in store.lookup(s.id, false));
    clock.t = 1999;
    assert.deepEqual(store.lookup(s.id), { expired: 'idle' }, 'a lookup without touch did not count as use');
    assert.deepEqual(store.lookup(s.id), { expired: 'unknown' }, 'gone after expiry');
    const t = store.create('admin', '127.0.0.1');
    for (clock.t = 2000; clock.t < 7000; clock.t += 900)
      assert.ok('session' in store.lookup(t.id), `alive at ${clock.t}`);
    assert.deepEqual(store.lookup(t.id), { expired: 'max' }, 'used every 900 ms, yet ended 5 s after login');
    assert.deepEqual(store.lookup(undefined), { expired: 'unknown' });
  });

  it('keeps a bounded number of sessions, dropping the least recently used', () => {
    const { clock, store } = make();
    const ids = [1, 2, 3].map(() => {
      clock.t += 10;
      return store.create('admin', 'x').id;
    });
    clock.t += 10;
    store.lookup(ids[0]);
    store.create('admin', 'x');
    assert.equal(store.size, 3);
    assert.ok('session' in store.lookup(ids[0]));
    assert.deepEqual(store.lookup(ids[1]), { expired: 'unknown' });
  });

  it('throttles logins per address: each attempt counts before its check, the last allowed one locks', () => {
    const clock = { t: 0 };
    const th = new LoginThrottle({
      maxFailures: 3,
      windowMs: 1000,
      lockMs: 500,
      now: () => clock.t,
      burst: 100,
    });
    assert.equal(th.admit('a').ok, true);
    clock.t = 2000; // the first attempt left the window
    assert.equal(th.admit('a').ok, true);
    assert.equal(th.admit('a').ok, true);
    assert.equal(th.lockedFor('a'), 0);
    assert.equal(th.admit('a').ok, true, 'the third attempt in the window is still checked…');
    assert.equal(th.lockedFor('a'), 500, '…and locks the address');
    assert.deepEqual(th.admit('a'), { ok: false, key: 'a', reason: 'locked', retryMs: 500 });
    assert.equal(th.lockedFor('b'), 0);
    clock.t = 2500;
    assert.equal(th.lockedFor('a'), 0);
  });
});
