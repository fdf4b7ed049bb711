/**
 * The connection-survival workload (docs/sync.md): long-lived TCP connections through the VIP, each sending
 * a short line every `intervalMs` and waiting for its echo, across a crash of the active router. This file
 * is the pure part — the per-connection record the client keeps, the checker that says which connections
 * survived, and the scenario both labs run — with no sockets: the host lab (test/e2e/sync.test.ts) and the
 * VM pair lab implement {@link SurvivalEnv} over their own namespaces, and the client process is
 * lab/survival-client.ts (one process for all connections).
 */

/** One connection as the client saw it (times in ms, Date.now() of the client's host). */
export interface ConnRecord {
  id: number;
  /** Client-side port (the flow's key on the routers). */
  port: number;
  establishedAt: number;
  /** Real servers that answered, in order of first answer (more than one = moved: a broken flow). */
  servers: string[];
  /** Echoes received. */
  echoed: number;
  /** Time of each echo is not kept; the longest wait between two echoes (or connect → first) is. */
  maxGapMs: number;
  /** When that longest wait ended. */
  maxGapEndAt: number;
  lastEchoAt: number;
  /** The connection ended before the client closed it: reset or closed by the far end. */
  endedAt?: number;
  error?: string;
}

/** What the checker counts against. */
export interface SurvivalCriteria {
  /** The crash (links cut): a kept connection echoes again after it. */
  crashAt: number;
  /** End of the observation: a connection silent from its last echo to here counts as stalled. */
  endAt: number;
  /** A wait between echoes longer than this is a stall (default 2000 ms). */
  stallMs?: number;
}

/** Why a connection did not survive. */
export type Loss = 'reset' | 'stalled' | 'moved' | 'silent';

/** The checker's verdict over all connections. */
export interface SurvivalSummary {
  total: number;
  kept: number;
  /** Connections lost, by the first reason that applies (reset, moved to another server, stall, silent). */
  lost: Record<Loss, number>;
  /** The longest wait among kept connections, ms (the client-visible pause of the takeover). */
  worstKeptGapMs: number;
  /** The lost ones, for the failure message. */
  losses: { id: number; port: number; why: Loss; detail: string }[];
}

/**
 * Which connections survived the crash: not reset, still on the server they started on, echoing again
 * after the crash, and never waiting more than `stallMs` for an echo (the silence from the last echo to
 * `endAt` included).
 */
export function summarizeSurvival(conns: ConnRecord[], c: SurvivalCriteria): SurvivalSummary {
  const stallMs = c.stallMs ?? 2000;
  const lost: Record<Loss, number> = { reset: 0, stalled: 0, moved: 0, silent: 0 };
  const losses: SurvivalSummary['losses'] = [];
  let kept = 0;
  let worst = 0;
  for (const r of conns) {
    const tail = c.endAt - r.lastEchoAt;
    const gap = Math.max(r.maxGapMs, tail);
    let why: Loss | undefined;
    let detail = '';
    if (r.endedAt !== undefined && r.endedAt <= c.endAt) {
      why = 'reset';
      detail = `${r.error ?? 'closed'} at crash${r.endedAt >= c.crashAt ? '+' : ''}${r.endedAt - c.crashAt} ms`;
    } else if (r.servers.length > 1) {
      why = 'moved';
      detail = `answered by ${r.servers.join(' then ')}`;
    } else if (gap > stallMs) {
      why = 'stalled';
      detail = `waited ${Math.round(gap)} ms for an echo`;
    } else if (r.lastEchoAt <= c.crashAt) {
      why = 'silent';
      detail = 'no echo after the crash';
    }
    if (why) {
      lost[why]++;
      losses.push({ id: r.id, port: r.port, why, detail });
    } else {
      kept++;
      worst = Math.max(worst, gap);
    }
  }
  return { total: conns.length, kept, lost, worstKeptGapMs: Math.round(worst), losses };
}

/** Percentiles of a list of numbers (nearest rank); undefined for an empty list. */
export function percentiles(xs: number[]): { p50: number; p95: number; max: number } | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
  return { p50: at(50), p95: at(95), max: s[s.length - 1]! };
}

/** The running client as the scenario drives it (lab/survival-client.ts over stdin, or a fake). */
export interface SurvivalClient {
  /** Resolves once `n` connections are established and have each had an echo. */
  ready(n: number, timeoutMs: number): Promise<void>;
  /** The per-connection records now. */
  report(): Promise<ConnRecord[]>;
  /** Closes every connection and ends the client; the records as they were just before. */
  stop(): Promise<ConnRecord[]>;
}

/** What a lab provides to the scenario (host namespaces, or the VM pair lab). */
export interface SurvivalEnv {
  /** Starts the client (one process) with `conns` connections to the VIP's echo service. */
  startClient(conns: number, intervalMs: number): Promise<SurvivalClient>;
  /** Changes the real servers while the connections live (a server added, one reweighted); reloads both routers. */
  changeRealServers(): Promise<void>;
  /** Crashes the active: its links cut in one batch, then kill -9 of its daemon and heartbeat process. */
  crashActive(): Promise<void>;
  /** Resolves when the standby is active; the ms it took (as the lab measures it). */
  waitTakeover(): Promise<number>;
  /**
   * The client ports of the flows the standby holds for the peer now (conntrackd's external cache, or
   * `ipvsadm -Lnc` synced entries); absent when the lab cannot tell.
   */
  standbyFlows?(): Promise<Set<number>>;
  /** Clock of the client's host (default Date.now). */
  now?(): number;
  sleep?(ms: number): Promise<void>;
}

/** How the scenario runs. */
export interface SurvivalOptions {
  conns?: number;
  intervalMs?: number;
  /** How long the connections run after the real-server change and after the takeover, ms. */
  settleMs?: number;
  stallMs?: number;
}

/** What one run of the scenario measured. */
export interface SurvivalResult {
  summary: SurvivalSummary;
  /** Establishment → seen on the standby, ms (undefined when the lab cannot tell). */
  syncLatency?: { p50: number; p95: number; max: number; missing: number };
  /** Connections lost to the real-server change itself (before the crash; should be 0). */
  lostBeforeCrash: number;
  takeoverMs: number;
  /** Phase durations, ms. */
  phases: Record<string, number>;
}

/**
 * The survival scenario: connections up and echoing, time to reach the standby measured, real servers
 * changed under them, the active crashed, the connections watched through the takeover, then checked.
 */
export async function runSurvivalScenario(
  env: SurvivalEnv,
  o: SurvivalOptions = {},
): Promise<SurvivalResult> {
  const conns = o.conns ?? 200;
  const settle = o.settleMs ?? 3000;
  const now = env.now ?? (() => Date.now());
  const sleep = env.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const phases: Record<string, number> = {};
  let t = now();
  const lap = (name: string) => {
    const n = now();
    phases[name] = n - t;
    t = n;
  };
  // The standby is watched from before the first connection: each flow's first sighting there, minus its
  // establishment, is its sync latency (to the resolution of one poll).
  const seenAt = new Map<number, number>();
  let watching = env.standbyFlows !== undefined;
  let polls = 0;
  const watcher = (async () => {
    while (watching && env.standbyFlows) {
      const ports = await env.standbyFlows();
      polls++;
      const at = now();
      for (const port of ports) if (!seenAt.has(port)) seenAt.set(port, at);
      await sleep(5);
    }
  })();
  const client = await env.startClient(conns, o.intervalMs ?? 20);
  try {
    await client.ready(conns, 30_000);
    lap('connect');
    let syncLatency: SurvivalResult['syncLatency'];
    if (env.standbyFlows) {
      let recs = await client.report();
      const until = now() + 5000;
      while (recs.some((r) => !seenAt.has(r.port)) && now() < until) {
        await sleep(20);
        recs = await client.report();
      }
      watching = false;
      await watcher;
      const lat = recs
        .filter((r) => seenAt.has(r.port))
        .map((r) => Math.max(0, seenAt.get(r.port)! - r.establishedAt));
      const p = percentiles(lat);
      syncLatency = p
        ? { ...p, missing: recs.length - lat.length }
        : { p50: 0, p95: 0, max: 0, missing: recs.length };
      lap('sync-latency');
      phases.polls = polls;
    }
    await env.changeRealServers();
    await sleep(settle / 2);
    const before = summarizeSurvival(await client.report(), {
      crashAt: now(),
      endAt: now(),
      stallMs: o.stallMs ?? 2000,
    });
    const lostBeforeCrash = before.lost.reset + before.lost.moved + before.lost.stalled;
    lap('change');
    const crashAt = now();
    await env.crashActive();
    const takeoverMs = await env.waitTakeover();
    lap('takeover');
    await sleep(settle);
    const endAt = now();
    const recs = await client.stop();
    lap('after');
    const summary = summarizeSurvival(recs, { crashAt, endAt, stallMs: o.stallMs ?? 2000 });
    const result: SurvivalResult = { summary, lostBeforeCrash, takeoverMs, phases };
    if (syncLatency) result.syncLatency = syncLatency;
    return result;
  } catch (err) {
    await client.stop().catch(() => []);
    throw err;
  } finally {
    watching = false;
    await watcher;
  }
}

/** What a lab provides to the returning-router scenario (host namespaces, or the VM pair lab). */
export interface ReturningEnv {
  startClient(conns: number, intervalMs: number): Promise<SurvivalClient>;
  /** The standby goes away and comes back (daemon killed -9 and started; in the VM: its namespace rebuilt). */
  restartStandby(): Promise<void>;
  /** Resolves once the returning standby's hold is gone (its resync done or timed out); ms it took. */
  waitResynced(): Promise<number>;
  /** `pulsectl release` on the active: the planned switchover to the returning router. */
  switchover(): Promise<void>;
  now?(): number;
  sleep?(ms: number): Promise<void>;
}

/** What the returning-router scenario measured. */
export interface ReturningResult {
  summary: SurvivalSummary;
  /** Restart → hold gone, ms (undefined when the switchover did not wait for it). */
  resyncMs?: number;
  phases: Record<string, number>;
}

/**
 * A planned switchover to a router that just came back: connections up, the standby restarted, then —
 * after its resync (`waitForResync`, what lvs-pulse does) or at once (what it would lose without the
 * gate) — a release to it, the connections watched and checked. The "crash" of the checker is the
 * switchover.
 */
export async function runReturningRouterScenario(
  env: ReturningEnv,
  o: SurvivalOptions & { waitForResync: boolean },
): Promise<ReturningResult> {
  const conns = o.conns ?? 50;
  const now = env.now ?? (() => Date.now());
  const sleep = env.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const phases: Record<string, number> = {};
  let t = now();
  const lap = (name: string) => {
    const n = now();
    phases[name] = n - t;
    t = n;
  };
  const client = await env.startClient(conns, o.intervalMs ?? 20);
  try {
    await client.ready(conns, 30_000);
    lap('connect');
    await env.restartStandby();
    lap('restart');
    const resyncMs = o.waitForResync ? await env.waitResynced() : undefined;
    lap('resync');
    const crashAt = now();
    await env.switchover();
    lap('switchover');
    await sleep(o.settleMs ?? 2000);
    const endAt = now();
    const recs = await client.stop();
    const summary = summarizeSurvival(recs, { crashAt, endAt, stallMs: o.stallMs ?? 2000 });
    return resyncMs === undefined ? { summary, phases } : { summary, resyncMs, phases };
  } catch (err) {
    await client.stop().catch(() => []);
    throw err;
  }
}
