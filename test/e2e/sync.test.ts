/**
 * Connection sync on the nftables pair (conntrackd), end to end on the host lab: 200 long-lived TCP
 * connections through the VIP (lab/survival.ts), the real servers changed under them (a server added, one
 * reweighted), then a crash of the active. With sync they survive (≥ 99 %); the same run without sync
 * shows they break, so the test can fail. Then bad input: a conntrackd that dies, a port in use, a sync
 * interface that does not exist — each a log line, a status field and a metric, never a lost VIP.
 */
import assert from 'node:assert/strict';
import { request } from '../../src/daemon/control';
import type { StatusJson } from '../../src/daemon/status';
import { isRoot } from '../../lab/netns';
import { hasCommand, LabPair, type RouterName } from '../../lab/pair';
import {
  runReturningRouterScenario,
  runSurvivalScenario,
  type SurvivalEnv,
  type SurvivalResult,
} from '../../lab/survival';
import { driveSurvivalClient } from '../../lab/survival-driver';
import { need } from '../helpers/need';
import { until } from '../helpers/until';

const ECHO = 7000;

/** Client ports of the echo flows in `r`'s conntrackd external cache (`conntrackd -e`). */
async function externalFlows(p: LabPair, r: RouterName): Promise<Set<number>> {
  const conf = `${p.routers[r].runDir}/sync/conntrackd.conf`;
  const { stdout } = await p.lab.exec(r, 'conntrackd', ['-C', conf, '-e']);
  const out = new Set<number>();
  for (const line of stdout.split('\n')) {
    const m = /sport=(\d+) dport=(\d+)/.exec(line);
    if (m && Number(m[2]) === ECHO) out.add(Number(m[1]));
  }
  return out;
}

async function metrics(p: LabPair, r: RouterName): Promise<string> {
  const { stdout } = await p.lab.exec(r, 'curl', ['-s', '--max-time', '2', 'http://127.0.0.1:9539/metrics']);
  return stdout;
}

describe('e2e: connection sync on the nftables pair (conntrackd)', function () {
  this.timeout(240_000);
  let pair: LabPair | undefined;
  before(function () {
    need(this, isRoot() ? undefined : 'needs root');
    need(this, hasCommand('conntrackd') ? undefined : 'needs conntrackd (Debian package conntrackd)');
    need(this, hasCommand('conntrack') ? undefined : 'needs conntrack (Debian package conntrack)');
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && pair)
      for (const r of ['r1', 'r2'] as const)
        console.log(`--- ${r} log (tail)\n${pair.routers[r].log.slice(-50).join('\n')}`);
    await pair?.destroy();
    pair = undefined;
  });

  async function up(prefix: string, globals: string[]): Promise<LabPair> {
    pair = await LabPair.create({
      prefix,
      realServers: 3,
      echoPort: ECHO,
      realServerActive: [true, true, false],
      // A heartbeat that a loaded CI machine cannot fool (the fast default flaps under a load of ~12 on two
      // cores): these tests are about the connections, not the takeover's speed.
      globals: ['monitor_links = 0', 'keepalive = 0.05', 'deadtime = 0.5', ...globals],
    });
    await pair.waitRole('r1', 'active', 15_000);
    await pair.waitRole('r2', 'standby', 15_000);
    await until('client reaches the VIP', async () => (await pair!.get()) !== undefined);
    return pair;
  }

  async function syncReady(p: LabPair): Promise<void> {
    await until(
      'sync running on both, r2 resynced',
      async () => {
        const [a, b] = [await p.status('r1'), await p.status('r2')];
        return (
          a.sync?.state === 'running' &&
          b.sync?.state === 'running' &&
          b.sync.resync.state !== 'pending' &&
          b.sync.hold === undefined
        );
      },
      15_000,
    );
  }

  async function survival(p: LabPair, sync: boolean): Promise<SurvivalResult> {
    const env: SurvivalEnv = {
      startClient: (n, iv) => driveSurvivalClient(p.startSurvivalClient(ECHO), n, iv),
      async changeRealServers() {
        // rs3 added, rs1 reweighted 1 → 3: most flows now hash elsewhere (docs/lb.md, the flow hash).
        p.writeConfig({ weights: [3, 1, 1], realServerActive: [true, true, true] });
        for (const r of ['r1', 'r2'] as const) {
          const rep = await request(p.routers[r].runDir, 'reload');
          assert.equal(rep.ok && (rep.result as { ok: boolean }).ok, true, JSON.stringify(rep));
        }
        await until('rs3 in and rs1 at weight 3 on both routers', async () => {
          for (const r of ['r1', 'r2'] as const) {
            const echo = (await p.status(r)).virtual_servers.find((v) => v.name === 'echo')!;
            const w = Object.fromEntries(echo.real_servers.map((x) => [x.name, x.weight]));
            if (w.rs1 !== 3 || w.rs3 !== 1) return false;
          }
          return true;
        });
      },
      crashActive: () => p.crashRouter('r1'),
      waitTakeover: () => p.waitRole('r2', 'active', 5000),
      ...(sync ? { standbyFlows: () => externalFlows(p, 'r2') } : {}),
    };
    return runSurvivalScenario(env, { conns: 200, intervalMs: 20, settleMs: 3000 });
  }

  it('200 connections survive a crash after a real server was added and one reweighted (sync on); without sync they break', async () => {
    const t0 = Date.now();
    let p = await up('sy', ['syncdaemon = 1']);
    await syncReady(p);
    const on = await survival(p, true);
    const st = (await p.status('r2')).sync!;
    console.log(
      `      sync on: ${on.summary.kept}/200 kept (lost ${JSON.stringify(on.summary.lost)}), worst kept pause ${on.summary.worstKeptGapMs} ms, takeover ${on.takeoverMs} ms (poll); establishment → r2's external cache p50 ${on.syncLatency?.p50} / p95 ${on.syncLatency?.p95} / max ${on.syncLatency?.max} ms (${on.syncLatency?.missing} missing); commit ${st.last_commit?.ms} ms`,
    );
    assert.equal(
      on.lostBeforeCrash,
      0,
      'the real-server change itself breaks nothing (conntrack keeps the bindings)',
    );
    assert.equal(on.syncLatency?.missing, 0, 'every connection reached the standby');
    assert.ok(
      on.summary.kept >= 198,
      `sync on: ${on.summary.kept}/200 kept: ${JSON.stringify(on.summary.losses.slice(0, 5))}`,
    );
    assert.equal(st.last_commit?.ok, true, 'the new active committed the peer’s flows');
    assert.ok((await p.holders()).includes('r2'));
    await p.destroy();
    pair = undefined;

    p = await up('sn', []);
    const off = await survival(p, false);
    console.log(
      `      sync off: ${off.summary.kept}/200 kept (lost ${JSON.stringify(off.summary.lost)}); the whole test ${Math.round((Date.now() - t0) / 1000)} s`,
    );
    assert.equal(off.lostBeforeCrash, 0);
    assert.ok(
      off.summary.kept < 198,
      `without sync the same run must break connections (kept ${off.summary.kept})`,
    );
    assert.ok(off.summary.lost.reset + off.summary.lost.moved + off.summary.lost.stalled > 0);
  });

  it('a returning router resyncs before it may take over by planned switchover; then no connection is lost', async () => {
    const p = await up('sr', ['syncdaemon = 1']);
    await syncReady(p);
    let resynced: StatusJson['sync'];
    let logMark = 0;
    const r = await runReturningRouterScenario(
      {
        startClient: (n, iv) => driveSurvivalClient(p.startSurvivalClient(ECHO), n, iv),
        async restartStandby() {
          await p.killRouter('r2');
          logMark = p.routers.r2.log.length;
          await p.startRouter('r2');
          await p.waitRole('r2', 'standby', 10_000);
        },
        async waitResynced() {
          const t0 = Date.now();
          resynced = await until(
            'r2 resynced and no longer holding',
            async () => {
              const s = (await p.status('r2')).sync!;
              return s.resync.state === 'done' && s.hold === undefined ? s : undefined;
            },
            10_000,
          );
          // It held its voluntary claims (and told r1 not to release to it) until then.
          const log = p.routers.r2.log.slice(logMark).join('\n');
          assert.match(
            log,
            /voluntary takeovers held: connection resync pending[\s\S]*voluntary takeovers allowed again/,
          );
          return Date.now() - t0;
        },
        async switchover() {
          assert.ok((await externalFlows(p, 'r2')).size >= 50, 'the peer’s flows are in r2’s external cache');
          const rel = await request(p.routers.r1.runDir, 'release');
          assert.equal(rel.ok, true, JSON.stringify(rel));
          await p.waitRole('r2', 'active', 5000);
        },
      },
      { conns: 50, waitForResync: true, settleMs: 1500 },
    );
    console.log(
      `      returning router: resync done in ${resynced?.resync.ms} ms (${resynced?.resync.entries} entries); after the switchover ${r.summary.kept}/50 kept`,
    );
    assert.ok(
      (resynced?.resync.entries ?? 0) >= 50,
      `the peer's flows came in bulk: ${resynced?.resync.entries}`,
    );
    assert.equal(r.summary.kept, 50, JSON.stringify(r.summary.losses.slice(0, 3)));
  });

  it('bad input: a conntrackd that dies, a port in use, a missing sync interface — logged, shown, a metric; the VIP stays', async () => {
    const p = await up('sb', ['syncdaemon = 1']);
    await syncReady(p);
    // 1. conntrackd dies on the active: a fault, restarted, the VIP never moves.
    const pid = (await p.status('r1')).sync!.pid!;
    await p.lab.exec('r1', 'kill', ['-9', String(pid)]);
    const fault = await until('r1 shows the sync fault', async () => {
      const s = (await p.status('r1')).sync!;
      return s.state === 'fault' ? s : undefined;
    });
    assert.match(fault.detail!, /conntrackd killed by SIGKILL/);
    assert.match(await metrics(p, 'r1'), /^lvs_pulse_sync_fault 1$/m);
    await until(
      'r1 restarted conntrackd',
      async () => (await p.status('r1')).sync!.state === 'running',
      10_000,
    );
    assert.equal((await p.status('r1')).sync!.restarts, 1);
    assert.ok(p.routers.r1.log.some((l) => /conntrackd down; restarting/.test(l)));
    assert.equal(await p.role('r1'), 'active');
    assert.deepEqual(await p.holders(), ['r1']);

    // 2. The sync port is taken on r2 while its conntrackd is down: it cannot start, says why, retries. The
    //    squatter binds the moment conntrackd's own socket is gone (it tries every 5 ms).
    const squat = p.lab.spawn('r2', process.execPath, [
      '-e',
      "const d = require('node:dgram'); const t = () => { const s = d.createSocket('udp4'); s.once('error', () => { s.close(); setTimeout(t, 5); }); s.bind(3780, '198.18.1.12', () => console.log('bound')); }; t();",
    ]);
    let bound = false;
    squat.stdout!.once('data', () => {
      bound = true;
    });
    const pid2 = (await p.status('r2')).sync!.pid!;
    await p.lab.exec('r2', 'kill', ['-9', String(pid2)]);
    await until('the squatter holds the sync port', () => bound, 5000);
    const inUse = await until(
      'r2 reports the port in use',
      async () => {
        const s = (await p.status('r2')).sync!;
        return s.state === 'fault' && /Address already in use/.test(s.detail ?? '') ? s : undefined;
      },
      10_000,
    );
    const text = (await request(p.routers.r2.runDir, 'status')).result as StatusJson;
    assert.equal(text.sync?.state, 'fault');
    assert.match(inUse.detail!, /can't open channel socket: Address already in use/);
    assert.match(await metrics(p, 'r2'), /^lvs_pulse_sync_up\{mechanism="conntrackd"\} 0$/m);
    assert.equal(await p.role('r2'), 'standby', 'a sync fault is not a failover fault');
    squat.kill('SIGKILL');
    await until(
      'r2 recovers once the port is free',
      async () => (await p.status('r2')).sync!.state === 'running',
      40_000,
    );
    assert.deepEqual(await p.holders(), ['r1']);

    // 3. A sync interface that does not exist (reload): a fault at once, the VIP stays.
    p.writeConfig({
      globals: [
        'monitor_links = 0',
        'keepalive = 0.05',
        'deadtime = 0.5',
        'syncdaemon = 1',
        'syncd_iface = nosuch0',
      ],
    });
    const rep = await request(p.routers.r1.runDir, 'reload');
    assert.equal(rep.ok, true);
    const noIf = await until(
      'r1 reports the missing interface',
      async () => {
        const s = (await p.status('r1')).sync!;
        return s.state === 'fault' ? s : undefined;
      },
      10_000,
    );
    assert.match(noIf.detail!, /nosuch0|No such device/);
    assert.match(await metrics(p, 'r1'), /^lvs_pulse_sync_fault 1$/m);
    assert.ok(p.routers.r1.log.some((l) => /connection sync fault/.test(l)));
    assert.equal(await p.role('r1'), 'active');
    assert.deepEqual(await p.holders(), ['r1']);
    // (The reload itself may knock a real server out for a probe: the nanny counts a probe it disposes of as
    // a failure. Not the sync's doing; the VIP is what this test is about.)
    await until('the client reaches the VIP', async () => (await p.get()) !== undefined, 5000);
  });
});
