/**
 * The daemon's connection-sync wiring (fake parts): conntrackd's commit before the VIP claim, the sync's
 * role after it, its hold forwarded to the heartbeat, planned switchovers refused while a resync is pending
 * on either side, a sync fault shown but never a heartbeat fault, and the status document's `sync`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config';
import { Daemon } from '../../../src/daemon/daemon';
import { formatStatus } from '../../../src/daemon/status';
import { fakeParts, Journal, settle } from './fakes';

const YAML = `primary: { address: 198.18.0.11, private_address: 198.18.1.11 }
backup: { address: 198.18.0.12, private_address: 198.18.1.12 }
network: nat
nat_router: { address: 198.18.1.1, device: eth1, prefix_length: 24 }
sync_daemon: { enabled: true }
heartbeat: { auth: none }
virtual_servers:
  - name: web
    vip: { address: 198.18.0.10, device: eth0, prefix_length: 24 }
    port: 80
    real_servers: [{ name: rs1, address: 198.18.1.21 }]
`;

describe('daemon: connection sync wiring (fake parts)', () => {
  let dir: string;
  let j: Journal;
  let f: ReturnType<typeof fakeParts>;
  let d: Daemon | undefined;

  async function started(extra = ''): Promise<Daemon> {
    const file = join(dir, 'lvs.yaml');
    writeFileSync(file, YAML + extra);
    d = new Daemon(
      { configPath: file, runDir: join(dir, 'run'), signals: false, parts: f.parts },
      loadConfig(file),
    );
    await d.start();
    return d;
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lp-dsync-'));
    j = new Journal();
    f = fakeParts(j, { syncJournal: true });
  });
  afterEach(async () => {
    j.releaseAll();
    await d?.stop();
    d = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts before the heartbeat; with conntrackd the commit comes before the claim, the sync role after it', async () => {
    await started();
    assert.ok(j.indexOf('sync.start') >= 0 && j.indexOf('sync.start') < j.indexOf('hb.start'));
    f.made.sync!.commitFirst = true;
    const commitDone = j.hold('sync.commit');
    const mark = j.entries.length;
    f.made.hb!.transition('standby', 'active', 'peer-dead');
    await settle();
    assert.deepEqual(
      j.since(mark).filter((e) => !e.startsWith('notify')),
      ['sync.commit'],
      'nothing is claimed while the commit runs',
    );
    commitDone();
    await settle();
    const after = j.since(mark).filter((e) => !e.startsWith('notify'));
    assert.deepEqual(after.slice(0, 4), [
      'sync.commit',
      'takeover.claim:peer-dead',
      'lb.onRole:active',
      'sync.onRole:active',
    ]);
  });

  it('without a commit to wait for, the claim stays in the transition’s own tick', async () => {
    await started();
    const mark = j.entries.length;
    f.made.hb!.transition('standby', 'active', 'peer-dead');
    assert.equal(j.since(mark)[0], 'takeover.claim:peer-dead');
    await settle();
    assert.ok(j.since(mark).includes('sync.onRole:active'));
  });

  it('hold: forwarded to the heartbeat; takeover refused while held and the peer is active', async () => {
    await started();
    const s = f.made.sync!;
    s.holdDetail = 'connection resync pending';
    s.emit('hold', { on: true, detail: s.holdDetail });
    assert.deepEqual(f.made.hb!.holds, ['on connection resync pending']);
    f.made.hb!.transition('starting', 'standby');
    f.made.hb!.peerState = 'active';
    await settle();
    await assert.rejects(
      d!.handle({ cmd: 'takeover' }),
      /takeover refused: connection resync pending \(at most 5000 ms/,
    );
    assert.equal(j.indexOf('hb.requestTakeover'), -1);
    s.holdDetail = undefined;
    s.emit('hold', { on: false, detail: 'connection resync pending' });
    assert.deepEqual(f.made.hb!.holds.at(-1), 'off connection resync pending');
  });

  it('release refused while the peer resyncs its connections', async () => {
    await started();
    f.made.hb!.transition('standby', 'active', 'peer-dead');
    await settle();
    f.made.hb!.peerResyncing = true;
    await assert.rejects(
      d!.handle({ cmd: 'release' }),
      /release refused: peer 198\.18\.0\.12 is resyncing its connections/,
    );
    assert.equal(j.indexOf('hb.requestRelease'), -1);
  });

  it('a sync fault is published and shown, never a heartbeat fault', async () => {
    await started();
    f.made.sync!.emit('fault', { on: true, detail: 'conntrackd exited with status 1' });
    assert.equal(j.entries.filter((e) => e.startsWith('hb.setFault')).length, 0);
    const st = d!.status();
    assert.equal(st.sync?.mechanism, 'conntrackd');
    assert.deepEqual(st.sync?.resync, { state: 'done', ms: 12, entries: 3 });
    assert.match(formatStatus(st), /^Sync: conntrackd running as backup; resync done in 12 ms$/m);
  });

  it('graceful stop stops the sync after the VIPs are released (kernel daemons kept with lb on_stop keep)', async () => {
    await started();
    await d!.stop();
    const rel = j.entries.lastIndexOf('takeover.release:stopping');
    const stop = j.indexOf('sync.stop');
    assert.ok(rel >= 0 && stop > rel, JSON.stringify(j.entries.slice(-8)));
    assert.equal(j.entries[stop], 'sync.stop:clear', 'lb on_stop clear (the default) stops them');
    j.entries.length = 0;
    await started('lb: { on_stop: keep }\n');
    await d!.stop();
    assert.equal(j.entries[j.indexOf('sync.stop')], 'sync.stop:keep');
    d = undefined;
  });
});
