/**
 * The reload guard of the heartbeat (issue 17 item 6): a reload may not weaken authentication. `auth none`
 * was refused already; turning `piranha_compat` on — which accepts Piranha's unauthenticated 4-byte
 * heartbeats — is refused the same way, so a file written from the web (or by anyone who can write it)
 * cannot open the heartbeat to forged packets without a restart by root.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePiranha } from '../../../src/heartbeat/codec.js';
import { Heartbeat, keygen } from '../../../src/heartbeat/index.js';
import { MemoryLog } from '../../../src/lib/log.js';
import { standaloneModel } from '../../lab/heartbeat/run-standalone.js';

describe('heartbeat reload guard: piranha_compat', function () {
  this.timeout(10_000);
  let dir: string;
  let hb: Heartbeat | undefined;
  const port = 20000 + Math.floor(Math.random() * 20000);
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lph-compat-'));
  });
  afterEach(async () => {
    await hb?.stop({ graceful: false });
    hb = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const model = (keyFile: string, piranhaCompat: boolean) => {
    const m = standaloneModel({
      node: 'primary',
      primary: { address: '127.0.0.1' },
      backup: { address: '127.0.0.2' },
      port,
      keepaliveMs: 20,
      deadtimeMs: 100,
      keyFile,
    });
    m.heartbeat.piranhaCompat = piranhaCompat;
    return m;
  };

  /** Sends one Piranha "running" heartbeat from the peer's address and returns the counters after it. */
  async function piranhaFromPeer(h: Heartbeat) {
    const before = h.status().counters;
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.2', () => r()));
    await new Promise<void>((r, j) =>
      sock.send(encodePiranha(true), port, '127.0.0.1', (e) => (e ? j(e) : r())),
    );
    sock.close();
    const end = Date.now() + 2000;
    while (h.status().counters.received === before.received && Date.now() < end)
      await new Promise((r) => setTimeout(r, 10));
    const after = h.status().counters;
    return {
      accepted: after.accepted - before.accepted,
      unauthenticated: after.unauthenticated - before.unauthenticated,
    };
  }

  it('a reload that turns piranha_compat on under HMAC is refused: 4-byte heartbeats stay rejected', async () => {
    const key = join(dir, 'k');
    keygen(key);
    const log = new MemoryLog();
    hb = new Heartbeat({ model: model(key, false), node: 'primary', log, configHash: '0123456789abcdef' });
    await hb.start();
    hb.reconfigure(model(key, true));
    assert.ok(
      log.records.some(
        (r) => r.level === 'warn' && /reload would accept unauthenticated Piranha heartbeats/.test(r.msg),
      ),
      'the refusal is logged',
    );
    const r = await piranhaFromPeer(hb);
    assert.deepEqual(r, { accepted: 0, unauthenticated: 0 }, 'a forged 4-byte heartbeat is not accepted');
  });

  it('piranha_compat set at start is honoured, and a reload may turn it off', async () => {
    const key = join(dir, 'k');
    keygen(key);
    const log = new MemoryLog();
    hb = new Heartbeat({ model: model(key, true), node: 'primary', log, configHash: '0123456789abcdef' });
    await hb.start();
    assert.deepEqual(await piranhaFromPeer(hb), { accepted: 1, unauthenticated: 1 });
    hb.reconfigure(model(key, false));
    assert.deepEqual(await piranhaFromPeer(hb), { accepted: 0, unauthenticated: 0 });
  });
});
