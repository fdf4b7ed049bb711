/**
 * NannyPool: every nanny of the active router, one per real server of every active virtual server, all
 * driven by one heap scheduler. The daemon creates it from the config model, listens to its events, and
 * hands it each reloaded model. It reports real servers' states and weights only: whether a virtual's
 * sorry server goes in is the LB table's decision (src/ipvs/table.ts, sorryServerIn), made from these
 * weights.
 */
import { EventEmitter } from 'node:events';
import type { LvsModel, MonitorConfig, RealServer, VirtualServer } from '../config/model';
import type { Log } from '../lib/log';
import { createLoadSource } from './load';
import { createProbe, type EngineStatus, engineStatus } from './probes/index';
import { type Clock, HeapScheduler, type Scheduler, systemClock } from './scheduler';
import type { LastProbe, LoadSource, NannyEvent, Probe, ProbeResult, RealServerState } from './types';
import { Nanny } from './nanny';

/** Payload of the pool's `weight` event. */
export interface WeightEvent {
  vsName: string;
  rsName: string;
  address: string;
  port: number;
  /** New effective weight; null = remove from the LB table. */
  weight: number | null;
  state: RealServerState;
  reason: string;
}

/** What status() says about one real server. */
export interface RealServerStatus {
  name: string;
  address: string;
  port: number;
  /** Current effective weight; null = not in the table. */
  weight: number | null;
  configuredWeight: number;
  state: RealServerState;
  lastProbe?: LastProbe;
}

/** What status() says about one virtual server: its real servers. */
export interface VirtualServerStatus {
  name: string;
  realServers: RealServerStatus[];
}

/** Probe counters and recent samples, for metrics. */
export interface NannyStats {
  probesTotal: number;
  probesFailed: number;
  /** Timeouts judged during our own event-loop stall, not counted against the server (up to 3 in a row). */
  probesInconclusive: number;
  /** Recent sample (up to 1024) of probe durations, ms. */
  probeDurationsMs: number[];
  /** Recent sample (up to 1024) of how late probes started against their due time, ms. */
  latenessMs: number[];
  /** Real servers watched. */
  realServers: number;
}

/** What a pool is built from: the model and log, plus seams for tests and benchmarks. */
export interface NannyPoolOptions {
  model: LvsModel;
  log: Log;
  /**
   * Called after every probe with its result and how late its timer fired, e.g. to feed a metrics
   * histogram. Keep it cheap: it runs 10,000 times a second at scale.
   */
  observe?: (r: ProbeResult, latenessMs: number) => void;
  /** Test seams; production leaves them out. */
  clock?: Clock;
  /** Alternative scheduler (benchmarks); default a HeapScheduler on `clock`. */
  scheduler?: Scheduler;
  random?: () => number;
  createProbe?: (monitor: MonitorConfig, rs: RealServer, vs: VirtualServer) => Probe;
  createLoadSource?: (monitor: MonitorConfig, rs: RealServer, vs: VirtualServer) => LoadSource | undefined;
  /** Whether the probe engine runs (logged once at start); default: the process's engine. */
  engineStatus?: () => EngineStatus;
}

const SAMPLE = 1024;

/** Fixed-size ring of numbers, no allocation per push. */
class Ring {
  private readonly buf = new Float64Array(SAMPLE);
  private n = 0;
  push(v: number): void {
    this.buf[this.n % SAMPLE] = v;
    this.n++;
  }
  values(): number[] {
    return Array.from(this.buf.subarray(0, Math.min(this.n, SAMPLE)));
  }
}

interface Entry {
  key: string;
  vs: VirtualServer;
  nanny: Nanny;
}

/**
 * The pool. Event: `weight` ({@link WeightEvent}), one per change of a real server's state or weight.
 *
 * @example
 *   const pool = new NannyPool({ model, log });
 *   pool.on('weight', (e) => lb.setWeight(e.vsName, e.rsName, e.weight));
 *   pool.start();
 */
export class NannyPool extends EventEmitter {
  private model: LvsModel;
  private readonly log: Log;
  private readonly scheduler: Scheduler;
  private readonly observe: NannyPoolOptions['observe'];
  private readonly random: () => number;
  private readonly makeProbe: NonNullable<NannyPoolOptions['createProbe']>;
  private readonly makeLoad: NonNullable<NannyPoolOptions['createLoadSource']>;
  private readonly entries = new Map<string, Entry>();
  /** Keys `vs/rs` drained by the operator; kept across reloads. */
  private readonly drainedKeys = new Set<string>();
  private readonly engineStatus: () => EngineStatus;
  private engineLogged = false;
  private running = false;
  private probesTotal = 0;
  private probesFailed = 0;
  private probesInconclusive = 0;
  private readonly durations = new Ring();
  private readonly lateness = new Ring();
  private readyWaiters: (() => void)[] = [];

  constructor(o: NannyPoolOptions) {
    super();
    this.model = o.model;
    this.log = o.log.child({ component: 'nanny' });
    this.scheduler = o.scheduler ?? new HeapScheduler(o.clock ?? systemClock);
    this.observe = o.observe;
    this.random = o.random ?? Math.random;
    this.makeProbe = o.createProbe ?? ((m, rs, vs) => createProbe(m, rs, vs.protocol));
    this.makeLoad = o.createLoadSource ?? ((m, rs) => createLoadSource(m, rs));
    this.engineStatus = o.engineStatus ?? engineStatus;
    this.build(o.model);
  }

  /** Starts every nanny (the first start also logs which probe transport runs, and why). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.logEngine();
    for (const e of this.entries.values()) e.nanny.start();
  }

  /** Stops every nanny and timer. No events are emitted. */
  stop(): void {
    this.running = false;
    for (const e of this.entries.values()) e.nanny.stop();
    this.scheduler.clear();
  }

  /**
   * Applies a reloaded model. A real server with the same virtual name, real server name, address and port
   * keeps its nanny (state, counters, timer phase: no blip) and takes the new weight/monitor; new ones start
   * `unknown`; removed ones stop silently (they are gone from the model the LB table is built from).
   * Operator drains stay, keyed by `vs/rs`.
   */
  reconfigure(model: LvsModel): void {
    const old = this.entries;
    const keep = new Map<string, Entry>();
    for (const vs of this.activeVirtuals(model)) {
      for (const rs of vs.realServers) {
        if (!rs.active) continue;
        const key = `${vs.name}/${rs.name}`;
        const prev = old.get(key);
        if (prev && prev.nanny.rs.address === rs.address && prev.nanny.rs.port === rs.port) {
          prev.nanny.update(
            rs,
            vs.monitor,
            this.makeProbe(vs.monitor, rs, vs),
            this.makeLoad(vs.monitor, rs, vs),
          );
          prev.vs = vs;
          keep.set(key, prev);
        } else {
          keep.set(key, this.createEntry(vs, rs));
        }
      }
    }
    for (const [key, e] of old) {
      if (keep.get(key) !== e) {
        e.nanny.stop();
        this.log.info(`${e.nanny.label} no longer watched (removed or changed by reload)`, { vs: e.vs.name });
      }
    }
    old.clear();
    for (const [k, e] of keep) old.set(k, e);
    this.model = model;
    if (this.running) for (const e of this.entries.values()) e.nanny.start();
    this.checkReady();
  }

  /**
   * Drains matching real servers (weight 0, still probed). `selector`: `vsName/rsName`, `rsName` (in every
   * virtual), or `address:port` (`[v6]:port`). Kept across reloads. Returns how many matched.
   */
  drain(selector: string): number {
    const hits = this.match(selector);
    for (const e of hits) {
      this.drainedKeys.add(e.key);
      e.nanny.drain(`drained by operator (${selector})`);
    }
    return hits.length;
  }

  /** Undoes drain() for matching real servers. Returns how many matched. */
  enable(selector: string): number {
    const hits = this.match(selector);
    for (const e of hits) {
      this.drainedKeys.delete(e.key);
      e.nanny.enable(`enabled by operator (${selector})`);
    }
    return hits.length;
  }

  /** Per virtual server, per real server: effective weight, state and the last probe. */
  status(): VirtualServerStatus[] {
    const out: VirtualServerStatus[] = [];
    for (const vs of this.activeVirtuals(this.model)) {
      const realServers: RealServerStatus[] = [];
      for (const rs of vs.realServers) {
        const e = this.entries.get(`${vs.name}/${rs.name}`);
        if (!e) continue;
        const n = e.nanny;
        const s: RealServerStatus = {
          name: rs.name,
          address: rs.address,
          port: rs.port,
          weight: n.weight,
          configuredWeight: rs.weight,
          state: n.state,
        };
        if (n.lastProbe) s.lastProbe = { ...n.lastProbe };
        realServers.push(s);
      }
      out.push({ name: vs.name, realServers });
    }
    return out;
  }

  /**
   * Current effective weights, `vs/rs` → weight | null (null = not in the table). Right after start()
   * every undrained server is null (`unknown` until its first probe, which fires at once); drained ones are
   * 0. Await ready() first to build the table once with every first verdict in.
   */
  initialWeights(): Map<string, number | null> {
    const m = new Map<string, number | null>();
    for (const [k, e] of this.entries) m.set(k, e.nanny.weight);
    return m;
  }

  /** Resolves when every real server has had its first probe result (or immediately if none is pending). */
  ready(): Promise<void> {
    if (this.allDecided()) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** Counters and recent samples for metrics. */
  stats(): NannyStats {
    return {
      probesTotal: this.probesTotal,
      probesFailed: this.probesFailed,
      probesInconclusive: this.probesInconclusive,
      probeDurationsMs: this.durations.values(),
      latenessMs: this.lateness.values(),
      realServers: this.entries.size,
    };
  }

  // ---- internals -------------------------------------------------------------------------------------

  private activeVirtuals(model: LvsModel): VirtualServer[] {
    return model.virtualServers.filter((v) => v.active);
  }

  private build(model: LvsModel): void {
    for (const vs of this.activeVirtuals(model)) {
      for (const rs of vs.realServers) {
        if (!rs.active) continue;
        const e = this.createEntry(vs, rs);
        this.entries.set(e.key, e);
      }
    }
  }

  private createEntry(vs: VirtualServer, rs: RealServer): Entry {
    const key = `${vs.name}/${rs.name}`;
    const nanny = new Nanny({
      vs: vs.name,
      rs,
      monitor: vs.monitor,
      probe: this.makeProbe(vs.monitor, rs, vs),
      loadSource: this.makeLoad(vs.monitor, rs, vs),
      scheduler: this.scheduler,
      log: this.log,
      random: this.random,
      drained: this.drainedKeys.has(key),
      onEvent: this.onEvent,
      onProbe: this.onProbe,
    });
    return { key, vs, nanny };
  }

  private readonly onProbe = (r: ProbeResult, latenessMs: number): void => {
    this.probesTotal++;
    if (r.inconclusive) this.probesInconclusive++;
    else if (!r.ok) this.probesFailed++;
    this.durations.push(r.ms);
    this.lateness.push(latenessMs);
    this.observe?.(r, latenessMs);
  };

  private readonly onEvent = (e: NannyEvent): void => {
    const ev: WeightEvent = {
      vsName: e.vs,
      rsName: e.rs,
      address: e.address,
      port: e.port,
      weight: e.weight,
      state: e.state,
      reason: e.reason,
    };
    this.emit('weight', ev);
    this.checkReady();
  };

  /**
   * Once per pool: which transport the tcp, send/expect and HTTP probes run on. The engine's absence is a
   * warning with its reason (an ABI mismatch, a kernel without epoll, a switch): the probes still run, on
   * net/tls sockets, at a higher CPU cost per probe.
   */
  private logEngine(): void {
    if (this.engineLogged) return;
    this.engineLogged = true;
    const s = this.engineStatus();
    if (s.available)
      this.log.info('probe sockets: the engine (epoll)', { transport: 'engine', ipv6: s.ipv6 ?? false });
    else
      this.log.warn(`probe engine not used: ${s.why}; probes run on net/tls sockets`, {
        transport: 'net',
        why: s.why,
      });
  }

  private allDecided(): boolean {
    for (const e of this.entries.values()) if (!e.nanny.decided && !e.nanny.drained) return false;
    return true;
  }

  private checkReady(): void {
    if (this.readyWaiters.length === 0 || !this.allDecided()) return;
    const w = this.readyWaiters;
    this.readyWaiters = [];
    for (const f of w) f();
  }

  private match(selector: string): Entry[] {
    const all = [...this.entries.values()];
    const slash = selector.indexOf('/');
    if (slash > 0) return all.filter((e) => e.key === selector);
    const ap = /^\[?([0-9a-fA-F:.]+)\]?:(\d+)$/.exec(selector);
    if (ap && (selector.includes('.') || selector.startsWith('['))) {
      const port = Number(ap[2]);
      return all.filter((e) => e.nanny.rs.address === ap[1] && e.nanny.rs.port === port);
    }
    return all.filter((e) => e.nanny.rs.name === selector);
  }
}
