import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { LbTable } from '../../../src/ipvs';
import type { Exec } from '../../../src/ipvs/exec';
import { execProcess } from '../../../src/ipvs/exec';
import { isRoot } from '../../../lab/netns';
import { buildLvsLab, LAB_NET, type LvsLab } from '../../../lab/topology';
import { MemoryLog } from '../../../src/lib/log';
import { model, rs, vs } from '../../unit/ipvs/fixture';
import { need } from '../../helpers/need';

const TRAFFIC = 'test/lab/ipvs/traffic.cjs';

/** First stdout line of a child that matches `re`. */
function lineMatching(child: ChildProcess, re: RegExp, timeoutMs = 10000): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    const t = setTimeout(() => reject(new Error(`no line matching ${re} within ${timeoutMs} ms`)), timeoutMs);
    rl.on('line', (l) => {
      if (re.test(l)) {
        clearTimeout(t);
        rl.close();
        resolve(l);
      }
    });
  });
}

describe('lab: nftables backend carries real traffic (client → router nft DNAT → real servers)', function () {
  this.timeout(120000);
  let lvs: LvsLab | undefined;
  let lb: LbTable;
  let hold: ChildProcess | undefined;
  const log = new MemoryLog();
  const rootTablesBefore = () => execFileSync('nft', ['list', 'tables']).toString();
  let rootBefore = '';

  before(async function () {
    if (!isRoot()) {
      need(this, 'needs root');
    }
    rootBefore = rootTablesBefore();
    lvs = await buildLvsLab({ prefix: 'lpi', realServers: 2 });
    const { lab } = lvs;
    await lab.exec('r1', 'ip', ['addr', 'add', `${LAB_NET.vip}/24`, 'dev', 'eth0']);
    await lab.exec('r1', 'ip', ['addr', 'add', `${LAB_NET.natGateway}/24`, 'dev', 'eth1']);
    const ready: Promise<string>[] = [];
    for (const [i, r] of lvs.realServers.entries()) {
      const name = `rs${i + 1}`;
      const web = lab.spawn(r.ns, process.execPath, [
        '--import',
        'tsx',
        'lab/whoami-server.ts',
        name,
        '80',
      ]);
      const line = lab.spawn(r.ns, process.execPath, [TRAFFIC, 'line-server', name, '7000']);
      ready.push(lineMatching(web, /^listening/), lineMatching(line, /^listening/));
    }
    await Promise.all(ready);
    const inR1: Exec = (file, args, input) =>
      execProcess()('ip', ['netns', 'exec', lab.nsName('r1'), file, ...args], input);
    const m = model(
      [
        vs('www', {
          scheduler: 'wlc',
          realServers: [rs('rs1', LAB_NET.realServer(1)), rs('rs2', LAB_NET.realServer(2))],
        }),
        vs('hold', {
          port: 7000,
          scheduler: 'rr',
          realServers: [
            rs('rs1', LAB_NET.realServer(1), { port: 7000 }),
            rs('rs2', LAB_NET.realServer(2), { port: 7000 }),
          ],
        }),
      ],
      { lb: { backend: 'nftables', ipvsadmPath: 'ipvsadm', hotStandby: true, onStop: 'clear' } },
    );
    lb = new LbTable({ model: m, log, exec: inR1 });
    await lb.init();
  });

  after(async () => {
    hold?.kill();
    await lvs?.destroy();
  });

  async function http(count: number): Promise<{ counts: Record<string, number>; failed: number }> {
    const { stdout } = await lvs!.lab.exec('client', process.execPath, [
      TRAFFIC,
      'http',
      `http://${LAB_NET.vip}/`,
      String(count),
      '16',
    ]);
    return JSON.parse(stdout.trim().split('\n').at(-1) as string);
  }

  it('weights 3:1 give ~3:1 replies over 2,000 requests (wlc falls back to the weighted flow hash, one warning)', async () => {
    lb.setWeight('www', 'rs1', 3);
    lb.setWeight('www', 'rs2', 1);
    lb.setWeight('hold', 'rs1', 1);
    lb.setWeight('hold', 'rs2', 1);
    await lb.reconcile();
    assert.equal(lb.status().backend, 'nftables');
    assert.equal(lb.status().fault, undefined);
    const r = await http(2000);
    const rs1 = r.counts.rs1 ?? 0;
    const rs2 = r.counts.rs2 ?? 0;
    console.log(`      3:1 weights → rs1 ${rs1}, rs2 ${rs2}, failed ${r.failed}`);
    assert.equal(r.failed, 0);
    assert.equal(rs1 + rs2, 2000);
    const share = rs1 / 2000;
    assert.ok(share > 0.7 && share < 0.8, `rs1 share ${share} not within 0.75 ± 0.05`);
    assert.equal(log.records.filter((x) => /scheduler wlc is not available/.test(x.msg)).length, 1);
  });

  it('a weight change mid-stream keeps an established connection on its real server', async () => {
    hold = lvs!.lab.spawn('client', process.execPath, [TRAFFIC, 'hold', LAB_NET.vip, '7000'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const replies = createInterface({ input: hold.stdout! });
    const it = replies[Symbol.asyncIterator]();
    const next = async () => (await it.next()).value as string;
    assert.equal(await next(), 'connected');
    hold.stdin!.write('ping\n');
    const first = await next();
    assert.match(first, /^rs[12]$/);
    const other = first === 'rs1' ? 'rs2' : 'rs1';
    // Quiesce the server holding the connection, weight up the other: the rules are replaced atomically.
    lb.setWeight('hold', first, 0);
    lb.setWeight('hold', other, 5);
    await lb.reconcile();
    for (let i = 0; i < 5; i++) {
      hold.stdin!.write('ping\n');
      assert.equal(await next(), first, 'established connection moved');
    }
    // Even removal leaves the established connection where it is (conntrack keeps the binding).
    lb.setWeight('hold', first, null);
    await lb.reconcile();
    hold.stdin!.write('ping\n');
    assert.equal(await next(), first);
    hold.kill();
  });

  it('removing a real server stops new connections to it', async () => {
    lb.setWeight('www', 'rs2', null);
    await lb.reconcile();
    const r = await http(300);
    assert.deepEqual(r, { counts: { rs1: 300 }, failed: 0 });
    assert.deepEqual(
      lb
        .status()
        .services.find((s) => s.key === '-t 198.18.0.10:80')!
        .reals.map((x) => x.address),
      [LAB_NET.realServer(1)],
    );
  });

  it('IPv6, fwmark, udp, persistent and all-port services load as one transaction and verify by read-back', async () => {
    const inR2: Exec = (file, args, input) =>
      execProcess()('ip', ['netns', 'exec', lvs!.lab.nsName('r2'), file, ...args], input);
    const six = { address: '2001:db8::10', prefixLength: 128 };
    const m = model(
      [
        vs('six', {
          vip: six,
          scheduler: 'sh',
          realServers: [rs('a', '2001:db8:1::21'), rs('b', '2001:db8:1::22')],
        }),
        vs('fw', { fwmark: 5, scheduler: 'wrr', realServers: [rs('a', LAB_NET.realServer(1), { port: 0 })] }),
        vs('fw6', { fwmark: 6, vip: six, realServers: [rs('a', '2001:db8:1::21', { port: 0 })] }),
        vs('dns', {
          protocol: 'udp',
          port: 53,
          scheduler: 'rr',
          realServers: [rs('a', LAB_NET.realServer(1), { port: 53 })],
        }),
        vs('all', { port: 0, persistentS: 600, realServers: [rs('a', LAB_NET.realServer(2), { port: 0 })] }),
      ],
      { lb: { backend: 'nftables', ipvsadmPath: 'ipvsadm', hotStandby: true, onStop: 'clear' } },
    );
    const lb2 = new LbTable({ model: m, log: new MemoryLog(), exec: inR2 });
    await lb2.init();
    for (const [v, r, w] of [
      ['six', 'a', 2],
      ['six', 'b', 1],
      ['fw', 'a', 1],
      ['fw6', 'a', 1],
      ['dns', 'a', 1],
      ['all', 'a', 1],
    ] as const) {
      lb2.setWeight(v, r, w);
    }
    await lb2.reconcile();
    assert.equal(lb2.status().fault, undefined);
    assert.deepEqual(
      lb2
        .status()
        .services.map((s) => s.key)
        .sort(),
      ['-f 5', '-f 6 -6', '-t 198.18.0.10:0', '-t [2001:db8::10]:80', '-u 198.18.0.10:53'],
    );
    const { stdout } = await lvs!.lab.exec('r2', 'nft', ['list', 'tables']);
    assert.match(stdout, /table ip lvs_pulse\b/);
    assert.match(stdout, /table ip6 lvs_pulse6\b/);
    await lb2.clear();
    assert.doesNotMatch((await lvs!.lab.exec('r2', 'nft', ['list', 'tables'])).stdout, /lvs_pulse/);
  });

  it('clear() removes our tables only; the root namespace nftables were never touched', async () => {
    await lb.clear();
    const { stdout } = await lvs!.lab.exec('r1', 'nft', ['list', 'tables']);
    assert.doesNotMatch(stdout, /lvs_pulse/);
    assert.equal(rootTablesBefore(), rootBefore);
  });
});
