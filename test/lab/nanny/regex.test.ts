/**
 * Issue 17 item 2 on the lab (network namespaces; needs root): a real server answers the send/expect probe
 * with the reply that wedged the daemon — 254 bytes on which `^(.+)+QQQ` backtracks for ever in
 * JavaScript's RegExp, on the daemon's main thread — and the real daemon's control socket must keep
 * answering within 1 s while the probes run, and the server must be judged down (no match), not hang.
 *
 * Uses only what main already had (LabPair, the control socket), so it fails on main's code.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { isRoot } from '../../../lab/netns';
import { LabPair } from '../../../lab/pair';
import { request } from '../../../src/daemon/control';
import { need } from '../../helpers/need';
import { until } from '../../helpers/until';

const EVIL_SERVER = [
  "const net = require('node:net');",
  "net.createServer((s) => { s.on('error', () => {}); s.on('data', () => {}); s.end('a'.repeat(254)); })",
  "  .listen(80, () => console.log('listening'));",
].join('\n');

describe('lab: an evil reply cannot wedge the daemon (issue 17: linear-time regex)', function () {
  this.timeout(90_000);
  let pair: LabPair | undefined;
  const evil: ChildProcess[] = [];

  before(async function () {
    if (!isRoot()) need(this, 'needs root');
    pair = await LabPair.create({
      prefix: 'lre',
      start: false,
      // Piranha keys: the regex is matched against the first read of every probe, once a second
      virtualExtra: ['use_regex = 1', 'expect = "^(.+)+QQQ"', 'timeout = 1'],
    });
    for (const rs of pair.lvs.realServers) {
      await pair.stopServer(rs.ns);
      const child = pair.lab.spawn(rs.ns, process.execPath, ['-e', EVIL_SERVER]);
      evil.push(child);
      await once(child.stdout!, 'data');
    }
    await pair.startRouter('r1');
  });

  after(async function () {
    if (this.currentTest?.state === 'failed' && pair) console.log(pair.routers.r1.log.slice(-30).join('\n'));
    for (const c of evil) if (c.pid && c.exitCode === null) process.kill(-c.pid, 'SIGKILL');
    await pair?.destroy();
  });

  it('the control socket answers within 1 s while real servers send the evil reply', async () => {
    const r1 = pair!.routers.r1;
    // the probes have met the reply: the daemon logged a verdict of no match
    await until('a probe verdict of no match', () => r1.log.some((l) => /does not match/.test(l)), 20_000);
    const lat: number[] = [];
    const end = Date.now() + 5000;
    while (Date.now() < end) {
      const t0 = performance.now();
      const rep = await request(r1.runDir, 'status', undefined, 1000);
      lat.push(performance.now() - t0);
      assert.ok(rep.ok, `status failed: ${rep.ok ? '' : rep.error}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const worst = Math.max(...lat);
    const sorted = [...lat].sort((a, b) => a - b);
    console.log(
      `      control socket: ${lat.length} answers, median ${sorted[sorted.length >> 1]!.toFixed(1)} ms, worst ${worst.toFixed(1)} ms (${lat.map((x) => x.toFixed(0)).join(' ')})`,
    );
    assert.ok(worst < 1000, `worst answer ${worst.toFixed(0)} ms`);
    const st = (await request(r1.runDir, 'status', undefined, 1000)) as { ok: true; result: unknown };
    assert.match(JSON.stringify(st.result), /does not match/, 'the real servers are down: no match');
  });
});
