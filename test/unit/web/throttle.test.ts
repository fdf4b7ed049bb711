/**
 * Login throttling (issue 17 item 3): each attempt counts before its password is checked, one check at a
 * time with a short queue, a global budget, IPv6 clients by /64, and locked clients never dropped when the
 * table is full. Over real HTTP for the parallel case.
 */
import assert from 'node:assert/strict';
import { hashPassword, writePasswordFile } from '../../../src/web/password';
import { clientKey, LoginThrottle, VerifyQueue } from '../../../src/web/throttle';
import { startWeb, type WebServer } from '../../../src/web/server';
import { cookieHeader, type Env, makeEnv, PASSWORD } from './fixture';

describe('web console: login throttle', () => {
  describe('pure parts', () => {
    it('keys IPv4 as is, IPv4-mapped IPv6 as IPv4, and IPv6 by its /64', () => {
      assert.equal(clientKey('198.18.0.5'), '198.18.0.5');
      assert.equal(clientKey('::ffff:198.18.0.5'), '198.18.0.5');
      assert.equal(clientKey('2001:2:0:1::1'), '2001:2:0:1::/64');
      assert.equal(clientKey('2001:2:0:1:ffff:ffff:ffff:ffff'), '2001:2:0:1::/64');
      assert.equal(clientKey('2001:0002:0000:0001:0:0:0:9'), '2001:2:0:1::/64');
      assert.equal(clientKey('fe80::1%eth0'), 'fe80::/64');
      assert.notEqual(clientKey('2001:2:0:2::1'), clientKey('2001:2:0:1::1'));
      assert.equal(clientKey('::1'), '::/64');
    });

    it('a global budget bounds the checks of all clients together: burst, then one per refill', () => {
      const clock = { t: 0 };
      const th = new LoginThrottle({
        maxFailures: 5,
        windowMs: 300_000,
        lockMs: 60_000,
        now: () => clock.t,
        burst: 3,
        refillMs: 1000,
      });
      const r = Array.from({ length: 6 }, (_, i) => th.admit(`198.18.0.${i + 1}`));
      assert.deepEqual(
        r.map((x) => (x.ok ? 'ok' : x.reason)),
        ['ok', 'ok', 'ok', 'rate', 'rate', 'rate'],
      );
      assert.deepEqual(r[3], { ok: false, key: '198.18.0.4', reason: 'rate', retryMs: 1000 });
      clock.t = 1000;
      assert.equal(th.admit('198.18.0.9').ok, true);
      assert.equal(th.admit('198.18.0.10').ok, false);
      clock.t = 10_000;
      assert.equal(
        [1, 2, 3, 4].filter((i) => th.admit(`198.18.1.${i}`).ok).length,
        3,
        'refilled to burst only',
      );
    });

    it('never drops a locked client to make room; unlocked ones go first; new clients wait when all are locked', () => {
      const clock = { t: 0 };
      const th = new LoginThrottle({
        maxFailures: 2,
        windowMs: 300_000,
        lockMs: 60_000,
        now: () => clock.t,
        maxEntries: 3,
        burst: 1000,
      });
      for (const a of ['198.18.0.1', '198.18.0.2']) {
        th.admit(a);
        th.admit(a);
        assert.ok(th.lockedFor(a) > 0);
      }
      clock.t = 10;
      assert.equal(th.admit('198.18.0.3').ok, true, 'one failure, not locked');
      clock.t = 20;
      assert.equal(th.admit('198.18.0.4').ok, true, 'room made by dropping the unlocked client');
      assert.equal(th.admit('198.18.0.4').ok, true);
      assert.ok(th.lockedFor('198.18.0.4') > 0);
      assert.equal(th.size, 3);
      // Today's code cleared the whole table when it was full: every lock would have ended.
      for (let i = 0; i < 50; i++) {
        const r = th.admit(`198.18.2.${i}`);
        assert.equal(r.ok, false);
        assert.equal(!r.ok && r.reason, 'full');
      }
      for (const a of ['198.18.0.1', '198.18.0.2', '198.18.0.4'])
        assert.ok(th.lockedFor(a) > 0, `${a} still locked`);
      clock.t = 60_001;
      assert.equal(th.admit('198.18.2.99').ok, true, 'a lock ended: room again');
    });

    it('VerifyQueue runs one check at a time, queues a few, refuses the rest at once', async () => {
      const q = new VerifyQueue({ concurrency: 1, maxWaiting: 2 });
      const gates: (() => void)[] = [];
      let running = 0;
      let peak = 0;
      const job = () =>
        new Promise<number>((resolve) => {
          running++;
          peak = Math.max(peak, running);
          gates.push(() => {
            running--;
            resolve(1);
          });
        });
      const runs = [q.run(job), q.run(job), q.run(job), q.run(job), q.run(job)];
      assert.deepEqual(await runs[3], { ok: false });
      assert.deepEqual(await runs[4], { ok: false });
      for (let released = 0; released < 3; ) {
        await new Promise((r) => setImmediate(r));
        assert.ok(gates.length <= 1, 'never two checks at once');
        const g = gates.shift();
        if (g) {
          g();
          released++;
        }
      }
      assert.deepEqual(await Promise.all(runs.slice(0, 3)), [
        { ok: true, value: 1 },
        { ok: true, value: 1 },
        { ok: true, value: 1 },
      ]);
      assert.equal(peak, 1);
      assert.deepEqual(q.stats, { run: 3, peak: 1, refused: 2 });
    });
  });

  describe('over the console', () => {
    let env: Env;
    let server: WebServer | undefined;
    beforeEach(async () => {
      env = await makeEnv();
    });
    afterEach(async () => {
      await server?.close();
      server = undefined;
      await env.cleanup();
    });

    it('40 parallel wrong passwords from one address over real HTTP: at most 5 are checked, one at a time', async () => {
      await env.web.close();
      // A realistic cost (N 2^14, ~50 ms): with a trivial one, today's code would finish each check
      // before the next request arrived and lock the address after all.
      const cost = { N: 1 << 14, r: 8, p: 1 };
      writePasswordFile(env.passwordFile, await hashPassword(PASSWORD, cost));
      server = await startWeb({
        runDir: env.runDir,
        passwordFile: env.passwordFile,
        log: env.log,
        port: 0,
        scrypt: cost,
      });
      const page = await fetch(`${server.url}/login`);
      const cookie = page.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ');
      const token = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
      const post = (pw: string) =>
        fetch(`${server!.url}/login`, {
          method: 'POST',
          redirect: 'manual',
          headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
          body: `_csrf=${encodeURIComponent(token)}&password=${encodeURIComponent(pw)}`,
        }).then((r) => r.status);
      const statuses = await Promise.all(Array.from({ length: 40 }, (_, i) => post(`wrong password ${i}`)));
      const checked = env.log.records.filter((r) => r.msg === 'web: login failed').length;
      console.log(
        `      40 parallel wrong passwords: ${checked} checked, statuses ${JSON.stringify(count(statuses))}`,
      );
      assert.ok(checked <= 5, `${checked} passwords were checked (today's code checked all 40)`);
      assert.equal(statuses.filter((s) => s === 401).length, checked);
      assert.equal(statuses.filter((s) => s === 429 || s === 503).length, 40 - checked);
      assert.equal(server.logins.peak, 1, 'one scrypt at a time');
      assert.ok(server.logins.run <= 5);
      assert.equal(await post(PASSWORD), 429, 'locked: even the right password waits');
    });

    it('IPv6 clients are throttled by /64: rotating addresses within it does not get more guesses', async () => {
      const attempt = async (remoteAddress: string, pw = 'nope nope nope') => {
        const page = await env.web.app.inject({ method: 'GET', url: '/login', remoteAddress });
        const jar = Object.fromEntries(page.cookies.map((c) => [c.name, c.value]));
        const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
        const res = await env.web.app.inject({
          method: 'POST',
          url: '/login',
          remoteAddress,
          headers: { cookie: cookieHeader(jar), 'content-type': 'application/x-www-form-urlencoded' },
          payload: `_csrf=${encodeURIComponent(token)}&password=${encodeURIComponent(pw)}`,
        });
        return res.statusCode;
      };
      const got: number[] = [];
      for (let i = 1; i <= 8; i++) got.push(await attempt(`2001:2:0:1::${i.toString(16)}`));
      assert.deepEqual(got, [401, 401, 401, 401, 401, 429, 429, 429]);
      assert.equal(await attempt('2001:2:0:1:dead:beef:0:1', PASSWORD), 429, 'the whole /64 is locked');
      env.clock.t += 2000; // the global budget (5 checks at once) was spent by the guesses
      assert.equal(await attempt('2001:2:0:2::1', PASSWORD), 303, 'another /64 is not');
    });
  });
});

function count(xs: number[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}
