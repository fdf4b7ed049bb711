/**
 * NannyPool: every nanny of the active router, one per real server of every active virtual server, all
 * driven by one heap scheduler. The daemon creates it from the config model, listens to its events, and
 * hands it each reloaded model.
 */
import { EventEmitter } from 'node:events';
import type { LvsModel, MonitorConfig, RealServer, VirtualServer } from '../config/model';
import type { Log } from '../lib/log';
import { createLoadSource } from './load';
import { createProbe } from './probes/index';
import { type Clock, HeapScheduler, type Scheduler, systemClock } from './scheduler';
import type { LastProbe, LoadSource, NannyEvent, Probe, ProbeResult, RealServerState } from './types';
import { Nanny } from './worker';

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

/** Payload of the pool's `sorry` event: the sorry server goes in (`on`) or out. */
export interface SorryEvent {
  vsName: string;
  on: boolean;
}

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

export interface VirtualServerStatus {
  name: string;
  sorry: boolean;
  realServers: RealServerStatus[];
}

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
  workers: number;
}

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
 * The pool. Events: `weight` ({@link WeightEvent}), `sorry` ({@link SorryEvent}).
 *
 * @example
 *   const pool = new NannyPool({ model, log });
 *   pool.on('weight', (e) => table.setWeight(e.vsName, e.rsName, e.weight));
 *   pool.on('sorry', (e) => table.setSorry(e.vsName, e.on));
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
  private readonly sorry = new Map<string, boolean>();
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
    this.build(o.model);
  }

  /** Starts every nanny; a virtual server with no real server at all gets its sorry server at once. */
  start(): void {
    if (this.running) return;
    this.running = true;
    for (const e of this.entries.values()) e.nanny.start();
    for (const vs of this.activeVirtuals(this.model)) this.updateSorry(vs.name);
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
    const names = new Set(this.activeVirtuals(model).map((v) => v.name));
    for (const name of [...this.sorry.keys()]) if (!names.has(name)) this.sorry.delete(name);
    if (this.running) {
      for (const e of this.entries.values()) e.nanny.start();
      for (const name of names) this.updateSorry(name);
    }
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
      out.push({ name: vs.name, sorry: this.sorry.get(vs.name) ?? false, realServers });
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

  /** Whether the sorry server of `vsName` is in. */
  sorryOn(vsName: string): boolean {
    return this.sorry.get(vsName) ?? false;
  }

  /** Counters and recent samples for metrics. */
  stats(): NannyStats {
    return {
      probesTotal: this.probesTotal,
      probesFailed: this.probesFailed,
      probesInconclusive: this.probesInconclusive,
      probeDurationsMs: this.durations.values(),
      latenessMs: this.lateness.values(),
      workers: this.entries.size,
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
    this.updateSorry(e.vs);
    this.checkReady();
  };

  /** Sorry server in iff no real server of the virtual can take new connections (up with weight > 0) and
   *  none is still waiting for its first probe. */
  private updateSorry(vsName: string): void {
    if (!this.running) return;
    const vs = this.model.virtualServers.find((v) => v.name === vsName && v.active);
    if (!vs?.sorryServer) return;
    let serving = false;
    let pending = false;
    for (const rs of vs.realServers) {
      const n = this.entries.get(`${vsName}/${rs.name}`)?.nanny;
      if (!n) continue;
      if (n.state === 'up' && (n.weight ?? 0) > 0) serving = true;
      else if (n.state === 'unknown') pending = true;
    }
    const on = !serving && !pending;
    if ((this.sorry.get(vsName) ?? false) === on) return;
    this.sorry.set(vsName, on);
    const where = `${vs.sorryServer.address}:${vs.sorryServer.port}`;
    this.log[on ? 'warn' : 'info'](
      on ? `${vsName} sorry server ${where} IN: no real server is up` : `${vsName} sorry server ${where} OUT`,
      { vs: vsName, sorry: on },
    );
    const ev: SorryEvent = { vsName, on };
    this.emit('sorry', ev);
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
