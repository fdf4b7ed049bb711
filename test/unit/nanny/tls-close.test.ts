/**
 * HTTPS probe connections on the loopback (no lab, no root): each probe's connection is closed once the
 * verdict is in (a TLS socket cannot be reset; destroying it must still happen), and with keep-alive one
 * connection serves every probe until dispose() closes it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { httpProbe } from '../../../src/nanny/probes/http';
import { selfSignedCert } from '../../lab/nanny/util';

describe('nanny HTTPS probe connections (loopback)', function () {
  this.timeout(20000);
  let server: Server;
  let port = 0;
  let dir = '';
  const open = new Set<TLSSocket>();
  let conns = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lpn6-tls-'));
    const pem = selfSignedCert(dir, 'rs.lab');
    server = createServer({ key: readFileSync(pem.key), cert: readFileSync(pem.cert) }, (c) => {
      conns++;
      open.add(c);
      c.on('close', () => open.delete(c));
      c.on('error', () => {});
      c.on('data', (d: Buffer) => {
        const keep = d.includes('keep-alive');
        const head = `HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: ${keep ? 'keep-alive' : 'close'}\r\n\r\n`;
        c.write(`${head}ok`); // never closes by itself: only the prober can end the connection
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
  });
  after(() => {
    for (const c of open) c.destroy();
    server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const settle = () => new Promise((r) => setTimeout(r, 200));
  const probe = (keepAlive: boolean) =>
    httpProbe(
      { address: '127.0.0.1', port, timeoutMs: 2000 },
      { tls: true, path: '/', status: [], insecure: true, keepAlive },
    );

  it('without keep-alive every probe closes its connection', async () => {
    conns = 0;
    const p = probe(false);
    for (let i = 0; i < 3; i++) assert.equal((await p()).ok, true);
    await settle();
    assert.equal(conns, 3);
    assert.equal(open.size, 0, 'no connection left open');
  });

  it('with keep-alive one connection serves every probe until dispose()', async () => {
    conns = 0;
    const p = probe(true);
    for (let i = 0; i < 3; i++) assert.equal((await p()).ok, true);
    await settle();
    assert.equal(conns, 1);
    assert.equal(open.size, 1);
    p.dispose?.();
    await settle();
    assert.equal(open.size, 0);
  });
});
