/**
 * The nanny of one real server: its own probe timer and state machine, pure (probe, load source, time and
 * output are injected). Piranha's nanny semantics come out when configured the Piranha way — `fall` 1 (one
 * failed probe removes the server), `rise` = reentry/timeout successes to come back, `quiesce` = weight 0
 * instead of removal — and the modern knobs (interval, rise/fall, jitter, slow start, load_monitor,
 * weight feedback) are the same machine with other numbers.
 *
 * Start-up policy: a real server starts `unknown` (not in the table); its first probe fires at once (spread
 * by up to `jitterMs`) and the first result decides directly — one success = up at the configured weight (no
 * rise count, no slow start), one failure = down. Traffic is never sent to an unverified server, and
 * healthy servers join within one probe round-trip.
 */
import { hostPort } from '../lib/addr';
import type { MonitorConfig, RealServer } from '../config/model';
import type { Log } from '../lib/log';
import { type Scheduler, TimerEntry } from './scheduler';
import type { LastProbe, LoadSource, NannyEvent, Probe, ProbeResult, RealServerState } from './types';
import { loadMonitorStep, SlowStart } from './weights';

/** Extra time past the probe timeout after which a probe that never settled counts as failed. */
export const WATCHDOG_GRACE_MS = 1000;
/** Inconclusive probes (timeouts judged during our own event-loop stall) in a row that are not counted. */
export const MAX_INCONCLUSIVE = 3;
/** Default load_monitor reading period, ms. */
export const DEFAULT_LOAD_INTERVAL_MS = 5000;

/** What one nanny is built from: its real server and monitor, the probe, the clock and the output. */
export interface NannyOptions {
  vs: string;
  rs: RealServer;
  monitor: MonitorConfig;
  probe: Probe;
  /** load_monitor reader; absent = no load-based weights. */
  loadSource?: LoadSource;
  scheduler: Scheduler;
  log: Log;
  onEvent: (e: NannyEvent) => void;
  /** Called after every probe with its result and how late the timer fired it (for metrics). */
  onProbe?: (r: ProbeResult, latenessMs: number) => void;
  /** Uniform [0,1) source for jitter; default Math.random. */
  random?: () => number;
  /** Start drained (operator drain kept across reloads). */
  drained?: boolean;
}

/** The nanny of one real server: its probe timer, counts, state and effective weight. */
export class Nanny {
  readonly vs: string;
  rs: RealServer;
  monitor: MonitorConfig;
  private probe: Probe;
  private loadSource: LoadSource | undefined;
  private readonly scheduler: Scheduler;
  private readonly log: Log;
  private readonly onEvent: (e: NannyEvent) => void;
  private readonly onProbe: ((r: ProbeResult, latenessMs: number) => void) | undefined;
  private readonly random: () => number;

  private health: 'unknown' | 'up' | 'down' = 'unknown';
  private drainedFlag: boolean;
  private okRun = 0;
  private failRun = 0;
  private inconclusiveRun = 0;
  private slow: SlowStart | undefined;
  private loadWeight: number;
  private feedbackWeight: number | undefined;

  private pubState: RealServerState = 'unknown';
  private pubWeight: number | null = null;

  private running = false;
  /** Bumped by stop(): callbacks of an earlier run are ignored. */
  private gen = 0;
  private inFlight = false;
  private seq = 0;
  private dueAt = 0;
  private lastLateness = 0;
  private loadInFlight = false;
  private last: LastProbe | undefined;

  private readonly probeTimer = new TimerEntry((late) => this.runProbe(late));
  private readonly watchdog = new TimerEntry((late) => this.onWatchdog(late));
  private readonly slowTimer = new TimerEntry(() => this.onSlowStep());
  private readonly loadTimer = new TimerEntry(() => this.runLoad());

  constructor(o: NannyOptions) {
    this.vs = o.vs;
    this.rs = o.rs;
    this.monitor = o.monitor;
    this.probe = o.probe;
    this.loadSource = o.loadSource;
    this.scheduler = o.scheduler;
    this.log = o.log;
    this.onEvent = o.onEvent;
    this.onProbe = o.onProbe;
    this.random = o.random ?? Math.random;
    this.drainedFlag = o.drained ?? false;
    this.loadWeight = o.rs.weight;
    if (this.drainedFlag) {
      this.pubState = 'drained';
      this.pubWeight = 0;
    }
  }

  /** `rs1 198.18.1.21:80` — the prefix of every log line. */
  get label(): string {
    return `${this.rs.name} ${hostPort(this.rs.address, this.rs.port)}`;
  }

  /** Published state (`drained` overrides health). */
  get state(): RealServerState {
    return this.pubState;
  }

  /** Effective weight in the LB table; null = not in the table. */
  get weight(): number | null {
    return this.pubWeight;
  }

  get drained(): boolean {
    return this.drainedFlag;
  }

  /** True once the first probe result is in (or the server is drained). */
  get decided(): boolean {
    return this.health !== 'unknown';
  }

  get lastProbe(): LastProbe | undefined {
    return this.last;
  }

  /** Starts probing: the first probe fires after a uniform random delay in [0, min(jitter, interval)). */
  start(): void {
    if (this.running) return;
    this.running = true;
    const spread = Math.min(this.monitor.jitterMs, this.monitor.intervalMs);
    this.dueAt = this.scheduler.now() + (spread > 0 ? this.random() * spread : 0);
    this.scheduler.schedule(this.probeTimer, this.dueAt);
    this.armLoad();
  }

  /** Stops every timer; a probe still in flight is ignored when it settles. No event is emitted. */
  stop(): void {
    this.running = false;
    this.gen++;
    this.seq++;
    this.inFlight = false;
    this.loadInFlight = false;
    for (const t of [this.probeTimer, this.watchdog, this.slowTimer, this.loadTimer])
      this.scheduler.cancel(t);
    this.probe.dispose?.();
  }

  /** Operator drain (weight 0, keeps probing). Returns false if already drained. */
  drain(reason = 'drained by operator'): boolean {
    if (this.drainedFlag) return false;
    this.drainedFlag = true;
    this.publish(reason, 'info');
    return true;
  }

  /** Operator enable: back to what the probes say. Returns false if it was not drained. */
  enable(reason = 'enabled by operator'): boolean {
    if (!this.drainedFlag) return false;
    this.drainedFlag = false;
    this.publish(reason, 'info');
    return true;
  }

  /**
   * Applies a reload for the same address and port without resetting state: a new configured weight applies
   * at once (ending any slow start), a new monitor (timing, counts, quiesce, probe) applies from the next
   * probe.
   */
  update(rs: RealServer, monitor: MonitorConfig, probe: Probe, loadSource: LoadSource | undefined): void {
    const oldWeight = this.rs.weight;
    const oldInterval = this.monitor.intervalMs;
    this.rs = rs;
    this.monitor = monitor;
    if (probe !== this.probe) this.probe.dispose?.();
    this.probe = probe;
    this.loadSource = loadSource;
    if (rs.weight !== oldWeight) {
      this.endSlowStart();
      this.loadWeight = rs.weight;
    }
    if (this.running && !this.inFlight && monitor.intervalMs !== oldInterval) {
      this.dueAt = Math.max(this.scheduler.now(), this.dueAt - oldInterval + monitor.intervalMs);
      this.scheduler.schedule(this.probeTimer, this.dueAt);
    }
    if (this.running) this.armLoad();
    this.publish(
      rs.weight !== oldWeight ? `configured weight ${oldWeight} -> ${rs.weight}` : 'reload',
      'info',
    );
  }

  // ---- probing -------------------------------------------------------------------------------------

  private runProbe(lateness: number): void {
    if (!this.running) return;
    this.inFlight = true;
    this.lastLateness = lateness;
    const seq = ++this.seq;
    this.scheduler.schedule(this.watchdog, this.scheduler.now() + this.monitor.timeoutMs + WATCHDOG_GRACE_MS);
    let p: Promise<ProbeResult>;
    try {
      p = this.probe();
    } catch (err) {
      p = Promise.resolve({ ok: false, detail: `probe error: ${(err as Error).message}`, ms: 0 });
    }
    p.then(
      (r) => this.settle(seq, r),
      (err: unknown) =>
        this.settle(seq, { ok: false, detail: `probe error: ${(err as Error)?.message ?? err}`, ms: 0 }),
    );
  }

  private onWatchdog(late: number): void {
    if (!this.inFlight) return;
    const limit = this.monitor.timeoutMs + WATCHDOG_GRACE_MS;
    const r: ProbeResult = { ok: false, detail: `probe did not finish within ${limit} ms`, ms: limit };
    if (late > WATCHDOG_GRACE_MS / 2) {
      r.inconclusive = true;
      r.detail += ` (our event loop ${Math.round(late)} ms late)`;
    }
    this.settle(this.seq, r);
  }

  private settle(seq: number, r: ProbeResult): void {
    if (seq !== this.seq || !this.inFlight || !this.running) return;
    this.inFlight = false;
    this.seq++; // a late settle of this probe is ignored
    this.scheduler.cancel(this.watchdog);
    this.last = { ok: r.ok, detail: r.detail, atMs: this.scheduler.clock.wallNow(), ms: r.ms };
    this.onProbe?.(r, this.lastLateness);
    this.judge(r);
    // Fixed rate from the previous due time; never two probes of one server at once.
    const now = this.scheduler.now();
    this.dueAt += this.monitor.intervalMs;
    if (this.dueAt < now) this.dueAt = now;
    if (this.running) this.scheduler.schedule(this.probeTimer, this.dueAt);
  }

  /** The state machine: rise/fall counting and transitions. */
  private judge(r: ProbeResult): void {
    const { fall, rise } = this.monitor;
    if (r.inconclusive && this.inconclusiveRun < MAX_INCONCLUSIVE) {
      this.inconclusiveRun++;
      this.log.debug(
        `${this.label} probe not counted: ${r.detail} (${this.inconclusiveRun}/${MAX_INCONCLUSIVE})`,
        this.fields(),
      );
      return;
    }
    this.inconclusiveRun = 0;
    if (r.ok) this.feedbackWeight = r.weight;
    if (this.health === 'unknown') {
      this.health = r.ok ? 'up' : 'down';
      this.okRun = r.ok ? 1 : 0;
      this.failRun = r.ok ? 0 : 1;
      this.loadWeight = this.rs.weight;
      this.publish(`${r.detail} (first probe)`, r.ok ? 'info' : 'warn');
      return;
    }
    if (this.health === 'up') {
      if (r.ok) {
        this.failRun = 0;
        this.publish(r.detail, 'debug'); // feedback weight may have changed
        return;
      }
      this.failRun++;
      if (this.failRun >= fall) {
        this.health = 'down';
        this.okRun = 0;
        this.endSlowStart();
        this.publish(`${r.detail} (fall ${this.failRun}/${fall})`, 'warn');
      } else {
        this.log.debug(
          `${this.label} probe failed: ${r.detail} (fall ${this.failRun}/${fall})`,
          this.fields(),
        );
      }
      return;
    }
    // down
    if (!r.ok) {
      this.okRun = 0;
      this.failRun++;
      return;
    }
    this.okRun++;
    if (this.okRun >= rise) {
      this.health = 'up';
      this.failRun = 0;
      this.loadWeight = this.rs.weight;
      this.beginSlowStart();
      this.publish(`${r.detail} (rise ${this.okRun}/${rise})`, 'info');
    } else {
      this.log.debug(`${this.label} probe ok: ${r.detail} (rise ${this.okRun}/${rise})`, this.fields());
    }
  }

  // ---- weights -------------------------------------------------------------------------------------

  private beginSlowStart(): void {
    this.endSlowStart();
    if (!(this.monitor.slowStartMs > 0)) return;
    const ss = new SlowStart(this.rs.weight, this.monitor.slowStartMs);
    if (ss.done) return;
    this.slow = ss;
    this.scheduler.schedule(this.slowTimer, this.scheduler.now() + ss.stepMs);
  }

  private endSlowStart(): void {
    this.slow = undefined;
    this.scheduler.cancel(this.slowTimer);
  }

  private onSlowStep(): void {
    const ss = this.slow;
    if (!ss || !this.running) return;
    ss.step();
    if (ss.done) this.slow = undefined;
    else this.scheduler.schedule(this.slowTimer, this.scheduler.now() + ss.stepMs);
    this.publish(`slow start ${ss.current}/${ss.target}`, 'debug');
  }

  private armLoad(): void {
    if (!this.loadSource) {
      this.scheduler.cancel(this.loadTimer);
      return;
    }
    if (this.loadTimer.scheduled) return;
    const every = this.monitor.loadIntervalMs ?? DEFAULT_LOAD_INTERVAL_MS;
    this.scheduler.schedule(this.loadTimer, this.scheduler.now() + every);
  }

  private runLoad(): void {
    if (!this.running) return;
    const src = this.loadSource;
    if (!src) return;
    this.armLoad();
    if (this.loadInFlight || this.health !== 'up') return;
    this.loadInFlight = true;
    const gen = this.gen;
    const done = (load: number | undefined, detail: string): void => {
      if (gen !== this.gen) return; // stopped meanwhile
      this.loadInFlight = false;
      if (load === undefined) {
        this.log.debug(`${this.label} load reading failed: ${detail}`, this.fields());
        return;
      }
      if (this.health !== 'up' || this.slow) return;
      const next = loadMonitorStep(this.rs.weight, this.loadWeight, load);
      if (next === this.loadWeight) return;
      this.loadWeight = next;
      this.publish(`load ${load.toFixed(2)}: weight ${next}`, 'debug');
    };
    src().then(
      (r) => done(r.ok ? r.load : undefined, r.detail),
      (err: unknown) => done(undefined, String(err)),
    );
  }

  /** The weight the table should have now. */
  private effectiveWeight(): number | null {
    if (this.drainedFlag) return 0;
    if (this.health === 'unknown') return null;
    if (this.health === 'down') return this.monitor.quiesce ? 0 : null;
    const target = this.feedbackWeight ?? (this.loadSource ? this.loadWeight : this.rs.weight);
    return this.slow ? Math.min(this.slow.current, target) : target;
  }

  private fields(): Record<string, unknown> {
    return { vs: this.vs, rs: this.rs.name, address: this.rs.address, port: this.rs.port };
  }

  /** Emits an event and logs when the published state or weight changed. */
  private publish(reason: string, level: 'debug' | 'info' | 'warn'): void {
    const state: RealServerState = this.drainedFlag ? 'drained' : this.health;
    const weight = this.effectiveWeight();
    if (state === this.pubState && weight === this.pubWeight) return;
    const stateChanged = state !== this.pubState;
    this.pubState = state;
    this.pubWeight = weight;
    const w = weight === null ? 'out of table' : `weight ${weight}`;
    const fields = { ...this.fields(), state, weight, reason };
    if (stateChanged) {
      this.log[level === 'debug' ? 'info' : level](`${this.label} ${state.toUpperCase()}: ${reason}`, fields);
    } else this.log[level](`${this.label} ${w}: ${reason}`, fields);
    this.onEvent({
      vs: this.vs,
      rs: this.rs.name,
      address: this.rs.address,
      port: this.rs.port,
      state,
      weight,
      reason,
    });
  }
}
