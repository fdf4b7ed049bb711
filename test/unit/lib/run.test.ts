import assert from 'node:assert/strict';
import { describeOutcome, runProgram } from '../../../src/lib/run';

describe('lib/run: the one process runner', function () {
  this.timeout(10_000);

  it('runs with an argument array, never a shell', async () => {
    const r = await runProgram('/bin/echo', ['$(id);rm -rf x', '*']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '$(id);rm -rf x *\n');
    assert.equal(r.signal, null);
    assert.equal(r.timedOut || r.aborted || r.overflow, false);
    assert.equal(r.startError, undefined);
  });

  it('reports a non-zero exit with its stderr', async () => {
    const r = await runProgram('/bin/sh', ['-c', 'echo oops >&2; exit 3']);
    assert.equal(r.code, 3);
    assert.equal(r.stderr, 'oops\n');
    assert.equal(describeOutcome(r), 'oops');
  });

  it('a program that cannot start is an outcome, not a throw', async () => {
    const r = await runProgram('/nonexistent/prog', ['x']);
    assert.equal(r.code, null);
    assert.equal(r.startError?.code, 'ENOENT');
    assert.match(describeOutcome(r), /ENOENT/);
    const nul = await runProgram('/bin/echo', ['a\0b']);
    assert.equal(nul.code, null);
    assert.equal(nul.startError?.code, 'ERR_INVALID_ARG_VALUE');
  });

  it('kills at the timeout with the kill signal, even when a grandchild holds the pipes', async () => {
    const t0 = Date.now();
    const r = await runProgram('/bin/sh', ['-c', 'sleep 5 & sleep 5'], {
      timeoutMs: 100,
      killSignal: 'SIGKILL',
    });
    assert.equal(r.timedOut, true);
    assert.equal(r.signal, 'SIGKILL');
    assert.equal(r.code, null);
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
    assert.equal(describeOutcome(r, 100), 'timed out after 100 ms');
  });

  it('caps the output: more than maxOutputBytes kills the program', async () => {
    const r = await runProgram('/bin/sh', ['-c', 'head -c 1000000 /dev/zero; sleep 5'], {
      maxOutputBytes: 1000,
    });
    assert.equal(r.overflow, true);
    assert.equal(r.stdout.length, 1000);
    assert.equal(r.signal, 'SIGTERM');
  });

  it('feeds stdin when given, else stdin is at end of file', async () => {
    assert.equal((await runProgram('/bin/cat', [], { input: 'line 1\nline 2' })).stdout, 'line 1\nline 2');
    const none = await runProgram('/bin/cat', [], { timeoutMs: 2000 });
    assert.equal(none.code, 0);
    assert.equal(none.timedOut, false);
    // A program that exits without reading a large input: the broken pipe is not an error.
    const big = await runProgram('/bin/true', [], { input: Buffer.alloc(4 << 20) });
    assert.equal(big.code, 0);
  });

  it('an abort kills the program; an aborted signal never starts it', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const r = await runProgram('/bin/sleep', ['5'], { signal: ac.signal, killSignal: 'SIGKILL' });
    assert.equal(r.aborted, true);
    assert.equal(r.signal, 'SIGKILL');
    const pre = await runProgram('/bin/sleep', ['5'], { signal: ac.signal });
    assert.equal(pre.aborted, true);
    assert.equal(pre.code, null);
    assert.ok(pre.startError);
  });
});
