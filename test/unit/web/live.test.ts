import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { startWeb, type WebServer } from '../../../src/web/server';
import { cookieHeader, type Env, login, makeEnv } from './fixture';

/** Reads SSE messages from a response until `until` returns true. */
function readEvents(
  res: IncomingMessage,
  until: (evs: { event: string; data: unknown }[]) => boolean,
  timeoutMs = 5000,
) {
  return new Promise<{ event: string; data: unknown }[]>((resolve, reject) => {
    const evs: { event: string; data: unknown }[] = [];
    let buf = '';
    const t = setTimeout(
      () => reject(new Error(`timeout; got ${JSON.stringify(evs).slice(0, 500)}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const ev = /^event: (.+)$/m.exec(block)?.[1];
        const data = /^data: (.+)$/m.exec(block)?.[1];
        if (ev && data) evs.push({ event: ev, data: JSON.parse(data) });
      }
      if (until(evs)) {
        clearTimeout(t);
        res.off('data', onData);
        resolve(evs);
      }
    };
    res.on('data', onData);
  });
}

describe('web console: live updates (SSE)', () => {
  let env: Env;
  let server: WebServer;
  beforeEach(async () => {
    env = await makeEnv();
    await env.web.close();
    server = await startWeb({
      runDir: env.runDir,
      passwordFile: env.passwordFile,
      log: env.log,
      now: () => env.clock.t,
      port: 0,
      statusIntervalMs: 200,
    });
  });
  afterEach(async () => {
    await server.close();
    await env.cleanup();
  });

  it('listens on loopback by default', () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('streams the status, then a failover as it happens', async () => {
    const c = await login(server);
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(`${server.url}/events`, { headers: { cookie: cookieHeader(c.jar) } }, resolve);
      req.on('error', reject);
      req.end();
    });
    try {
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /text\/event-stream/);
      const first = await readEvents(res, (e) => e.some((x) => x.event === 'status'));
      assert.equal((first.find((x) => x.event === 'status')!.data as { role: string }).role, 'active');
      // Wait until the hub follows the daemon's events, then fail over.
      for (let i = 0; i < 50 && env.daemon.followers === 0; i++) await new Promise((r) => setTimeout(r, 20));
      const t0 = Date.now();
      env.daemon.failover('standby', 'peer took over (operator release on 198.18.0.12)');
      const later = await readEvents(res, (e) =>
        e.some((x) => x.event === 'status' && (x.data as { role: string }).role === 'standby'),
      );
      const ms = Date.now() - t0;
      const ev = later.find((x) => x.event === 'daemon')!.data as { type: string; to: string };
      assert.equal(ev.type, 'transition');
      assert.equal(ev.to, 'standby');
      assert.ok(ms < 1000, `status followed the event after ${ms} ms`);
    } finally {
      res.destroy();
    }
  });

  it('refuses the stream without a session', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${server.url}/events`, (r) => {
        r.resume();
        resolve(r.statusCode!);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 401);
  });
});
