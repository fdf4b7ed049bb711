/**
 * POSIX ERE health-check patterns (lib/regex.ts, issue 17 item 2 and issue 21 item 3): a table of ERE
 * cases with the expected match / no match, each cross-checked against a real POSIX ERE engine (GNU grep
 * -E from Debian, C locale, NUL-separated records so a newline is an ordinary byte as in regexec without
 * REG_NEWLINE) on the same inputs; the patterns that cannot be carried over are refused with a reason;
 * and a fuzz test (fast-check) that random patterns and inputs finish in bounded time and agree with grep.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { bytesText, compileEre, type EreMatcher, MAX_PROGRAM, translateEre } from '../../../src/lib/regex';
import { need } from '../../helpers/need';

/** The inputs grep -E matches, by index (one grep per pattern: records separated by NUL). */
function grepMatches(pattern: string, inputs: string[]): Set<number> | string {
  const input = Buffer.concat(inputs.map((s) => Buffer.concat([Buffer.from(s, 'latin1'), Buffer.from([0])])));
  const r = spawnSync('grep', ['-Ezn', '--', pattern], { input, env: { LC_ALL: 'C' } });
  if (r.status === 2) return `grep: ${r.stderr.toString().trim()}`;
  const out = new Set<number>();
  for (const rec of r.stdout.toString('latin1').split('\0'))
    if (rec) out.add(Number(rec.slice(0, rec.indexOf(':'))) - 1);
  return out;
}

const hasGrep = (): boolean => {
  try {
    return /GNU grep/.test(execFileSync('grep', ['--version']).toString());
  } catch {
    return false;
  }
};

const compiled = (p: string): EreMatcher => {
  const c = compileEre(p);
  if ('error' in c) throw new Error(`${p}: ${c.error}`);
  return c;
};

/** [pattern, inputs it matches, inputs it does not match] — POSIX ERE semantics, C locale. */
const CASES: [string, string[], string[]][] = [
  // the case: a POSIX class with an interval
  [
    'HTTP/1\\.[01] [[:digit:]]{3}',
    ['HTTP/1.0 200 OK', 'xHTTP/1.1 503'],
    ['HTTP/1.0 :]]]', 'HTTP/1x0 200', 'HTTP/1.0 20'],
  ],
  ['HTTP', ['HTTP/1.0 200', 'xx HTTP'], ['http', '']],
  ['^220 ', ['220 ready'], [' 220 ready', '2200']],
  ['ready$', ['is ready'], ['ready\n', 'readyx']],
  // classes, inside and mixed in brackets
  ['[[:alpha:]]+[[:digit:]]', ['abc1'], ['123', 'abc']],
  ['^[[:upper:]][[:lower:]]*$', ['Hello', 'H'], ['hello', 'HeLlo']],
  ['[[:space:]]', [' ', '\t', '\n', '\v', '\f', '\r'], ['x', '_']],
  ['^[[:punct:]]+$', ['!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'], ['a!', ' ']],
  ['^[[:xdigit:]]+$', ['0aF9'], ['0g']],
  ['^[[:alnum:]_]+$', ['a_1'], ['a-1']],
  ['^[[:blank:]]$', [' ', '\t'], ['\n']],
  ['^[[:cntrl:]]$', ['\x01', '\x7f', '\n'], [' ', 'a']],
  ['^[[:print:]]+$', [' a~'], ['\x7f', '\t']],
  ['^[[:graph:]]+$', ['a~!'], [' ']],
  ['[a[:digit:]b]', ['5', 'b', 'a'], [':', 'c']],
  ['[[:upper:][:digit:]]', ['A', '5'], ['a']],
  ['[^[:digit:]]', ['a', '\n'], ['5', '']],
  ['[[:digit:]-]', ['-', '5'], ['a']],
  // brackets: ] first, - first or last, ranges, backslash literal, negation matches a newline
  ['[]a]', [']', 'a'], ['b']],
  ['[^]a]', ['b', '\n'], [']', 'a']],
  ['[a-]', ['-', 'a'], ['b']],
  ['[-a]', ['-', 'a'], ['b']],
  ['[--/]', ['-', '.', '/'], [',', '0']],
  ['[%--]', ['%', ',', '-'], ['.']],
  ['[a\\]]', ['a]', '\\]'], ['a', ']']],
  ['[\\d]', ['\\', 'd'], ['5']],
  ['[.]', ['.'], ['a']],
  ['[*+?{]', ['*', '+', '?', '{'], ['a']],
  ['[[]', ['['], ['a']],
  ['[a-a]', ['a'], ['b']],
  ['[^a]', ['b', '\n'], ['a', '']],
  // dot matches a newline (no REG_NEWLINE); anchors are the whole text's
  ['a.b', ['a\nb', 'axb'], ['ab']],
  ['^b', ['b'], ['a\nb']],
  ['a$', ['a'], ['a\nb']],
  ['a^b', [], ['a^b', 'ab']],
  ['a$b', [], ['a$b', 'ab']],
  ['x(a|^b)', ['xa'], ['xb']],
  ['(^a)', ['a'], ['ba']],
  ['^$', [''], ['a']],
  // ERE's brace rules: an interval, or a literal `}` on its own; \{ for a literal {
  ['a{2}', ['aa'], ['a']],
  ['^a{2,3}$', ['aa', 'aaa'], ['a', 'aaaa']],
  ['^a{2,}$', ['aa', 'aaaaa'], ['a']],
  ['^a{,2}$', ['', 'a', 'aa'], ['aaa']],
  ['^a{0}$', [''], ['a']],
  ['^a{,}$', ['', 'aaa'], ['b']],
  ['\\{', ['{'], ['a']],
  ['}', ['}'], ['a']],
  ['a}', ['a}'], ['a']],
  ['^a{1,2}{3}$', ['aaa', 'aaaaaa'], ['aa']],
  // stacked quantifiers (regcomp takes them)
  ['^a**$', ['', 'aaa'], ['b']],
  ['^a+*$', ['', 'aa'], ['b']],
  ['^a?+$', ['', 'a', 'aa'], ['b']],
  // groups and alternation, empty ones included
  ['^(ab|cd)+$', ['ab', 'abcd'], ['abc', '']],
  ['()', ['x', ''], []],
  ['a|', ['b', ''], []],
  ['|a', ['b'], []],
  ['(|a)b', ['b', 'ab'], ['a']],
  ['^(a|)+$', ['', 'aa'], ['b']],
  ['a)', ['a)'], ['a']],
  // backslash: special characters literal; \w \s \b are GNU's, as regcomp had them
  ['\\.', ['.'], ['a']],
  ['\\(\\)\\*\\+\\?\\|\\^\\$\\[\\]\\\\', ['()*+?|^$[]\\'], ['()*+?|^$[]']],
  ['HTTP\\/1', ['HTTP/1'], ['HTTP1']],
  ['^\\w+$', ['a_1'], ['a-1']],
  ['^\\W$', ['-'], ['a']],
  ['a\\sb', ['a b', 'a\tb'], ['ab']],
  ['a\\Sb', ['axb'], ['a b']],
  ['\\bfoo\\b', ['a foo b', 'foo'], ['afoo', 'foob']],
  ['\\Boo', ['foo'], ['oo', 'a oo']],
  ['\\`a', ['a'], ['ba']],
  ["a\\'", ['a'], ['ab']],
  ['\\d', ['d'], ['5']],
  ['\\n', ['n'], ['\n']],
  // the backtracking traps: linear here
  ['^(.+)+QQQ', ['aaQQQ'], ['a'.repeat(253)]],
  ['ok.*ready.*true', ['ok ready true'], ['ok ready '.repeat(100)]],
  ['(a|aa)+$', ['aaa'], ['aab']],
  // bytes: high bytes are single characters, as in the C locale
  ['^.$', ['\xe9', '\xff'], ['\xc3\xa9']],
  ['[^a]', ['\xff'], []],
  // a pattern is read as its UTF-8 bytes (inputs here are written byte for byte)
  ['café', ['caf\xc3\xa9'], ['cafe', 'caf\xe9']],
];

/** Patterns refused (regcomp rejects them, or they cannot run in linear time), and why. */
const REFUSED: [string, RegExp][] = [
  ['(a)\\1', /backreference/],
  ['[[.a.]]', /collating elements/],
  ['[[=a=]]', /equivalence classes/],
  ['\\<a', /GNU word anchor/],
  ['a\\>', /GNU word anchor/],
  ['*a', /nothing to repeat/],
  ['+a', /nothing to repeat/],
  ['a|*b', /nothing to repeat/],
  ['(*a)', /nothing to repeat/],
  ['^*a', /nothing to repeat/],
  ['$*', /nothing to repeat/],
  ['{a', /must start an interval/],
  ['a{', /must start an interval/],
  ['a{x}', /must start an interval/],
  ['a{1', /must start an interval/],
  ['a{ 1}', /must start an interval/],
  ['a{2,1}', /maximum is below its minimum/],
  ['a{1001}', /above 1000/],
  ['[a', /unmatched '\['/],
  ['[]', /unmatched '\['/],
  ['[^]', /unmatched '\['/],
  ['[[:digit:]', /unmatched '\['/],
  ['[[:foo:]]', /unknown character class/],
  ['[z-a]', /invalid range/],
  ['[a-z-9]', /followed by '-'/],
  ['[[:alpha:]-z]', /cannot start a range/],
  ['[a-[:digit:]]', /single character/],
  ['(a', /unmatched '\('/],
  ['a\\', /ends with a backslash/],
  ['((a{100}){100}){100}', /too complex|above/],
  ['.{1,200}x.{1,200}', /too large for bounded matching/],
];

describe('lib/regex: POSIX ERE, translated to RE2 and matched in linear time', () => {
  it('every case matches as POSIX ERE says', () => {
    for (const [p, yes, no] of CASES) {
      const m = compiled(p);
      for (const s of yes)
        assert.equal(m.test(s), true, `${JSON.stringify(p)} must match ${JSON.stringify(s)}`);
      for (const s of no)
        assert.equal(m.test(s), false, `${JSON.stringify(p)} must not match ${JSON.stringify(s)}`);
    }
  });

  it('…and GNU grep -E (a real POSIX ERE engine) agrees on every case', function () {
    need(this, hasGrep() ? undefined : 'needs GNU grep');
    for (const [p, yes, no] of CASES) {
      const g = grepMatches(p, [...yes, ...no]);
      assert.ok(typeof g !== 'string', `${p}: ${g}`);
      const want = new Set(yes.map((_, i) => i));
      assert.deepEqual(
        [...g].sort(),
        [...want].sort(),
        `grep -E ${JSON.stringify(p)} on ${JSON.stringify([...yes, ...no])}`,
      );
    }
  });

  it('refuses what cannot be carried over, saying why and where', () => {
    for (const [p, why] of REFUSED) {
      const c = compileEre(p);
      assert.ok('error' in c, `${JSON.stringify(p)} must be refused`);
      assert.match(c.error, why, p);
      assert.ok(c.index >= 0 && c.index <= p.length, `${p}: index ${c.index}`);
    }
    assert.deepEqual(pick(compileEre('ab(c')), { index: 2 });
    assert.deepEqual(pick(compileEre('é[z-a]')), { index: 2 }, 'the index counts characters, not bytes');
  });

  it('warns where ERE reads a backslash differently from what was probably meant', () => {
    assert.match(compiled('\\d+').warnings.join(), /matches a plain 'd'.*\[\[:digit:\]\]/);
    assert.deepEqual(compiled('HTTP\\/1\\.1').warnings, []);
  });

  it('nothing from the pattern reaches RE2 as syntax it did not mean: (?i), \\pL, \\Q are ERE text', () => {
    const flags = compileEre('(?i)a');
    assert.ok(
      'error' in flags && /nothing to repeat/.test(flags.error),
      'RE2 flag groups are not ERE (regcomp refuses them too)',
    );
    const q = compileEre('\\Qa');
    assert.ok(!('error' in q) && q.test('Qa'));
    assert.match(translate('a b"#;\\{}').re2, /^a\\x\{20\}b\\x\{22\}\\x\{23\}\\x\{3b\}\\x\{7b\}\\x\{7d\}$/);
  });

  it('bytesText cuts at the window, and at the first NUL when asked (regexec saw a C string)', () => {
    const b = Buffer.from('HTTP\0/1.0 200', 'latin1');
    assert.equal(bytesText(b, 254), 'HTTP\0/1.0 200');
    assert.equal(bytesText(b, 254, true), 'HTTP');
    assert.equal(bytesText(b, 3), 'HTT');
  });

  it('program size is bounded (MAX_PROGRAM) for every pattern it accepts', () => {
    assert.ok(compiled('[[:alpha:]]{1,100}').programSize <= MAX_PROGRAM);
  });
});

function translate(p: string) {
  const t = translateEre(p);
  if ('error' in t) throw new Error(t.error);
  return t;
}
const pick = (c: ReturnType<typeof compileEre>) => ('error' in c ? { index: c.index } : { ok: true });

// Random ERE patterns from the pieces people write, and inputs from a small alphabet that makes them match.
const ALPHABET = ['a', 'b', ' ', '1', '\n', '-', ']', '.', 'x'];
const atom = fc.constantFrom(
  'a',
  'b',
  '.',
  ' ',
  '1',
  '[ab]',
  '[^a]',
  '[[:digit:]]',
  '[[:space:]]',
  '[]a-]',
  '\\.',
  '\\]',
  'x',
  '-',
);
const piece = fc
  .tuple(atom, fc.constantFrom('', '', '*', '+', '?', '{2}', '{1,3}', '{,2}', '**'))
  .map(([a, q]) => a + q);
const ere: fc.Arbitrary<string> = fc
  .letrec<{ re: string; branch: string; group: string }>((tie) => ({
    branch: fc
      .array(fc.oneof({ weight: 4, arbitrary: piece }, { weight: 1, arbitrary: tie('group') }), {
        maxLength: 4,
      })
      .map((xs) => xs.join('')),
    group: fc.tuple(tie('re'), fc.constantFrom('', '*', '+', '?', '{1,2}')).map(([r, q]) => `(${r})${q}`),
    re: fc
      .tuple(
        fc.constantFrom('', '', '^'),
        fc.array(tie('branch'), { minLength: 1, maxLength: 3 }),
        fc.constantFrom('', '', '$'),
      )
      .map(([h, bs, t]) => h + bs.join('|') + t),
  }))
  .re.filter((p) => p.length <= 80);
const input = fc.array(fc.constantFrom(...ALPHABET), { maxLength: 254 }).map((xs) => xs.join(''));

describe('lib/regex: fuzz (fast-check)', () => {
  it('random patterns and 254-byte inputs finish in bounded time', () => {
    let worst = 0;
    fc.assert(
      fc.property(ere, fc.array(input, { minLength: 1, maxLength: 4 }), (p, ins) => {
        const c = compileEre(p);
        if ('error' in c) return true;
        for (const s of ins) {
          const t0 = performance.now();
          c.test(s);
          worst = Math.max(worst, performance.now() - t0);
        }
        return true;
      }),
      { numRuns: 300, seed: 17 },
    );
    // linear time with a 256-instruction program on 254 bytes: milliseconds, even on a busy machine
    assert.ok(worst < 250, `worst match ${worst.toFixed(1)} ms`);
  });

  it('the evil reply of a real server: every pattern of the issue returns at once on 254 and 16 KiB', () => {
    for (const [p, s] of [
      ['^(.+)+QQQ', 'a'.repeat(254)],
      ['(a|aa)+$', `${'a'.repeat(16 * 1024)}b`],
      ['ok.*ready.*true', 'ok ready '.repeat(1800)],
      ['([[:alpha:]]+[[:digit:]]*)+Q$', `${'a1'.repeat(8 * 1024)}b`],
    ] as const) {
      const c = compiled(p);
      const t0 = performance.now();
      assert.equal(c.test(s), false);
      const ms = performance.now() - t0;
      assert.ok(ms < 250, `${p} on ${s.length} bytes took ${ms.toFixed(1)} ms`);
    }
  });

  it('random patterns agree with GNU grep -E on random inputs', function () {
    need(this, hasGrep() ? undefined : 'needs GNU grep');
    fc.assert(
      fc.property(ere, fc.array(input, { minLength: 1, maxLength: 6 }), (p, ins) => {
        const c = compileEre(p);
        if ('error' in c) return true; // refusals are covered by the table
        const g = grepMatches(p, ins);
        if (typeof g === 'string') throw new Error(`we accept ${JSON.stringify(p)}, grep does not: ${g}`);
        const ours = new Set(ins.flatMap((s, i) => (c.test(s) ? [i] : [])));
        assert.deepEqual([...ours].sort(), [...g].sort(), `${JSON.stringify(p)} on ${JSON.stringify(ins)}`);
      }),
      { numRuns: 150, seed: 21 },
    );
  });
});
