/**
 * The daemon: wires config → heartbeat → takeover → LB table → nannies, and the operator surfaces
 * (control socket, metrics, sd_notify, signals). Everything that decides lives in the concerns' cores;
 * this file only connects their events and turns failures into logged, reported errors.
 *
 * The order of effects is the daemon's own rule, and the unit tests hold it (test/unit/daemon/daemon.test.ts,
 * with the fake parts of ./parts.ts):
 * - start: the LB table gets the nannies' first verdicts before the heartbeat starts, so before any claim;
 * - becoming active: the VIPs are claimed first (the first GARP leaves inside claim(), in the same tick as
 *   the transition) — except that with conntrackd running, its commit of the peer's flows comes first
 *   (bounded, docs/sync.md) — and the LB table and the connection sync learn the role once the claim has
 *   settled;
 * - leaving active: the VIPs are released (after an earlier claim has settled), then the LB table learns
 *   the role;
 * - stale VIPs of an earlier run are cleared only after the first role decision, which sends READY=1;
 * - graceful stop: the heartbeat's farewell first (the peer confirms active), and only then are the VIPs
 *   released (on the heartbeat's move out of active, and once more after it), reply routing removed, the
 *   nannies stopped and the LB entries kept or cleared;
 * - reload: a file with errors touches nothing; a good one goes to every part as a new model (each
 *   applies only its difference).
 */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { configHash, diffModels, loadConfig } from '../config';
import { ConfigError, type LvsModel, type NodeName } from '../config/model';
import { replyRoutingPlan } from '../ipvs';
import type { Log } from '../lib/log';
import { daemonLibc } from '../lib/libc';
import type { Caller, ConsoleAccount } from './access';
import { ControlServer } from './control';
import { buildRegistry, serveMetrics } from './metrics';
import {
  type ConnSyncPart,
  type DaemonLog,
  type DaemonParts,
  type HeartbeatPart,
  type LbTablePart,
  type NannyPoolPart,
  type ReplyRoutingPart,
  realParts,
  type TakeoverPart,
} from './parts';
import type { ControlCommand } from './protocol';
import { type Notifier, startWatchdog } from './sdnotify';
import { type StatusJson, syncStatusJson, type TransitionRecord } from './status';
import { validateOffThread } from './validate';
import type { RouterState } from '../heartbeat';

/** How `pulse` runs the daemon (its command-line options), plus the parts for tests. */
export interface DaemonOptions {
  /** The configuration file (lvs.cf, YAML or JSON); read again on every reload. */
  configPath: string;
  /** Directory of the control socket (created 0700). */
  runDir: string;
  /** Overrides the configuration's `debug_level`. */
  logLevel?: 'error' | 'warn' | 'info' | 'debug';
  /** Which router this is (default: detected from the local addresses). */
  node?: NodeName;
  /** Log to syslog as well as stderr (default true). */
  syslog?: boolean;
  /** Install SIGTERM/SIGINT/SIGHUP handlers (default true; tests drive stop()/reload() directly). */
  signals?: boolean;
  /**
   * The account the web console runs as (default `lvs-pulse`; empty: none, only root may use the control
   * socket). It may connect to the socket and run the commands of ./access.ts's grant table.
   */
  consoleUser?: string;
  /** Replaces some of the parts (default: the real ones, ./parts.ts); for tests. */
  parts?: Partial<DaemonParts>;
}

interface Transition {
  from: RouterState;
  to: RouterState;
  reason: string;
  evidence: string;
}

/** The web console's account when `--console-user` is not given. */
export const DEFAULT_CONSOLE_USER = 'lvs-pulse';

/** Reconcile VIPs and the LB table this often, to repair hand edits and crashes. */
const RECONCILE_MS = 2000;

/**
 * One running router: `start()` builds and connects the parts, the heartbeat's transitions drive the
 * takeover and the LB table, `handle()` serves the control socket, `reload()` applies a new file, and
 * `stop()` hands over gracefully. `done` resolves after a signal-initiated stop.
 */
export class Daemon {
  /** The configuration in force (replaced by a good reload). */
  model: LvsModel;
  /** The daemon's logger (stderr + syslog); every part logs through a child of it. */
  readonly log: DaemonLog;
  private readonly parts: DaemonParts;
  private hb!: HeartbeatPart;
  private takeover!: TakeoverPart;
  private lb!: LbTablePart;
  private nanny!: NannyPoolPart;
  private control?: ControlServer;
  private metricsServer?: Server;
  private readonly notifier: Notifier;
  private stopWatchdog: () => void = () => {};
  private reconcileTimer?: NodeJS.Timeout;
  private replyRouting!: ReplyRoutingPart;
  private sync: ConnSyncPart | undefined;
  private role: RouterState = 'starting';
  private since = new Date();
  private loadedAt = new Date();
  private hash: string;
  private readonly transitions: TransitionRecord[] = [];
  private readonly transitionCounts: Record<string, number> = {};
  private readonly subscribers = new Set<(e: unknown) => void>();
  private readonly warnings: string[] = [];
  private readonly roleWaiters = new Set<() => void>();
  /** Probe durations since the last scrape (bounded). */
  private probeDurations: number[] = [];
  private decided = false;
  private stopping?: Promise<void>;
  /** Serialises role side effects so claim/release never interleave. */
  private chain: Promise<void> = Promise.resolve();
  private stopped!: () => void;
  /** The reloads asked so far, chained (one at a time). */
  private reloads: Promise<void> = Promise.resolve();
  /** Resolves when a SIGTERM/SIGINT-initiated stop has finished. */
  readonly done: Promise<void>;

  /** @param loaded the validated configuration (its warnings are logged with FILE:LINE:COL). */
  constructor(
    readonly opts: DaemonOptions,
    loaded: { model: LvsModel; warnings: { file: string; line: number; col: number; message: string }[] },
  ) {
    this.parts = { ...realParts, ...opts.parts };
    this.model = loaded.model;
    this.log = this.parts.logger({ level: opts.logLevel ?? loaded.model.logLevel, syslog: opts.syslog });
    this.notifier = this.parts.notifier();
    for (const w of loaded.warnings) this.log.warn(`config: ${w.file}:${w.line}:${w.col}: ${w.message}`);
    this.hash = configHash(this.model);
    this.done = new Promise((r) => {
      this.stopped = r;
    });
  }

  private component(name: string): Log {
    return this.log.child({ component: name });
  }

  private publish(type: string, msg: string, data: Record<string, unknown> = {}): void {
    const ev = { time: new Date().toISOString(), type, msg, ...data };
    for (const s of this.subscribers) {
      try {
        s(ev);
      } catch {
        /* a follower that fails is dropped by its socket */
      }
    }
  }

  /**
   * Builds the parts and brings them up in order: takeover (sockets, frames), LB table, nannies (first
   * verdicts, bounded), heartbeat, control socket, metrics, reply routing, the periodic reconcile.
   * @throws when a part cannot start (runDaemon then stops the others and exits 1).
   */
  async start(): Promise<void> {
    const m = this.model;
    mkdirSync(this.opts.runDir, { recursive: true, mode: 0o700 });
    this.log.info('starting', { config: this.opts.configPath, serial_no: m.serialNo, hash: this.hash });
    if (m.heartbeat.auth === 'none' || !m.heartbeat.keyFile) {
      const w =
        'heartbeats are NOT authenticated (no heartbeat_key_file): anyone on the link can force a failover';
      this.warnings.push(w);
      this.log.warn(w);
    }

    this.takeover = this.parts.takeover({ model: m, log: this.component('takeover') });
    this.replyRouting = this.parts.replyRouting(this.component('lb'));
    await this.takeover.open();

    this.lb = this.parts.lbTable({ model: m, log: this.component('lb') });
    await this.lb.init();
    this.lb.on('fault', (f: { on: boolean; detail: string }) => {
      this.publish('lb-fault', f.detail, { on: f.on });
      if (this.model.hardShutdown) this.hb?.setFault('lb', f.on, f.detail);
    });

    this.nanny = this.parts.nannyPool({
      model: m,
      log: this.log,
      observe: (r) => {
        if (this.probeDurations.length < 4096) this.probeDurations.push(r.ms);
      },
    });
    // First verdicts before the first LB apply: after a restart the kernel table still holds the real
    // servers of the earlier run, and applying "unknown = out" would blip them. Bounded by the probe timeout.
    this.nanny.start();
    const firstVerdictMs = Math.min(
      2000,
      100 + Math.max(0, ...m.virtualServers.map((v) => v.monitor.timeoutMs + v.monitor.jitterMs)),
    );
    let verdictTimer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.nanny.ready(),
      new Promise((r) => {
        verdictTimer = setTimeout(r, firstVerdictMs);
      }),
    ]);
    clearTimeout(verdictTimer);
    for (const [key, weight] of this.nanny.initialWeights()) {
      const [vs, rs] = splitKey(key);
      this.lb.setWeight(vs, rs, weight);
    }
    this.nanny.on(
      'weight',
      (e: { vsName: string; rsName: string; weight: number | null; state: string; reason: string }) => {
        this.lb.setWeight(e.vsName, e.rsName, e.weight);
        this.publish('realserver', `${e.vsName}/${e.rsName} ${e.state}: ${e.reason}`, e);
      },
    );

    this.hb = this.parts.heartbeat({
      model: m,
      node: this.opts.node,
      log: this.component('heartbeat'),
      configHash: this.hash,
    });
    this.hb.on('transition', (t: Transition) => this.onTransition(t));
    this.hb.on('reannounce', () => {
      this.takeover.reannounce();
    });
    this.hb.on('peer-config-mismatch', (d: { peer: string; ours: string; theirs: string }) => {
      this.log.warn('peer LB configuration differs from ours', d);
    });

    this.control = new ControlServer(
      this.opts.runDir,
      { handle: (c, caller) => this.handle(c, caller), subscribe: (s) => this.subscribe(s) },
      this.component('control'),
      { console: this.consoleAccount(), configPath: this.opts.configPath },
    );
    await this.control.listen();

    if (m.metrics.listen === '') this.log.info('metrics endpoint off (metrics_listen is empty)');
    else
      try {
        this.metricsServer = await serveMetrics(buildRegistry(this.metricsSource()), m.metrics.listen);
      } catch (err) {
        this.log.error('metrics endpoint not started', {
          listen: m.metrics.listen,
          error: (err as Error).message,
        });
      }

    // Connection sync (src/ipvs/sync.ts): its hold (a returning router's resync) is set before the heartbeat
    // starts; its start is not awaited here, so a slow conntrackd never delays the heartbeat.
    this.sync = this.parts.connSync({
      model: m,
      log: this.component('sync'),
      backend: this.lb.status().backend,
      runDir: this.opts.runDir,
      ...(this.opts.node ? { node: this.opts.node } : {}),
    });
    this.sync.on('hold', (h: { on: boolean; detail: string }) => {
      this.hb.setHold(h.on, h.detail);
      this.log.info(h.on ? `voluntary takeovers held: ${h.detail}` : 'voluntary takeovers allowed again', {
        op: 'sync',
        hold: h.on,
      });
      this.publish('sync-hold', `${h.on ? 'hold' : 'hold released'}: ${h.detail}`, { on: h.on });
    });
    this.sync.on('fault', (f: { on: boolean; detail: string }) =>
      this.publish('sync-fault', f.detail, { on: f.on }),
    );
    this.sync.on('resync', (r: { result: string; ms: number; entries?: number }) =>
      this.publish('sync-resync', `connection resync ${r.result} in ${Math.round(r.ms)} ms`, r),
    );
    const syncStarted = this.sync.start();
    await this.hb.start();
    await this.syncReplyRouting();
    this.reconcileTimer = setInterval(() => this.reconcile(), RECONCILE_MS);
    this.stopWatchdog = startWatchdog(this.notifier);
    this.startGcPressure();
    if (this.opts.signals !== false) this.installSignals();
    await syncStarted;
  }

  /** The console's account (`consoleUser`), looked up in the user database; undefined: root only. */
  private consoleAccount(): ConsoleAccount | undefined {
    const name = this.opts.consoleUser ?? DEFAULT_CONSOLE_USER;
    if (name === '') return undefined;
    let acct: ConsoleAccount | undefined;
    try {
      acct = daemonLibc().getpwnam(name);
    } catch (err) {
      this.log.warn('cannot look up the console user: only root may use the control socket', {
        user: name,
        error: (err as Error).message,
      });
      return undefined;
    }
    if (!acct) {
      this.log.info(`console user ${name} does not exist: only root may use the control socket`, {
        user: name,
      });
      return undefined;
    }
    if (acct.uid === 0) return undefined;
    return acct;
  }

  private onTransition(t: Transition): void {
    // Claim before anything else: the first GARP of every VIP leaves inside claim(), synchronously (after
    // conntrackd's commit, when it runs: see claimVips).
    const claim = t.to === 'active' ? this.claimVips(t.reason) : undefined;
    this.role = t.to;
    this.since = new Date();
    for (const w of [...this.roleWaiters]) w();
    const rec = { at: this.since.toISOString(), ...t };
    this.transitions.push(rec);
    if (this.transitions.length > 50) this.transitions.shift();
    this.transitionCounts[t.reason] = (this.transitionCounts[t.reason] ?? 0) + 1;
    // The heartbeat component logs the transition with its evidence; here it only fans out.
    this.publish('transition', `${t.from} -> ${t.to}: ${t.evidence || t.reason}`, rec);
    this.notifier.notify({ STATUS: `${t.to}: ${t.evidence || t.reason}`.slice(0, 200) });
    if (claim) {
      this.enqueue(async () => {
        await claim;
        this.lb.onRole('active');
        void this.sync?.onRole('active');
      });
    } else if (t.from === 'active') {
      this.enqueue(async () => {
        await this.takeover.release(t.reason);
        this.lb.onRole(t.to);
        void this.sync?.onRole(t.to);
      });
    } else {
      this.lb.onRole(t.to);
      void this.sync?.onRole(t.to);
    }
    if (!this.decided && (t.to === 'active' || t.to === 'standby')) {
      this.decided = true;
      // Only now clear stale VIPs of an earlier run: a restarted active keeps serving until the decision.
      this.enqueue(() => this.reconcile());
      this.notifier.notify({ READY: 1 });
    }
  }

  /**
   * The VIP claim of a takeover. With conntrackd running, its external cache (the peer's flows) is committed
   * to the kernel first: a client packet that reached us before would be picked up as a new flow, maybe to
   * another real server (docs/sync.md). The commit is bounded (COMMIT_WAIT_MS) and never stops the claim.
   */
  private claimVips(reason: string): Promise<void> {
    const sync = this.sync;
    if (!sync?.commitBeforeClaim()) return this.takeover.claim(reason);
    return sync.commit().then(
      () => this.takeover.claim(reason),
      () => this.takeover.claim(reason),
    );
  }

  /**
   * Reply routing (NAT on nftables, src/ipvs/reply-routing.ts): installed on both routers for the daemon's
   * whole life, so it is already in place at the instant of a takeover (installing it then left a ~60 ms
   * gap). On the active, our own connections are tracked and never match; untracked replies belong to the
   * peer's connections.
   */
  private async syncReplyRouting(): Promise<void> {
    const plan = replyRoutingPlan(this.model, this.hb.status().node);
    if (plan && this.lb.status().backend === 'nftables') await this.replyRouting.install(plan);
    else await this.replyRouting.remove();
  }

  /** Resolves true as soon as the role satisfies `pred`, false after `ms`. */
  private roleWithin(pred: (r: RouterState) => boolean, ms: number): Promise<boolean> {
    if (pred(this.role)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.roleWaiters.delete(check);
        resolve(ok);
      };
      const check = () => {
        if (pred(this.role)) done(true);
      };
      const timer = setTimeout(() => done(false), ms);
      this.roleWaiters.add(check);
    });
  }

  private enqueue(fn: () => Promise<void>): void {
    this.chain = this.chain.then(fn).catch((err: unknown) => {
      this.log.error('role change step failed', { error: (err as Error).message });
    });
  }

  private async reconcile(): Promise<void> {
    if (!this.decided || this.stopping) return;
    try {
      await this.takeover.reconcile(this.role === 'active');
    } catch (err) {
      this.log.error('VIP reconcile failed', { error: (err as Error).message });
    }
    try {
      await this.lb.reconcile();
    } catch (err) {
      this.log.error('LB reconcile failed', { error: (err as Error).message });
    }
    await this.sync?.reconcile().catch((err: unknown) => {
      this.log.error('connection sync reconcile failed', { error: (err as Error).message });
    });
  }

  private subscribe(send: (e: unknown) => void): () => void {
    this.subscribers.add(send);
    return () => this.subscribers.delete(send);
  }

  /**
   * Serves one control-socket command (`pulsectl`, the web console), already authorised by the control
   * socket (./access.ts); `caller` is who asked, for the log. Throws with the reason it refuses.
   */
  async handle(c: ControlCommand, caller?: Caller): Promise<unknown> {
    const by = caller === undefined ? {} : { uid: caller.uid, pid: caller.pid };
    switch (c.cmd) {
      case 'ping':
        return 'pong';
      case 'status':
        return this.status();
      case 'takeover': {
        if (this.role === 'active') return { role: this.role, changed: false };
        if (this.role === 'fault')
          throw new Error('takeover refused: this router has a fault (see pulsectl status)');
        const held = this.sync?.hold;
        if (held && this.hb.status().peer.state === 'active')
          throw new Error(
            `takeover refused: ${held} (at most ${this.model.syncDaemon.resyncTimeoutMs} ms; docs/sync.md)`,
          );
        this.log.info('operator asked for takeover', { op: 'takeover', ...by });
        this.hb.requestTakeover();
        const changed = await this.roleWithin(
          (r) => r === 'active',
          this.model.heartbeat.handoverTimeoutMs + 500,
        );
        if (!changed)
          throw new Error(
            `takeover did not happen within ${this.model.heartbeat.handoverTimeoutMs + 500} ms (role ${this.role})`,
          );
        return { role: this.role, changed: true };
      }
      case 'release': {
        if (this.role !== 'active') throw new Error(`release: this router is ${this.role}, not active`);
        const peer = this.hb.status().peer;
        if (peer.state !== 'standby')
          throw new Error(
            `release refused: peer ${peer.address} is ${peer.state ?? 'not heard'}, not a healthy standby`,
          );
        // The heartbeat's status is a snapshot (≤ 250 ms old): a resync that just ended may still show.
        for (let i = 0; i < 10 && this.hb.status().peer.resyncPending; i++)
          await new Promise((r) => setTimeout(r, 50));
        if (this.hb.status().peer.resyncPending)
          throw new Error(
            `release refused: peer ${peer.address} is resyncing its connections (docs/sync.md); try again shortly`,
          );
        this.log.info('operator asked for release', { op: 'release', ...by });
        this.hb.requestRelease();
        const changed = await this.roleWithin(
          (r) => r !== 'active',
          this.model.heartbeat.handoverTimeoutMs + 500,
        );
        if (!changed)
          throw new Error(
            `release did not complete within ${this.model.heartbeat.handoverTimeoutMs + 500} ms (role ${this.role}); see the log`,
          );
        return { role: this.role, changed: true };
      }
      case 'drain':
      case 'enable': {
        const n = c.cmd === 'drain' ? this.nanny.drain(c.server) : this.nanny.enable(c.server);
        if (n === 0) throw new Error(`no real server matches ${JSON.stringify(c.server)}`);
        this.log.info(`operator ${c.cmd} ${c.server}`, { op: c.cmd, matched: n, ...by });
        return { matched: n };
      }
      case 'reload':
        return this.reload();
      case 'check-config': {
        // Off the main thread, with a deadline: a huge or hostile file cannot stall the daemon.
        const r = await validateOffThread({ mode: 'check', path: c.path ?? this.opts.configPath });
        const text = r.diagnostics
          .map((d) => `${d.file}:${d.line}:${d.col}: ${d.severity}: ${d.message}`)
          .join('\n');
        return { ok: r.ok && !r.diagnostics.some((d) => d.severity === 'error'), text: text || 'ok' };
      }
      case 'events':
        return 'following';
    }
  }

  /**
   * SIGHUP / `pulsectl reload`: validate first (in a worker thread, with a deadline: ./validate.ts); a bad
   * file, or one that cannot be validated in time, changes nothing; a good one applies only the diff.
   * Reloads run one at a time, in the order asked.
   */
  reload(): Promise<{ ok: boolean; errors?: string[]; changes?: unknown }> {
    const next = this.reloads.then(() => this.reloadNow());
    this.reloads = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  private async reloadNow(): Promise<{ ok: boolean; errors?: string[]; changes?: unknown }> {
    const r = await validateOffThread({ mode: 'load', path: this.opts.configPath });
    if (!r.ok || !r.model) {
      const errors = r.diagnostics
        .filter((d) => d.severity === 'error')
        .map((d) => `${d.file}:${d.line}:${d.col}: ${d.message}`);
      this.log.error('reload refused: configuration has errors; the running configuration stays', {
        op: 'reload',
        errors: errors.length,
      });
      for (const e of errors) this.log.error(`reload: ${e}`);
      this.publish('reload', 'refused', { errors });
      return { ok: false, errors };
    }
    const loaded = { model: r.model };
    for (const w of r.diagnostics) this.log.warn(`config: ${w.file}:${w.line}:${w.col}: ${w.message}`);
    const changes = diffModels(this.model, loaded.model);
    this.model = loaded.model;
    this.hash = configHash(loaded.model);
    this.loadedAt = new Date();
    this.log.setLevel(this.opts.logLevel ?? loaded.model.logLevel);
    this.hb.reconfigure(loaded.model);
    this.hb.setConfigHash(this.hash);
    await this.takeover.reconfigure(loaded.model);
    this.lb.reconfigure(loaded.model);
    this.nanny.reconfigure(loaded.model);
    await this.sync?.reconfigure(loaded.model).catch((err: unknown) => {
      this.log.error('reload: connection sync not reconfigured', { error: (err as Error).message });
    });
    // Reply routing names the real servers: keep it in step with the new set.
    await this.syncReplyRouting();
    this.log.info('reloaded', { op: 'reload', hash: this.hash, changes: JSON.stringify(changes) });
    this.publish('reload', 'applied', { changes });
    return { ok: true, changes };
  }

  /** The `pulsectl status --json` document (docs/status-json.md). */
  status(): StatusJson {
    const hs = this.hb.status();
    const ts = this.takeover.status();
    const ls = this.lb.status();
    const ns = new Map(this.nanny.status().map((v) => [v.name, v.realServers]));
    return {
      schema: 1,
      role: this.role,
      node: hs.node,
      since: this.since.toISOString(),
      config: { path: this.opts.configPath, hash: this.hash, loaded_at: this.loadedAt.toISOString() },
      auth: hs.auth,
      warnings: [...this.warnings],
      peer: {
        address: hs.peer.address,
        state: hs.peer.state,
        last_heard_ms: hs.peer.lastHeardMs,
        config_mismatch: hs.peer.configMismatch,
        ...(hs.peer.resyncPending ? { resync_pending: true } : {}),
      },
      vips: ts.vips.map((v) => ({
        address: v.address,
        prefix: v.prefixLength,
        device: v.device,
        present: v.present,
      })),
      lb: {
        backend: ls.backend,
        last_apply_ms: ls.lastApplyMs,
        apply_errors: ls.applyErrors,
        foreign_entries: ls.foreign,
      },
      heartbeat: {
        sent: hs.counters.sent,
        received: hs.counters.accepted,
        rejected: { ...hs.counters.rejected },
        keepalive_late_max_ms: Math.round(hs.counters.keepaliveLateMaxMs * 10) / 10,
        own_stalls_excused: hs.counters.ownStallsExcused,
        faults: { ...hs.faults } as Record<string, string>,
        ...(hs.hold !== undefined ? { hold: hs.hold } : {}),
      },
      ...(this.sync ? { sync: syncStatusJson(this.sync.status()) } : {}),
      transitions: [...this.transitions],
      virtual_servers: this.model.virtualServers.map((vs) => {
        const states = ns.get(vs.name) ?? [];
        return {
          name: vs.name,
          address: vs.vip.address,
          port: vs.port,
          protocol: vs.protocol,
          fwmark: vs.fwmark,
          scheduler: vs.scheduler,
          persistent: vs.persistentS,
          sorry_server_in: ls.sorryIn.includes(vs.name),
          real_servers: vs.realServers.map((rs) => {
            const st = states.find((x) => x.name === rs.name);
            return {
              name: rs.name,
              address: rs.address,
              port: rs.port,
              weight: st?.weight ?? 0,
              configured_weight: rs.weight,
              // Before its first probe a real server is not in the pool: reported as down.
              state: st?.state === 'up' || st?.state === 'drained' ? st.state : 'down',
              forwarding: rs.forwarding ?? this.model.network,
              last_probe: st?.lastProbe
                ? {
                    ok: st.lastProbe.ok,
                    detail: st.lastProbe.detail,
                    ms: Math.round(st.lastProbe.ms * 10) / 10,
                    at: new Date(st.lastProbe.atMs).toISOString(),
                  }
                : undefined,
            };
          }),
        };
      }),
    };
  }

  private metricsSource() {
    return {
      role: () => this.role,
      authenticated: () => this.hb.status().auth === 'hmac',
      transitions: () => ({ ...this.transitionCounts }),
      heartbeat: () => {
        const h = this.hb.status();
        const seen: Record<string, number> = {};
        for (const [p, ms] of Object.entries(h.peer.lastHeardMs)) if (ms !== null) seen[p] = ms / 1000;
        return {
          sent: h.counters.sent,
          received: h.counters.accepted,
          rejected: h.counters.rejected,
          peerLastSeenS: seen,
        };
      },
      realServers: () => {
        const out: { vs: string; rs: string; address: string; up: boolean; weight: number }[] = [];
        for (const v of this.nanny.status())
          for (const r of v.realServers)
            out.push({
              vs: v.name,
              rs: r.name,
              address: `${r.address}:${r.port}`,
              up: r.state === 'up',
              weight: r.weight ?? 0,
            });
        return out;
      },
      probeDurations: () => {
        const d = this.probeDurations;
        this.probeDurations = [];
        return d;
      },
      lbApply: () => this.lb.takeApplyStats(),
      sync: () => this.sync?.status(),
    };
  }

  /**
   * Soak-test knob (documented in docs/fast-profile.md): LVS_PULSE_DEBUG_GC_PRESSURE=MB/s makes the main
   * thread allocate and drop that much garbage, to prove heartbeats survive garbage-collection pressure.
   */
  private startGcPressure(): void {
    const mbs = Number(process.env.LVS_PULSE_DEBUG_GC_PRESSURE ?? 0);
    if (!(mbs > 0)) return;
    this.log.warn('debug: generating garbage-collection pressure', { mb_per_s: mbs });
    let keep: unknown[] = [];
    const t = setInterval(() => {
      // 10 ticks a second; objects live briefly (kept one tick) so they reach the old generation sometimes.
      const next: unknown[] = [];
      const bytes = (mbs * 1024 * 1024) / 10;
      for (let n = 0; n < bytes; n += 1024) next.push({ a: new Array(120).fill(n), s: `x${n}` });
      keep = next;
    }, 100);
    t.unref();
    void keep;
  }

  private installSignals(): void {
    const term = (sig: string) => {
      this.log.info(`${sig}: graceful stop`, { op: 'stop' });
      void this.stop().then(() => this.stopped());
    };
    process.on('SIGTERM', () => term('SIGTERM'));
    process.on('SIGINT', () => term('SIGINT'));
    process.on('SIGHUP', () => {
      this.log.info('SIGHUP: reload', { op: 'reload' });
      void this.reload();
    });
  }

  /** Graceful stop: farewell handover, release VIPs, keep or clear our LB entries, close everything. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.notifier.notify({ STOPPING: 1, STATUS: 'stopping: handing over' });
      if (this.reconcileTimer) clearInterval(this.reconcileTimer);
      this.stopWatchdog();
      try {
        await this.hb.stop({ graceful: true });
      } catch (err) {
        this.log.error('heartbeat stop failed', { error: (err as Error).message });
      }
      await this.chain;
      await this.replyRouting.remove();
      try {
        await this.takeover.release('stopping');
      } catch (err) {
        this.log.error('VIP release failed', { error: (err as Error).message });
      }
      await this.sync
        ?.stop({ keepKernelDaemons: this.model.lb.onStop !== 'clear' })
        .catch((err: unknown) =>
          this.log.error('connection sync stop failed', { error: (err as Error).message }),
        );
      this.nanny.stop();
      try {
        if (this.model.lb.onStop === 'clear') await this.lb.clear();
      } catch (err) {
        this.log.error('LB clear failed', { error: (err as Error).message });
      }
      this.takeover.close();
      await this.control?.close();
      this.metricsServer?.close();
      this.log.info('stopped', { op: 'stop' });
      this.notifier.close();
      this.log.close();
    })();
    return this.stopping;
  }
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

/** Runs the daemon in the foreground until SIGTERM/SIGINT; returns the exit code. */
export async function runDaemon(opts: DaemonOptions): Promise<number> {
  let loaded: ReturnType<typeof loadConfig>;
  try {
    loaded = loadConfig(opts.configPath);
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const d of err.diagnostics)
        process.stderr.write(`${d.file}:${d.line}:${d.col}: ${d.severity}: ${d.message}\n`);
    } else process.stderr.write(`pulse: ${opts.configPath}: ${(err as Error).message}\n`);
    return 2;
  }
  const d = new Daemon(opts, loaded);
  try {
    await d.start();
  } catch (err) {
    d.log.error('start failed', { error: (err as Error).stack ?? String(err) });
    await d.stop().catch(() => {});
    return 1;
  }
  await d.done;
  return 0;
}
