import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ControlServer, followEvents, request } from '../../../src/daemon/control';
import { LineSplitter, MAX_REQUEST_BYTES, parseRequest } from '../../../src/daemon/protocol';
import { MemoryLog } from '../../../src/lib/log';

describe('control protocol', () => {
  it('validates commands and arguments', () => {
    assert.deepEqual(parseRequest('{"cmd":"status"}'), { cmd: 'status' });
    assert.deepEqual(parseRequest('{"cmd":"drain","args":{"server":"web/rs1"}}'), {
      cmd: 'drain',
      server: 'web/rs1',
    });
    assert.match((parseRequest('{"cmd":"drain"}') as { error: string }).error, /needs args.server/);
    assert.match((parseRequest('{"cmd":"dran"}') as { error: string }).error, /unknown command "dran"/);
    assert.match((parseRequest('nope') as { error: string }).error, /not valid JSON/);
    assert.match((parseRequest('[1]') as { error: string }).error, /JSON object/);
    assert.match((parseRequest('{"cmd":"status","args":5}') as { error: string }).error, /args/);
  });
  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (s) => {
        const r = parseRequest(s);
        assert.ok('cmd' in r || 'error' in r);
      }),
      { numRuns: 5000 },
    );
  });
  it('flags an oversized line still being received', () => {
    const s = new LineSplitter(10);
    assert.deepEqual(s.push('{"a":1}\n{"b"'), ['{"a":1}']);
    assert.equal(s.push('x'.repeat(20)), 'overflow');
  });
});

describe('control socket', () => {
  let dir: string;
  let server: ControlServer;
  const subs = new Set<(e: unknown) => void>();
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lp-ctl-'));
    server = new ControlServer(
      dir,
      {
        async handle(cmd) {
          if (cmd.cmd === 'takeover') throw new Error('peer is active and healthy');
          return { echo: cmd };
        },
        subscribe(send) {
          subs.add(send);
          return () => subs.delete(send);
        },
      },
      new MemoryLog(),
    );
    await server.listen();
  });
  afterEach(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is a socket of mode 0600 and answers requests', async () => {
    assert.equal(statSync(server.path).mode & 0o777, 0o600);
    const r = await request(dir, 'drain', { server: 'rs1' });
    assert.deepEqual(r, { ok: true, result: { echo: { cmd: 'drain', server: 'rs1' } } });
  });
  it('turns a handler error into an error reply', async () => {
    assert.deepEqual(await request(dir, 'takeover'), { ok: false, error: 'peer is active and healthy' });
  });
  it('answers malformed and oversized requests with an error and keeps serving', async () => {
    const replies: string[] = [];
    await new Promise<void>((resolve) => {
      const s = connect(server.path, () => {
        s.write('garbage\n');
        s.write(`${'x'.repeat(MAX_REQUEST_BYTES + 10)}`);
      });
      s.setEncoding('utf8');
      s.on('data', (d: string) => replies.push(d));
      s.on('close', () => resolve());
    });
    const text = replies.join('');
    assert.match(text, /not valid JSON/);
    assert.match(text, /request too large/);
    assert.equal((await request(dir, 'ping')).ok, true);
  });
  it('streams events to followers', async () => {
    const got: unknown[] = [];
    const f = followEvents(dir, (e) => got.push(e));
    while (subs.size === 0) await new Promise((r) => setTimeout(r, 5));
    for (const s of subs) s({ type: 'transition', to: 'active' });
    while (got.length === 0) await new Promise((r) => setTimeout(r, 5));
    f.stop();
    await f;
    assert.deepEqual(got, [{ type: 'transition', to: 'active' }]);
  });
});
