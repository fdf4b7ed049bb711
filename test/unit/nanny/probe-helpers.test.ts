import assert from 'node:assert/strict';
import fc from 'fast-check';
import { REGEX_WINDOW, replyMatcher, withDeadline } from '../../../src/nanny/probes/common';
import { parseReplyHead } from '../../../src/nanny/probes/http';
import { chopNewline, programArgv } from '../../../src/nanny/probes/program';

describe('nanny probe helpers', () => {
  describe('replyMatcher (Piranha send/expect rules)', () => {
    const b = (s: string) => Buffer.from(s, 'latin1');
    it('prefix match over the first read, byte-exact', () => {
      const m = replyMatcher('HTTP', false);
      assert.equal(m.check(b('HTTP/1.0 200 OK')), undefined);
      assert.match(m.check(b('HTT'))!, /does not start with/);
      assert.match(m.check(b('SMTP ready'))!, /does not start with "HTTP"/);
      assert.equal(replyMatcher('\r\n\x00', false).check(b('\r\n\x00rest')), undefined);
    });
    it('* matches anything, even nothing', () => {
      assert.equal(replyMatcher('*', false).check(b('')), undefined);
      assert.equal(replyMatcher('*', true).check(b('\xff')), undefined);
    });
    it('regex is unanchored, . matches newlines (POSIX), limited to the first 254 bytes', () => {
      const m = replyMatcher('200 OK.*lab', true);
      assert.equal(m.check(b('HTTP/1.0 200 OK\r\nServer: lab')), undefined);
      const far = replyMatcher('NEEDLE', true);
      assert.equal(far.check(b(`${'x'.repeat(REGEX_WINDOW - 6)}NEEDLE`)), undefined);
      assert.match(far.check(b(`${'x'.repeat(REGEX_WINDOW - 5)}NEEDLE`))!, /does not match/);
    });
    it('a bad regex throws at build time', () => {
      assert.throws(() => replyMatcher('(', true));
    });
    it('POSIX ERE (issue 21): [[:digit:]] is a digit class, not a set of brackets and letters', () => {
      const m = replyMatcher('HTTP/1\\.[01] [[:digit:]]{3}', true);
      assert.equal(m.check(b('HTTP/1.0 200 OK')), undefined);
      assert.match(m.check(b('HTTP/1.0 :]]]'))!, /does not match/);
    });
    it('the evil replies of issue 17 are judged at once (linear time), not in seconds', () => {
      for (const [re, reply] of [
        ['^(.+)+QQQ', 'a'.repeat(254)],
        ['(x+x+)+y', 'x'.repeat(254)],
        ['ok.*ready.*true', 'ok ready '.repeat(28)],
      ] as const) {
        const m = replyMatcher(re, true);
        const t0 = performance.now();
        assert.match(m.check(b(reply))!, /does not match/);
        assert.ok(performance.now() - t0 < 100, `${re}: ${(performance.now() - t0).toFixed(1)} ms`);
      }
    });
    it('the regex sees the reply up to its first NUL, as regexec saw Piranha’s buffer', () => {
      assert.match(replyMatcher('OK', true).check(b('HTTP\x00 200 OK'))!, /does not match/);
      assert.equal(replyMatcher('^HTTP$', true).check(b('HTTP\x00rest')), undefined);
    });
  });

  describe('parseReplyHead', () => {
    it('reads status and headers', () => {
      const h = parseReplyHead(
        Buffer.from('HTTP/1.1 503 Busy\r\nX-Weight: 7\r\nContent-Length: 2\r\n\r\nno'),
      );
      assert.ok(h && typeof h === 'object');
      assert.equal(h.status, 503);
      assert.equal(h.headers.get('x-weight'), '7');
      assert.equal(h.bodyStart, 53);
    });
    it('waits for more, rejects non-HTTP early', () => {
      assert.equal(parseReplyHead(Buffer.from('HTTP/1.0 20')), undefined);
      assert.match(String(parseReplyHead(Buffer.from('SSH-2.0-OpenSSH\r\n'))), /not an HTTP reply/);
      assert.match(String(parseReplyHead(Buffer.from('HTTP/1.0 abc\r\n\r\n'))), /not an HTTP reply/);
    });
    it('never throws on arbitrary bytes', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), (a) => {
          const r = parseReplyHead(Buffer.from(a));
          assert.ok(r === undefined || typeof r === 'string' || typeof r.status === 'number');
        }),
      );
    });
  });

  describe('send_program', () => {
    it('splits on whitespace and substitutes %h %p in every argument, no shell', () => {
      assert.deepEqual(
        programArgv('  /usr/bin/check  -H %h\t-p %p --url=http://%h:%p/ ', '198.18.1.21', 80),
        ['/usr/bin/check', '-H', '198.18.1.21', '-p', '80', '--url=http://198.18.1.21:80/'],
      );
      assert.deepEqual(programArgv('/bin/echo $(id);rm', '::1', 1), ['/bin/echo', '$(id);rm']);
    });
    it('chops one trailing newline only', () => {
      assert.equal(chopNewline('OK\n'), 'OK');
      assert.equal(chopNewline('OK\r\n'), 'OK');
      assert.equal(chopNewline('OK\n\n'), 'OK\n');
      assert.equal(chopNewline('OK'), 'OK');
    });
  });

  describe('withDeadline', () => {
    it('times out, runs cleanup once, and turns a throwing body into a failure', async () => {
      let cleaned = 0;
      const r = await withDeadline(20, () => () => cleaned++);
      assert.equal(r.ok, false);
      assert.equal(r.detail, 'timeout after 20 ms');
      assert.equal(cleaned, 1);
      const t = await withDeadline(1000, () => {
        throw Object.assign(new Error('x'), { code: 'ECONNREFUSED' });
      });
      assert.deepEqual([t.ok, t.detail], [false, 'connection refused']);
      const w = await withDeadline(1000, (finish) => {
        finish(true, 'fine', 4);
        finish(false, 'late');
        return () => cleaned++;
      });
      assert.deepEqual([w.ok, w.detail, w.weight], [true, 'fine', 4]);
      assert.equal(cleaned, 2);
    });
  });
});
