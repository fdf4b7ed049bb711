import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createLogger, parseLogLevel, renderFields } from '../../../src/daemon/logging';
import { formatSyslogLine } from '../../../src/daemon/syslog';
import { datagramListener } from '../../helpers/datagram-listener';

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString() };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('daemon logging', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lp-log-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('formats syslog lines with facility daemon and ident pulse', () => {
    const line = formatSyslogLine('warn', 'x', 'pulse', 42, new Date(2026, 10, 5, 7, 8, 9));
    assert.equal(line, '<28>Nov  5 07:08:09 pulse[42]: x');
    assert.ok(formatSyslogLine('error', 'x', 'pulse', 1, new Date()).startsWith('<27>'));
  });

  it('renders key=value fields, quoting values with spaces', () => {
    assert.equal(
      renderFields({ op: 'claim', reason: 'peer silent', n: 3 }),
      'op=claim reason="peer silent" n=3',
    );
  });

  it('keeps logging to stderr and does not crash when the syslog socket is absent', async () => {
    const s = sink();
    const log = createLogger({ level: 'info', syslogPath: join(dir, 'nolog'), stderr: s.stream });
    for (let i = 0; i < 5; i++) log.info('transition', { to: 'active', i });
    await flush();
    assert.match(s.text(), /transition to=active i=4/);
    assert.match(s.text(), /unavailable .*errno 2/);
    assert.ok(log.syslog!.lost >= 1);
    assert.equal(log.syslog!.sent, 0);
    log.close();
  });

  it('delivers to a real unix datagram syslog socket, and reconnects when it appears later', async function () {
    this.timeout(10000);
    const path = join(dir, 'log');
    const s = sink();
    const log = createLogger({ level: 'debug', syslogPath: path, stderr: s.stream });
    (log.syslog as unknown as { retryMs: number }).retryMs = 0;
    log.info('before', { a: 1 });
    await flush();
    assert.equal(log.syslog!.sent, 0);
    const listener = datagramListener(path, { count: 2 });
    await listener.ready;
    log.child({ component: 'heartbeat' }).warn('peer silent', { ms: 112 });
    log.debug('dbg');
    await listener.exited;
    const got = listener.lines.join('\n');
    assert.match(got, /<28>\w{3} [ \d]\d \d\d:\d\d:\d\d pulse\[\d+\]: heartbeat: peer silent ms=112/);
    assert.match(got, /<31>.*dbg/);
    assert.match(s.text(), /is back/);
    log.close();
  });

  it('maps Piranha debug_level and --log-level', () => {
    assert.equal(parseLogLevel('NONE'), 'info');
    assert.equal(parseLogLevel('debug'), 'debug');
    assert.equal(parseLogLevel('2'), 'debug');
    assert.equal(parseLogLevel('loud'), undefined);
  });

  it('survives syslog removal mid-run in a separate process (no crash, exit 0)', () => {
    const script = `
      const { createLogger } = require('./src/daemon/logging');
      const log = createLogger({ level: 'info', syslogPath: '${join(dir, 'gone')}' });
      for (let i = 0; i < 100; i++) log.info('tick', { i });
      setTimeout(() => { log.info('done'); }, 50);`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    void out;
  });
});
