/**
 * Hooks, send_program and load-monitor commands (issue 17, "hook and program argument splitting"): a
 * command line from the config is split on blanks into an argument array and run without a shell
 * (lib/run.ts); what is substituted into it later (%h, %p, the hook's state) stays one argument whatever
 * it holds, and shell syntax in the line is passed on as plain words.
 */
import assert from 'node:assert/strict';
import { programArgv } from '../../../src/nanny/probes/program';
import { runProgram } from '../../../src/lib/run';
import { splitCommand } from '../../../src/takeover/hooks';

describe('program argument splitting: no shell anywhere', () => {
  it('a hook line splits on blanks only; quotes, ;, $(), backticks and > are words, not syntax', () => {
    assert.deepEqual(splitCommand('/usr/bin/logger -t "a b" ;reboot $(id) `id` >/etc/x'), [
      '/usr/bin/logger',
      '-t',
      '"a',
      'b"',
      ';reboot',
      '$(id)',
      '`id`',
      '>/etc/x',
    ]);
  });

  it('%h and %p are substituted after the split: a hostile value stays one argument', () => {
    assert.deepEqual(programArgv('/bin/check %h:%p', 'a b;c\n$(id)', 80), ['/bin/check', 'a b;c\n$(id):80']);
  });

  it('the runner passes such words to the program as they are (no shell expands them)', async () => {
    const words = ['$(id)', '`id`', 'a;b', '"q"', '*', '~', '$HOME'];
    const r = await runProgram(process.execPath, [
      '-e',
      'process.stdout.write(JSON.stringify(process.argv.slice(1)))',
      ...words,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), words);
  });
});
