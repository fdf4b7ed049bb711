import assert from 'node:assert/strict';
import type { LvsModel } from '../../../src/config/model';
import { LAB_NET, type LvsLab, buildLvsLab } from '../../../lab/topology';
import { applyRealServerPlan, realServerPlan } from '../../../src/cli/realserver';
import { model, virtualServer } from '../../unit/takeover/support';
import { Agent } from './agent-client';
import { need } from '../../helpers/need';

const VIP = LAB_NET.vip;

/** Model for the lab: the public VIP on eth0 as eth0:1, request-form ARP, a short first burst. */
function labModel(over: Partial<LvsModel> = {}): LvsModel {
  return model({
    primary: { address: LAB_NET.routers.r1.public, priority: 200 },
    backup: { address: LAB_NET.routers.r2.public, priority: 100 },
    announce: { count: 3, intervalMs: 100, repeatDelayMs: 0, repeatCount: 0, refreshMs: 0, form: 'request' },
    virtualServers: [
      virtualServer('web', VIP, { vip: { address: VIP, device: 'eth0', label: 'eth0:1', prefixLength: 24 } }),
    ],
    ...over,
  });
}

describe('lab: takeover (gratuitous ARP, release, reconcile)', function () {
  this.timeout(60_000);
  let L: LvsLab;
  const agents: Agent[] = [];
  const start = async (ns: string, m = labModel()): Promise<Agent> => {
    const a = await Agent.start(L.lab, ns, m);
    agents.push(a);
    await a.call('open');
    return a;
  };
  const mac = async (ns: string): Promise<string> =>
    (await L.lab.exec(ns, 'cat', ['/sys/class/net/eth0/address'])).stdout.trim();
  const neigh = async (ns: string, addr: string): Promise<string> =>
    (await L.lab.exec(ns, 'ip', ['neigh', 'show', addr, 'dev', 'eth0'])).stdout.trim();
  const vipEntries = async (ns: string, addr = VIP): Promise<string[]> => {
    const data = JSON.parse((await L.lab.exec(ns, 'ip', ['-json', 'addr', 'show'])).stdout) as {
      ifname: string;
      addr_info: { local: string; prefixlen: number; label?: string }[];
    }[];
    return data.flatMap((i) =>
      i.addr_info
        .filter((a) => a.local === addr)
        .map((a) => `${i.ifname} ${a.local}/${a.prefixlen} ${a.label ?? ''}`.trim()),
    );
  };
  /**
   * The MAC `addr` resolves to in `ns`'s neighbour table after one ping (which primes it), read with
   * `ip -json neigh`; undefined without a complete entry (no answer: INCOMPLETE/FAILED, no lladdr).
   */
  const neighbourMac = async (ns: string, addr: string): Promise<string | undefined> => {
    await L.lab.exec(ns, 'ping', ['-c', '1', '-W', '1', addr]).catch(() => undefined);
    const entries = JSON.parse(
      (await L.lab.exec(ns, 'ip', ['-json', 'neigh', 'show', addr, 'dev', 'eth0'])).stdout || '[]',
    ) as { dst: string; lladdr?: string; state?: string[] }[];
    const e = entries.find((x) => x.dst === addr && x.lladdr && !x.state?.includes('FAILED'));
    return e?.lladdr?.toLowerCase();
  };
  /** Asks for VIP's MAC the way any host does (ARP request), and reports the neighbour entry. */
  const resolveFromClient = async (): Promise<string> => {
    await L.lab.exec('client', 'ip', ['neigh', 'flush', 'to', VIP, 'dev', 'eth0']);
    await L.lab.exec('client', 'ping', ['-c', '1', '-W', '1', VIP]).catch(() => undefined);
    return neigh('client', VIP);
  };

  before(async function () {
    if (process.getuid?.() !== 0) {
      need(this, 'needs root');
    }
    L = await buildLvsLab({ prefix: 'lpt', realServers: 0 });
  });
  afterEach(async () => {
    for (const a of agents.splice(0)) await a.kill9().catch(() => undefined);
    for (const r of ['r1', 'r2']) {
      await L.lab.exec(r, 'ip', ['addr', 'flush', 'dev', 'eth0', 'to', `${VIP}/32`]).catch(() => undefined);
    }
  });
  after(async () => {
    await L?.destroy();
  });

  for (const form of ['request', 'reply'] as const) {
    it(`client's neighbour cache moves to the new router's MAC right after takeover, with no traffic from the client (${form} form)`, async () => {
      // Within 1 s of the client's last update (its locktime): a reply with a broadcast target MAC would be
      // ignored here; the request form and the RFC 2002 reply (target MAC = sender MAC) are taken at once.
      const m = labModel({
        announce: { count: 3, intervalMs: 100, repeatDelayMs: 0, repeatCount: 0, refreshMs: 0, form },
      });
      const [mac1, mac2] = [await mac('r1'), await mac('r2')];
      const r1 = await start('r1', m);
      const r2 = await start('r2', m);
      await r1.call('claim', { reason: 'initial' });
      // Seed the client's cache with r1's MAC (a normal exchange while r1 holds the VIP).
      await L.lab.exec('client', 'ping', ['-c', '1', '-W', '1', VIP]);
      assert.match(await neigh('client', VIP), new RegExp(`lladdr ${mac1}`));
      // r1 dies without a word (kill -9; its address stays but it can no longer be reached: cut the link).
      await r1.kill9();
      await L.lab.exec('sw', 'ip', ['link', 'set', L.lab.switchPort('r1', 'eth0'), 'down']);
      await r2.call('claim', { reason: 'peer dead' });
      // No packet from the client since: read the cache at once.
      const entry = await neigh('client', VIP);
      assert.match(entry, new RegExp(`lladdr ${mac2}`), `client entry: ${entry}`);
      await L.lab.exec('client', 'ping', ['-c', '1', '-W', '1', VIP]); // and the VIP answers from r2
      await L.lab.exec('sw', 'ip', ['link', 'set', L.lab.switchPort('r1', 'eth0'), 'up']);
    });
  }

  it('after release the old router no longer answers ARP for the VIP; the new holder does', async () => {
    const [mac1, mac2] = [await mac('r1'), await mac('r2')];
    const r1 = await start('r1');
    const r2 = await start('r2');
    await r1.call('claim', { reason: 'initial' });
    assert.match(await resolveFromClient(), new RegExp(`lladdr ${mac1}`));
    await r1.call('release', { reason: 'handover' });
    assert.deepEqual(await vipEntries('r1'), []);
    const nobody = await resolveFromClient();
    assert.doesNotMatch(nobody, /lladdr/, `nobody should answer for ${VIP}: ${nobody}`);
    await r2.call('claim', { reason: 'handover' });
    assert.match(await resolveFromClient(), new RegExp(`lladdr ${mac2}`));
  });

  it('a router whose daemon died holding the VIP gives it up when it comes back and reconciles as standby', async () => {
    const r1 = await start('r1');
    await r1.call('claim', { reason: 'initial' });
    assert.deepEqual(await vipEntries('r1'), [`eth0 ${VIP}/24 eth0:1`]);
    await r1.kill9();
    assert.deepEqual(await vipEntries('r1'), [`eth0 ${VIP}/24 eth0:1`], 'kill -9 leaves the VIP behind');
    const again = await start('r1');
    const status = await again.call<{ vips: { present: boolean }[] }>('status');
    assert.equal(status.vips[0]?.present, true);
    const r = await again.call<{ added: string[]; removed: string[] }>('reconcile', { active: false });
    assert.deepEqual(r, { added: [], removed: [VIP] });
    assert.deepEqual(await vipEntries('r1'), []);
    assert.ok(again.stderr.some((l) => /held while standby/.test(l)));
  });

  it('claim twice = one address and no address churn (ip monitor sees nothing the second time)', async () => {
    const r1 = await start('r1');
    await r1.call('claim', { reason: 'first' });
    const monitor = L.lab.spawn('r1', 'ip', ['monitor', 'address']);
    let seen = '';
    monitor.stdout!.on('data', (d: Buffer) => {
      seen += d.toString();
    });
    await new Promise((r) => setTimeout(r, 200));
    await r1.call('claim', { reason: 'again' });
    await r1.call('reconcile', { active: true });
    await new Promise((r) => setTimeout(r, 300));
    monitor.kill('SIGKILL');
    assert.equal(seen.trim(), '', `address events on the second claim: ${seen}`);
    assert.deepEqual(await vipEntries('r1'), [`eth0 ${VIP}/24 eth0:1`]);
  });

  it('IPv6: unsolicited NA with override moves the client to the new router; the VIP is added with nodad', async () => {
    const V6 = '2001:db8:18::10';
    for (const [ns, a] of [
      ['client', '2001:db8:18::100'],
      ['r1', '2001:db8:18::11'],
      ['r2', '2001:db8:18::12'],
    ] as const) {
      await L.lab.exec(ns, 'ip', ['-6', 'addr', 'add', `${a}/64`, 'dev', 'eth0', 'nodad']);
    }
    const m = labModel({
      virtualServers: [virtualServer('v6', V6, { vip: { address: V6, prefixLength: 64 } })],
    });
    const [mac1, mac2] = [await mac('r1'), await mac('r2')];
    const r1 = await start('r1', m);
    const r2 = await start('r2', m);
    await r1.call('claim', { reason: 'initial' });
    await L.lab.exec('client', 'ping', ['-6', '-c', '1', '-W', '2', V6]);
    assert.match(await neigh('client', V6), new RegExp(`lladdr ${mac1}`));
    await r1.call('release', { reason: 'handover' });
    await r2.call('claim', { reason: 'handover' });
    const entry = await neigh('client', V6);
    assert.match(entry, new RegExp(`lladdr ${mac2}`), `client entry: ${entry}`);
    const r2addr = (await L.lab.exec('r2', 'ip', ['-6', 'addr', 'show', 'dev', 'eth0'])).stdout;
    assert.match(r2addr, new RegExp(`${V6}/64 scope global nodad`));
    await r2.call('release', { reason: 'done' });
  });

  it('neighbours: a client sees which router MAC the VIP resolves to (ip -json neigh)', async () => {
    const r1 = await start('r1');
    await r1.call('claim', { reason: 'initial' });
    assert.equal(await neighbourMac('client', VIP), await mac('r1'));
    await r1.call('release', { reason: 'x' });
    await L.lab.exec('client', 'ip', ['neigh', 'flush', 'to', VIP, 'dev', 'eth0']);
    assert.equal(await neighbourMac('client', VIP), undefined);
  });

  it('realserver DR plan applied in a namespace: VIP on lo, ARP quiet; applying twice is harmless', async () => {
    await L.lab.addNs('rsdr');
    await L.lab.connect('rsdr', 'eth0', 'sw', 'pub', ['198.18.0.31/24']);
    const plan = realServerPlan({ mode: 'dr', vips: [VIP] });
    const run = async (file: string, args: string[]) =>
      L.lab.exec('rsdr', file, args).then(
        () => ({ ok: true, stderr: '' }),
        (e: Error & { stderr?: string }) => ({ ok: false, stderr: e.stderr ?? e.message }),
      );
    for (let i = 0; i < 2; i++) {
      const res = await applyRealServerPlan(plan, run);
      assert.ok(
        res.every((r) => r.ok),
        JSON.stringify(res),
      );
    }
    assert.deepEqual(await vipEntries('rsdr'), [`lo ${VIP}/32 lo:lvs`]);
    const sysctl = async (k: string) => (await L.lab.exec('rsdr', 'sysctl', ['-n', k])).stdout.trim();
    assert.equal(await sysctl('net.ipv4.conf.all.arp_ignore'), '1');
    assert.equal(await sysctl('net.ipv4.conf.all.arp_announce'), '2');
    // Nobody holds the VIP on the segment: the real server must not answer ARP for it.
    assert.doesNotMatch(await resolveFromClient(), /lladdr/);
  });
});
