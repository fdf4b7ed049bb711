/**
 * The daemon's wiring with fake parts (./fakes.ts): the order of effects across heartbeat, takeover, LB
 * table, nanny pool and reply routing on start, role changes, faults, control commands, reloads and a
 * graceful stop. The rules are the daemon's own (src/daemon/daemon.ts header); e2e checks them for real.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config';
import { Daemon } from '../../../src/daemon/daemon';
import { fakeParts, Journal, settle } from './fakes';

/** A NAT pair with one virtual server of two real servers; `weight2` is rs2's weight. */
function yaml(o: { weight2?: number; extra?: string; metrics?: string } = {}): string {
  return `serial_no: 1
primary:
  address: 198.18.0.11
  private_address: 198.18.1.11
backup:
  address: 198.18.0.12
  private_address: 198.18.1.12
backup_active: true
heartbeat:
  auth: none
metrics:
  listen: '${o.metrics ?? ''}'
network: nat
nat_router:
  address: 198.18.1.1
  device: eth1
  prefix_length: 24
${o.extra ?? ''}
virtual_servers:
  - name: web
    vip:
      address: 198.18.0.10
      device: eth0
      prefix_length: 24
    port: 80
    real_servers:
      - name: rs1
        address: 198.18.1.21
      - name: rs2
        address: 198.18.1.22
        weight: ${o.weight2 ?? 1}
`;
}

describe('daemon wiring (fake parts)', () => {
  let dir: string;
  let file: string;
  let j: Journal;
  let f: ReturnType<typeof fakeParts>;
  let d: Daemon;

  /** A daemon on `text`, started (its parts are fakes; the control socket is in a temp dir). */
  async function started(text = yaml()): Promise<Daemon> {
    writeFileSync(file, text);
    d = new Daemon(
      { configPath: file, runDir: join(dir, 'run'), signals: false, parts: f.parts },
      loadConfig(file),
    );
    await d.start();
    return d;
  }
  const hb = () => f.made.hb!;
  const lb = () => f.made.lb!;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lp-daemon-'));
    file = join(dir, 'lvs.yaml');
    j = new Journal();
    f = fakeParts(j);
  });
  afterEach(async () => {
    j.releaseAll();
    await d?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('start: the LB table has the first verdicts before the heartbeat starts; nothing is claimed yet', async () => {
    await started(yaml({ weight2: 3 }));
    assert.deepEqual(j.entries, [
      'takeover.open',
      'lb.init',
      'nanny.start',
      'nanny.ready',
      'lb.setWeight:web/rs1=1',
      'lb.setWeight:web/rs2=3',
      'hb.start',
      'reply.install:198.18.1.12 198.18.1.21,198.18.1.22',
    ]);
    assert.equal(d.status().role, 'starting');
    assert.equal(f.notified.length, 0, 'no READY before the first role decision');
  });

  it('reply routing is removed, not installed, when the LB backend is not nftables', async () => {
    writeFileSync(file, yaml());
    d = new Daemon(
      {
        configPath: file,
        runDir: join(dir, 'run'),
        signals: false,
        parts: {
          ...f.parts,
          lbTable: (o) => {
            const t = f.parts.lbTable(o);
            const status = t.status.bind(t);
            t.status = () => ({ ...status(), backend: 'ipvsadm' });
            return t;
          },
        },
      },
      loadConfig(file),
    );
    await d.start();
    assert.equal(j.indexOf('reply.install'), -1);
    assert.ok(j.indexOf('reply.remove') > j.indexOf('hb.start'));
  });

  it('standby → active → standby: claim first (same tick), LB role after the claim; release before the LB role', async () => {
    await started();
    let mark = j.entries.length;
    hb().transition('starting', 'standby');
    // Not from active: the LB table learns the role at once; the first decision then clears stale VIPs.
    assert.deepEqual(j.since(mark), ['notify:STATUS', 'lb.onRole:standby', 'notify:READY']);
    await settle();
    assert.deepEqual(j.since(mark).slice(3), ['takeover.reconcile:standby', 'lb.reconcile']);
    assert.equal(d.status().role, 'standby');

    mark = j.entries.length;
    const claimDone = j.hold('takeover.claim');
    hb().transition('standby', 'active', 'peer-dead');
    // claim() is called inside the transition handler, before anything else of it.
    assert.deepEqual(j.since(mark), ['takeover.claim:peer-dead', 'notify:STATUS']);
    assert.equal(d.status().role, 'active');
    await settle();
    assert.equal(j.indexOf('lb.onRole:active'), -1, 'the LB role waits for the claim');
    claimDone();
    await settle();
    assert.deepEqual(j.since(mark).slice(2), ['lb.onRole:active']);

    mark = j.entries.length;
    const releaseDone = j.hold('takeover.release');
    hb().transition('active', 'standby', 'peer-preempts');
    await settle();
    assert.deepEqual(j.since(mark), ['notify:STATUS', 'takeover.release:peer-preempts']);
    releaseDone();
    await settle();
    assert.deepEqual(j.since(mark).slice(2), ['lb.onRole:standby']);
    assert.equal(f.notified.filter((n) => 'READY' in n).length, 1, 'READY once');
  });

  it('role steps never interleave: a release waits for the claim before it', async () => {
    await started();
    hb().transition('starting', 'standby');
    await settle();
    const mark = j.entries.length;
    const claimDone = j.hold('takeover.claim');
    hb().transition('standby', 'active');
    hb().transition('active', 'standby');
    await settle();
    assert.equal(j.since(mark).filter((e) => e.startsWith('takeover.release')).length, 0);
    claimDone();
    await settle();
    assert.deepEqual(
      j.since(mark).filter((e) => !e.startsWith('notify')),
      ['takeover.claim:test', 'lb.onRole:active', 'takeover.release:test', 'lb.onRole:standby'],
    );
  });

  it('fault: an LB fault (hard_shutdown) is a heartbeat fault; the move to fault releases the VIPs; takeover is refused', async () => {
    await started();
    hb().transition('starting', 'active');
    await settle();
    let mark = j.entries.length;
    lb().fault(true, 'nft -f failed');
    const [fault] = j.since(mark);
    assert.match(fault ?? '', /^hb\.setFault:\S+ on nft -f failed$/);
    hb().transition('active', 'fault', 'child-fault');
    await settle();
    assert.deepEqual(
      j.since(mark + 1).filter((e) => !e.startsWith('notify')),
      ['takeover.release:child-fault', 'lb.onRole:fault'],
    );
    await assert.rejects(d.handle({ cmd: 'takeover' }), /takeover refused: this router has a fault/);
    mark = j.entries.length;
    lb().fault(false, 'applied again');
    assert.match(j.since(mark)[0] ?? '', /^hb\.setFault:\S+ off applied again$/);
  });

  it('without hard_shutdown an LB fault is reported but does not touch the heartbeat', async () => {
    await started(yaml({ extra: 'hard_shutdown: false' }));
    const events: unknown[] = [];
    const unsubscribe = (d as unknown as { subscribe(s: (e: unknown) => void): () => void }).subscribe((e) =>
      events.push(e),
    );
    const mark = j.entries.length;
    lb().fault(true, 'nft -f failed');
    assert.deepEqual(j.since(mark), []);
    assert.deepEqual(
      events.map((e) => (e as { type: string; msg: string; on: boolean }).type),
      ['lb-fault'],
    );
    unsubscribe();
  });

  it('nanny verdicts go to the LB table; a reannounce goes to the takeover', async () => {
    await started();
    const mark = j.entries.length;
    f.made.nanny!.emit('weight', {
      vsName: 'web',
      rsName: 'rs2',
      weight: null,
      state: 'down',
      reason: 'connection refused',
    });
    hb().emit('reannounce', { reason: 'split brain' });
    assert.deepEqual(j.since(mark), ['lb.setWeight:web/rs2=null', 'takeover.reannounce']);
  });

  it('graceful stop: VIPs released only after the peer confirms, then reply routing, nannies, LB clear', async () => {
    await started();
    hb().transition('starting', 'active');
    await settle();
    const confirm = j.hold('hb.stop');
    const mark = j.entries.length;
    const stopping = d.stop();
    await settle();
    assert.deepEqual(j.since(mark), ['notify:STOPPING,STATUS', 'hb.stop:graceful']);
    assert.equal(j.since(mark).filter((e) => e.startsWith('takeover.release')).length, 0);
    // The peer confirms: the heartbeat leaves active (as the real one does), then stop() resolves.
    hb().transition('active', 'stopping', 'graceful-stop');
    confirm();
    await stopping;
    assert.deepEqual(
      j.since(mark).filter((e) => !e.startsWith('notify')),
      [
        'hb.stop:graceful',
        'takeover.release:graceful-stop',
        'lb.onRole:stopping',
        'reply.remove',
        'takeover.release:stopping',
        'nanny.stop',
        'lb.clear',
        'takeover.close',
      ],
    );
  });

  it('graceful stop with lb.on_stop = keep leaves the LB entries', async () => {
    await started(yaml({ extra: 'lb:\n  on_stop: keep' }));
    await d.stop();
    assert.equal(j.indexOf('lb.clear'), -1);
    assert.ok(j.indexOf('takeover.close') > j.indexOf('nanny.stop'));
  });

  it('reload, good: every part gets the new model, in order, then reply routing follows the new set', async () => {
    await started();
    hb().transition('starting', 'standby');
    await settle();
    const before = d.status().config.hash;
    writeFileSync(file, yaml({ weight2: 5 }));
    const mark = j.entries.length;
    const r = await d.reload();
    assert.equal(r.ok, true);
    const changes = r.changes as { realServers: { changed: unknown[] } };
    assert.deepEqual(changes.realServers.changed, [{ virtual: 'web', name: 'rs2', fields: ['weight'] }]);
    const hash = d.status().config.hash;
    assert.notEqual(hash, before);
    assert.deepEqual(j.since(mark), [
      'log.setLevel:info',
      'hb.reconfigure',
      `hb.setConfigHash:${hash}`,
      'takeover.reconfigure',
      'lb.reconfigure',
      'nanny.reconfigure',
      'reply.install:198.18.1.12 198.18.1.21,198.18.1.22',
    ]);
    for (const part of [hb(), f.made.takeover!, lb(), f.made.nanny!])
      assert.equal(part.model.virtualServers[0]!.realServers[1]!.weight, 5);
    const rs2 = d.status().virtual_servers[0]!.real_servers[1]!;
    assert.equal(rs2.configured_weight, 5);
  });

  it('reload, bad: errors with FILE:LINE:COL, nothing touched, the running configuration stays', async () => {
    await started();
    const model = d.model;
    const hash = d.status().config.hash;
    writeFileSync(file, yaml({ weight2: 5 }).replace('port: 80', 'port: 70000'));
    const mark = j.entries.length;
    const r = await d.reload();
    assert.equal(r.ok, false);
    assert.ok(r.errors!.length >= 1);
    for (const e of r.errors!) assert.match(e, new RegExp(`^${file.replace(/[.]/g, '\\.')}:\\d+:\\d+: `));
    assert.deepEqual(j.since(mark), [], 'no part was touched');
    assert.equal(d.model, model);
    assert.equal(d.status().config.hash, hash);
    assert.ok(f.records.records.some((x) => x.level === 'error' && /reload refused/.test(x.msg)));
  });

  it('control: takeover asks the heartbeat and answers once active; release needs a healthy standby peer', async () => {
    await started();
    hb().transition('starting', 'standby');
    await settle();
    const asked = d.handle({ cmd: 'takeover' });
    await settle();
    assert.ok(j.indexOf('hb.requestTakeover') >= 0);
    hb().transition('standby', 'active', 'operator');
    assert.deepEqual(await asked, { role: 'active', changed: true });
    assert.deepEqual(await d.handle({ cmd: 'takeover' }), { role: 'active', changed: false });

    hb().peerState = 'fault';
    await assert.rejects(d.handle({ cmd: 'release' }), /release refused: peer 198\.18\.0\.12 is fault/);
    assert.equal(j.indexOf('hb.requestRelease'), -1);
    hb().peerState = 'standby';
    const released = d.handle({ cmd: 'release' });
    await settle();
    assert.ok(j.indexOf('hb.requestRelease') >= 0);
    hb().transition('active', 'standby', 'operator-release');
    assert.deepEqual(await released, { role: 'standby', changed: true });
  });

  it('control: drain/enable go to the nanny pool; no match is an error', async () => {
    await started();
    assert.deepEqual(await d.handle({ cmd: 'drain', server: 'web/rs1' }), { matched: 1 });
    assert.deepEqual(await d.handle({ cmd: 'enable', server: 'web/rs1' }), { matched: 1 });
    await assert.rejects(d.handle({ cmd: 'drain', server: 'nope' }), /no real server matches "nope"/);
    assert.deepEqual(
      j.entries.filter((e) => e.startsWith('nanny.drain') || e.startsWith('nanny.enable')),
      ['nanny.drain:web/rs1', 'nanny.enable:web/rs1', 'nanny.drain:nope'],
    );
  });

  it('metrics: an empty metrics_listen turns the endpoint off without an error; a HOST:PORT serves it', async () => {
    await started();
    assert.ok(f.records.records.some((x) => x.level === 'info' && /metrics endpoint off/.test(x.msg)));
    assert.ok(!f.records.records.some((x) => x.level === 'error'), 'no error logged');
    await d.stop();
    f = fakeParts(j);
    await started(yaml({ metrics: `127.0.0.1:${20000 + Math.floor(Math.random() * 20000)}` }));
    assert.ok(!f.records.records.some((x) => /metrics endpoint/.test(x.msg)), 'served, nothing to say');
  });
});
