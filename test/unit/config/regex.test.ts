/**
 * Health-check regexes in the config (issue 17 item 2, issue 21 item 3): expect with use_regex and
 * http_body_regex are POSIX ERE, checked by the same module the probes match with (lib/regex.ts); a
 * pattern the linear engine cannot run is refused by --check-config at its line.
 */
import assert from 'node:assert/strict';
import { checkConfig, formatDiagnostic } from '../../../src/config/index.js';

const noHost = { fileExists: () => true, interfaceExists: () => true };
const cf = (lines: string[]) =>
  [
    'primary = 198.18.0.11',
    'network = direct',
    'virtual web {',
    '  address = 198.18.0.10',
    ...lines.map((l) => `  ${l}`),
    '  server a {',
    '    address = 198.18.1.21',
    '  }',
    '}',
    '',
  ].join('\n');
const diags = (file: string, text: string) =>
  checkConfig(file, { text, host: noHost }).diagnostics.map(formatDiagnostic);

describe('config: health-check regexes are POSIX ERE the probe can run', () => {
  it("Piranha's pattern with a POSIX class loads without a word", () => {
    assert.deepEqual(
      diags(
        'p.cf',
        cf([
          'send = "GET / HTTP/1.0\\r\\n\\r\\n"',
          'expect = "HTTP/1\\\\.[01] [[:digit:]]{3}"',
          'use_regex = 1',
        ]),
      ),
      [],
    );
  });

  it('refuses, at the line of the value, what the linear engine cannot run', () => {
    for (const [pattern, why] of [
      ['(a)\\\\1', /backreference/],
      ['[[.a.]]', /collating elements/],
      ['[[=e=]]', /equivalence classes/],
      ['*HTTP', /nothing to repeat/],
      ['a{1,2000}', /above 1000/],
      ['.{1,300}x', /too large for bounded matching/],
    ] as const) {
      const d = diags('r.cf', cf([`expect = "${pattern}"`, 'use_regex = 1']));
      assert.equal(d.length, 1, `${pattern}: ${d.join('\n')}`);
      assert.match(
        d[0]!,
        /^r\.cf:5:12: virtual server 'web': expect is not a POSIX extended regular expression the probe can run: at character \d+: /,
      );
      assert.match(d[0]!, why);
    }
  });

  it('the same text is no regex without use_regex (a prefix), so nothing is checked', () => {
    assert.deepEqual(diags('r.cf', cf(['expect = "(a)\\\\1"'])), []);
  });

  it('warns where ERE reads a backslash as a plain letter', () => {
    const d = diags('w.cf', cf(['expect = "\\\\d+ OK"', 'use_regex = 1']));
    assert.equal(d.length, 1);
    assert.match(
      d[0]!,
      /^w\.cf:5:12: warning: virtual server 'web': expect: '\\d' matches a plain 'd' in POSIX ERE/,
    );
  });

  it('YAML http body_regex: refused at its value', () => {
    const text = [
      'primary: { address: 198.18.0.11 }',
      'network: direct',
      'virtual_servers:',
      '  - name: web',
      '    vip: { address: 198.18.0.10 }',
      '    monitor: { kind: http, http: { body_regex: "^(ok|ready" } }',
      '    real_servers: [{ name: a, address: 198.18.1.21 }]',
      '',
    ].join('\n');
    const d = diags('h.yaml', text);
    assert.equal(d.length, 1, d.join('\n'));
    assert.match(
      d[0]!,
      /^h\.yaml:6:48: virtual server 'web': http_body_regex is not a POSIX extended regular expression the probe can run: at character 2: unmatched '\('/,
    );
  });
});
