/**
 * The connection-survival checker and scenario (lab/survival.ts) without sockets: which connections count
 * as kept, and the scenario's order (measure, change, crash, watch, check) against a fake lab.
 */
import assert from 'node:assert/strict';
import {
  type ConnRecord,
  percentiles,
  runReturningRouterScenario,
  runSurvivalScenario,
  type SurvivalEnv,
  summarizeSurvival,
} from '../../../lab/survival';
import { ipvsStandbyFlows, parseIpvsConnections } from '../../../lab/survival-ipvs';

const rec = (id: number, o: Partial<ConnRecord> = {}): ConnRecord => ({
  id,
  port: 40000 + id,
  establishedAt: 0,
  servers: ['rs1'],
  echoed: 500,
  maxGapMs: 40,
  maxGapEndAt: 100,
  lastEchoAt: 9990,
  ...o,
});

describe('lab/survival: the checker', () => {
  const c = { crashAt: 5000, endAt: 10_000 };

  it('keeps a connection that echoes after the crash, on its server, with no wait over 2 s', () => {
    const s = summarizeSurvival([rec(1, { maxGapMs: 350 }), rec(2)], c);
    assert.deepEqual([s.total, s.kept, s.worstKeptGapMs], [2, 2, 350]);
    assert.deepEqual(s.losses, []);
  });

  it('loses, by the first reason: reset, moved to another server, a stall over 2 s, silent after the crash', () => {
    const s = summarizeSurvival(
      [
        rec(1, { endedAt: 5120, error: 'ECONNRESET' }),
        rec(2, { servers: ['rs1', 'rs3'] }),
        rec(3, { maxGapMs: 2500 }),
        rec(4, { lastEchoAt: 7000 }), // silent for 3 s up to the end: a stall
        rec(5, { lastEchoAt: 4990, maxGapMs: 30 }), // no echo after the crash (and 5 s of silence)
        rec(6, { maxGapMs: 2000 }),
      ],
      c,
    );
    assert.equal(s.kept, 1, 'exactly 2 s of waiting is still kept');
    assert.deepEqual(s.lost, { reset: 1, moved: 1, stalled: 3, silent: 0 });
    assert.deepEqual(
      s.losses.map((l) => [l.id, l.why]),
      [
        [1, 'reset'],
        [2, 'moved'],
        [3, 'stalled'],
        [4, 'stalled'],
        [5, 'stalled'],
      ],
    );
    assert.match(s.losses[0]!.detail, /ECONNRESET at crash\+120 ms/);
    const quick = summarizeSurvival([rec(7, { lastEchoAt: 4990 })], { crashAt: 5000, endAt: 5500 });
    assert.deepEqual(quick.lost.silent, 1, 'no echo after the crash, though not yet stalled');
  });

  it('a stall threshold of its own', () => {
    assert.equal(summarizeSurvival([rec(1, { maxGapMs: 900 })], { ...c, stallMs: 500 }).kept, 0);
  });

  it('percentiles by nearest rank', () => {
    assert.deepEqual(percentiles([5, 1, 3, 2, 4]), { p50: 3, p95: 5, max: 5 });
    assert.equal(percentiles([]), undefined);
  });
});

describe('lab/survival: the scenario against a fake lab', () => {
  it('measures the standby’s lag, changes the servers, crashes, watches, then checks; in that order', async () => {
    let t = 1_000_000;
    const steps: string[] = [];
    const recs = Array.from({ length: 10 }, (_, i) =>
      rec(i + 1, { establishedAt: t - 50, lastEchoAt: t, maxGapMs: 30 }),
    );
    let polls = 0;
    const env: SurvivalEnv = {
      now: () => t,
      sleep: async (ms) => {
        t += ms;
        for (const r of recs) r.lastEchoAt = t;
      },
      async startClient(n, interval) {
        steps.push(`client ${n} ${interval}`);
        return {
          ready: async () => void steps.push('ready'),
          report: async () => recs.map((r) => ({ ...r })),
          stop: async () => {
            steps.push('stop');
            return recs.map((r) => ({ ...r }));
          },
        };
      },
      changeRealServers: async () => void steps.push('change'),
      crashActive: async () => {
        steps.push('crash');
        recs[0]!.endedAt = t + 5;
        recs[0]!.error = 'ECONNRESET';
      },
      waitTakeover: async () => {
        steps.push('takeover');
        return 130;
      },
      // Half the flows are on the standby at the first poll, the rest at the second.
      standbyFlows: async () => {
        polls++;
        return new Set(recs.filter((r) => polls > 1 || r.id <= 5).map((r) => r.port));
      },
    };
    const r = await runSurvivalScenario(env, { conns: 10, settleMs: 1000 });
    assert.deepEqual(steps, ['client 10 20', 'ready', 'change', 'crash', 'takeover', 'stop']);
    assert.deepEqual(
      r.syncLatency,
      { p50: 50, p95: 55, max: 55, missing: 0 },
      'seen at the first and the second poll',
    );
    assert.equal(r.takeoverMs, 130);
    assert.equal(r.lostBeforeCrash, 0);
    assert.deepEqual([r.summary.kept, r.summary.lost.reset], [9, 1]);
  });
});

describe('lab/survival-ipvs: the standby’s IPVS entries', () => {
  it('parses ipvsadm -Lnc and keeps the established flows of one service', async () => {
    const text = [
      'IPVS connection entries',
      'pro expire state       source             virtual            destination',
      'TCP 14:59  ESTABLISHED 198.18.0.100:41234 198.18.0.10:7000   198.18.1.21:7000',
      'TCP 14:58  ESTABLISHED 198.18.0.100:41236 198.18.0.10:7000   198.18.1.22:7000',
      'TCP 01:59  FIN_WAIT    198.18.0.100:41238 198.18.0.10:7000   198.18.1.22:7000',
      'TCP 14:57  ESTABLISHED 198.18.0.100:50000 198.18.0.10:80     198.18.1.22:80',
      'TCP 14:57  ESTABLISHED [2001:2::100]:50002 [2001:2::10]:7000 [2001:2:1::21]:7000',
      '',
    ].join('\n');
    const all = parseIpvsConnections(text);
    assert.equal(all.length, 5);
    assert.deepEqual(all[4]!.source, '2001:2::100');
    const flows = ipvsStandbyFlows(async () => ({ stdout: text }), 'r2', '198.18.0.10', 7000);
    assert.deepEqual([...(await flows())].sort(), [41234, 41236]);
  });
});

describe('lab/survival: the returning-router scenario against a fake lab', () => {
  it('restarts the standby, waits for its resync (or not), switches over, then checks', async () => {
    for (const wait of [true, false]) {
      const steps: string[] = [];
      const recs = [rec(1, { lastEchoAt: Date.now() + 1e6 })];
      const r = await runReturningRouterScenario(
        {
          sleep: async () => {},
          startClient: async () => ({
            ready: async () => void steps.push('ready'),
            report: async () => recs,
            stop: async () => recs,
          }),
          restartStandby: async () => void steps.push('restart'),
          waitResynced: async () => {
            steps.push('resynced');
            return 700;
          },
          switchover: async () => void steps.push('switchover'),
        },
        { waitForResync: wait, conns: 1, settleMs: 0 },
      );
      assert.deepEqual(
        steps,
        wait ? ['ready', 'restart', 'resynced', 'switchover'] : ['ready', 'restart', 'switchover'],
      );
      assert.equal(r.resyncMs, wait ? 700 : undefined);
    }
  });
});
