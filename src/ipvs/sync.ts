/**
 * Connection sync, the daemon's interface (docs/sync.md): established connections carried to the peer so
 * they survive a takeover — on IPVS by the kernel's sync daemons (syncd.ts), on nftables by conntrackd
 * (conntrackd.ts, its config from conntrackd-conf.ts) — driven by the router's role, with the returning
 * router's resync gate and the status operators see. Decisions come from sync-plan.ts (pure).
 *
 *   const sync = new ConnSync({ model, log, backend: 'nftables', runDir });
 *   sync.on('hold', ({ on, detail }) => heartbeat.setHold(on, detail));
 *   await sync.start();
 *   // becoming active: if (sync.commitBeforeClaim()) await sync.commit(); then claim the VIPs; then
 *   await sync.onRole('active');
 *
 * A sync that cannot run is a fault of its own ('fault' event, status, metrics, log), never a failover
 * fault: both routers share its configuration, so handing over would meet the same fault on the peer, and
 * losing sync costs only the connections a later crash would carry.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { LvsModel, NodeName } from '../config/model';
import { detectNode } from '../heartbeat/settings';
import { canonicalIP } from '../lib/addr';
import type { Log } from '../lib/log';
import { Conntrackd, type SpawnDaemon } from './conntrackd';
import { ConntrackdConfError, conntrackdConf } from './conntrackd-conf';
import { type Exec, execProcess } from './exec';
import {
  CONNTRACKD_RECIPE,
  type ConntrackdStats,
  parseIpvsConnSync,
  ResyncTracker,
  type SyncMechanism,
  type SyncPlan,
  syncPlan,
} from './sync-plan';
import { IpvsSyncDaemon, type ProcReader } from './syncd';

/** The claim waits at most this long for the commit of the external cache, ms (then claims anyway). */
export const COMMIT_WAIT_MS = 1000;
/** The returning router's resync is sampled this often, ms. */
const RESYNC_POLL_MS = 100;

/** What {@link ConnSync} is built from. */
export interface ConnSyncOptions {
  model: LvsModel;
  log: Log;
  /** The LB backend in use (LbTable's choice). */
  backend: 'ipvsadm' | 'nftables' | 'none' | 'uninitialised';
  /** Which router this is (default: detected from the local addresses, as the heartbeat does). */
  node?: NodeName;
  /** The daemon's run directory: conntrackd's files go in `sync/` under it. */
  runDir: string;
  /** Short commands: ipvsadm, sysctl, conntrackd's control commands (tests inject a fake). */
  exec?: Exec;
  /** The long-lived conntrackd (tests inject a fake child). */
  spawn?: SpawnDaemon;
  readProc?: ProcReader;
  /** The interface holding an address (default: os.networkInterfaces()). */
  interfaceOf?: (address: string) => string | undefined;
  /** This host's addresses, for who-am-I (default: os.networkInterfaces()). */
  localAddresses?: string[];
  /** nf_conntrack_max (default: read from /proc; conntrackd's hash limit is twice it). */
  conntrackMax?: () => number | undefined;
}

/** `pulsectl status` / metrics view of the sync (docs/status-json.md, `sync`). */
export interface SyncStatus {
  enabled: boolean;
  mechanism: SyncMechanism;
  /** off (not configured or backend without sync), starting, running, fault. */
  state: 'off' | 'starting' | 'running' | 'fault';
  /** What this router does: master (sends: active), backup (keeps the peer's: standby), or both (IPVS). */
  role: 'master' | 'backup' | 'master+backup' | 'none';
  /** Why off, or the fault. */
  detail?: string;
  /** conntrackd's pid. */
  pid?: number;
  /** conntrackd restarts since start (IPVS: daemon repairs). */
  restarts: number;
  /** Entries: conntrackd internal (ours) / external (the peer's); IPVS local / synced (from the peer). */
  entries?: { internal?: number; external?: number; local?: number; synced?: number };
  /** Age of the last update received from the peer, ms (null: none yet; absent: not known). */
  lastUpdateMs?: number | null;
  /** The returning router's resync. */
  resync: { state: 'pending' | 'done' | 'timed-out' | 'not-needed'; ms?: number; entries?: number };
  /** The last commit of the external cache (conntrackd, becoming active). */
  lastCommit?: { ok: boolean; ms: number; at: string };
  /** Why voluntary claims are held now. */
  hold?: string;
}

/** The interface that holds `address` on this host, from os.networkInterfaces(). */
export function interfaceOfAddress(address: string): string | undefined {
  const want = canonicalIP(address);
  for (const [name, list] of Object.entries(networkInterfaces()))
    for (const a of list ?? []) if (canonicalIP(a.address) === want) return name;
  return undefined;
}

function readConntrackMax(): number | undefined {
  try {
    const n = Number(readFileSync('/proc/sys/net/netfilter/nf_conntrack_max', 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Connection sync for this router (see the file header). Events: 'hold' ({ on, detail }): hold voluntary
 * claims (heartbeat.setHold); 'fault' ({ on, detail }); 'resync' ({ result, ms, entries }).
 */
export class ConnSync extends EventEmitter {
  private model: LvsModel;
  private readonly log: Log;
  private readonly exec: Exec;
  private node: NodeName | undefined;
  private plan: SyncPlan;
  private ipvs: IpvsSyncDaemon | undefined;
  private ctd: Conntrackd | undefined;
  private role: 'active' | 'standby' | 'unknown' = 'unknown';
  private state: SyncStatus['state'] = 'off';
  private detail: string | undefined;
  private faultOn = false;
  private holdDetail: string | undefined;
  private holdTimer: ReturnType<typeof setTimeout> | undefined;
  private tracker: ResyncTracker | undefined;
  private pollTimer: ReturnType<typeof setTimeout> | undefined;
  private resync: SyncStatus['resync'] = { state: 'not-needed' };
  private lastCommit: SyncStatus['lastCommit'];
  private entries: SyncStatus['entries'];
  private lastChanges: number | undefined;
  private lastUpdateAt: number | undefined;
  private ipvsExpires = new Map<string, number>();
  private ipvsRepairs = 0;
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly opts: ConnSyncOptions) {
    super();
    this.model = opts.model;
    this.log = opts.log;
    this.exec = opts.exec ?? execProcess(5000);
    this.plan = { mechanism: 'none', reason: 'not started', resyncTimeoutMs: 0, refreshWindowMs: 0 };
  }

  private computePlan(model: LvsModel): SyncPlan {
    if (!model.syncDaemon.enabled) return syncPlan(model, 'primary', this.opts.backend, () => undefined);
    if (!this.node) {
      try {
        this.node = detectNode(model, this.opts.localAddresses ?? localAddresses(), this.opts.node);
      } catch (err) {
        return {
          mechanism: 'none',
          reason: (err as Error).message,
          error: true,
          resyncTimeoutMs: model.syncDaemon.resyncTimeoutMs,
          refreshWindowMs: 0,
        };
      }
    }
    return syncPlan(model, this.node, this.opts.backend, this.opts.interfaceOf ?? interfaceOfAddress);
  }

  /**
   * Starts the mechanism the plan names. Never rejects: a sync that cannot start is a fault (logged once,
   * in status), retried (conntrackd restarts with a back-off; IPVS daemons at every reconcile).
   */
  async start(): Promise<void> {
    this.stopped = false;
    this.plan = this.computePlan(this.model);
    const p = this.plan;
    if (p.mechanism === 'none') {
      this.state = p.error ? 'fault' : 'off';
      this.detail = p.reason;
      if (p.error) this.setFault(true, p.reason ?? 'cannot run');
      else this.log.info(`connection sync off: ${p.reason}`, { op: 'sync' });
      return;
    }
    this.state = 'starting';
    // A returning router: no voluntary claim until the resync is done (bounded).
    if (this.model.backup && this.role !== 'active')
      this.holdFor('connection resync pending', p.resyncTimeoutMs);
    if (p.mechanism === 'ipvs') await this.startIpvs();
    else await this.startConntrackd();
  }

  private async startIpvs(): Promise<void> {
    const c = this.plan.ipvs!;
    this.ipvs ??= new IpvsSyncDaemon({
      ipvsadmPath: this.model.lb.ipvsadmPath || 'ipvsadm',
      exec: this.exec,
      log: this.log,
      ...(this.opts.readProc ? { readProc: this.opts.readProc } : {}),
    });
    const t0 = performance.now();
    const r = await this.ipvs.apply(c);
    if (r.problems.length > 0) {
      this.state = 'fault';
      this.detail = r.problems.join('; ');
      this.setFault(true, this.detail);
      return;
    }
    this.state = 'running';
    this.detail = undefined;
    this.setFault(false, 'IPVS sync daemons running');
    this.log.info('IPVS sync daemons running (master and backup)', {
      op: 'sync',
      iface: c.iface,
      syncid: c.syncid,
      started: r.started.join(',') || 'none (already running)',
    });
    if (this.holdDetail === undefined) return;
    if (!r.started.includes('backup')) {
      // The backup thread ran before us (a restarted pulse): it has heard the peer all along.
      this.finishResync('done', performance.now() - t0);
      return;
    }
    // No bulk resync on IPVS: every live connection that carries a packet is re-sent within one refresh
    // period (plus the kernel's 2 s flush of a partly filled message).
    this.resync = { state: 'pending' };
    const wait = Math.min(this.plan.refreshWindowMs, this.plan.resyncTimeoutMs);
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined;
      this.finishResync(wait < this.plan.refreshWindowMs ? 'timed-out' : 'done', wait);
    }, wait);
  }

  private async startConntrackd(): Promise<void> {
    const c = this.plan.conntrackd!;
    const dir = join(this.opts.runDir, 'sync');
    if (!this.ctd) {
      this.ctd = new Conntrackd({
        path: this.model.syncDaemon.conntrackdPath,
        dir,
        log: this.log,
        exec: this.exec,
        ...(this.opts.spawn ? { spawn: this.opts.spawn } : {}),
      });
      this.ctd.on('up', () => this.onConntrackdUp());
      this.ctd.on('down', ({ detail }: { detail: string }) => {
        this.state = 'fault';
        this.detail = detail;
        this.setFault(true, detail);
      });
    }
    let text: string;
    try {
      const max = (this.opts.conntrackMax ?? readConntrackMax)() ?? 131_072;
      text = conntrackdConf(c, this.ctd.files, { hashLimit: 2 * max });
    } catch (err) {
      const detail = err instanceof ConntrackdConfError ? err.message : String(err);
      this.state = 'fault';
      this.detail = detail;
      this.setFault(true, detail);
      return;
    }
    const up = await this.ctd.start(text);
    if (!up && this.state !== 'fault') {
      this.state = 'fault';
      this.detail = this.ctd.status().lastError ?? 'conntrackd did not start';
      this.setFault(true, this.detail);
    }
  }

  private onConntrackdUp(): void {
    this.state = 'running';
    this.detail = undefined;
    this.setFault(false, 'conntrackd running');
    // Every (re)start begins with empty caches: the role's recipe fills them.
    this.enqueue(async () => {
      if (this.role === 'active') await this.recipe(CONNTRACKD_RECIPE.afterActive.filter((f) => f !== '-f'));
      else await this.requestResync();
    });
  }

  private async requestResync(): Promise<void> {
    const ctd = this.ctd;
    if (!ctd?.running || this.role === 'active' || !this.model.backup) return;
    if (this.holdDetail === undefined) this.holdFor('connection resync pending', this.plan.resyncTimeoutMs);
    const before = await ctd.stats();
    const r = await ctd.command('-n');
    if (!r.ok) this.log.warn('conntrackd -n (resync request) failed', { op: 'sync', error: r.out });
    const t0 = performance.now();
    this.resync = { state: 'pending' };
    this.tracker = new ResyncTracker(t0, this.plan.resyncTimeoutMs);
    if (before) this.tracker.sample(t0, before);
    this.pollResync();
  }

  private pollResync(): void {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(async () => {
      this.pollTimer = undefined;
      const tr = this.tracker;
      if (!tr || this.stopped) return;
      const s = await this.ctd?.stats();
      if (this.tracker !== tr) return;
      const now = performance.now();
      const result = s
        ? tr.sample(now, s)
        : now - tr.requestedAt >= this.plan.resyncTimeoutMs
          ? 'timed-out'
          : undefined;
      if (s) this.noteStats(s);
      if (result) {
        this.tracker = undefined;
        this.finishResync(result, now - tr.requestedAt, tr.entries);
      } else this.pollResync();
    }, RESYNC_POLL_MS);
  }

  private finishResync(result: 'done' | 'timed-out', ms: number, entries?: number): void {
    this.resync = { state: result, ms: Math.round(ms), ...(entries !== undefined ? { entries } : {}) };
    const f = { op: 'sync', ms: Math.round(ms), ...(entries !== undefined ? { entries } : {}) };
    if (result === 'done') this.log.info('connection resync done', f);
    else this.log.warn('connection resync timed out: voluntary takeovers allowed again', f);
    this.emit('resync', { result, ms, entries });
    this.clearHold();
  }

  private holdFor(detail: string, ms: number): void {
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = setTimeout(() => {
      this.holdTimer = undefined;
      if (this.resync.state === 'pending') {
        this.tracker = undefined;
        this.finishResync('timed-out', ms);
      } else this.clearHold();
    }, ms);
    if (this.holdDetail === detail) return;
    this.holdDetail = detail;
    this.emit('hold', { on: true, detail });
  }

  private clearHold(): void {
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    if (this.holdDetail === undefined) return;
    const detail = this.holdDetail;
    this.holdDetail = undefined;
    this.emit('hold', { on: false, detail });
  }

  private setFault(on: boolean, detail: string): void {
    if (on === this.faultOn) return;
    this.faultOn = on;
    if (on) this.log.error(`connection sync fault: ${detail}`, { op: 'sync', fault: true });
    else this.log.info(`connection sync fault cleared: ${detail}`, { op: 'sync', fault: false });
    this.emit('fault', { on, detail });
  }

  private enqueue(fn: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(fn).catch((err: unknown) => {
      this.log.error('connection sync step failed', { op: 'sync', error: (err as Error).message });
    });
    return this.chain;
  }

  private async recipe(flags: readonly string[]): Promise<void> {
    const ctd = this.ctd;
    if (!ctd?.running) return;
    for (const f of flags) {
      const r = await ctd.command(f);
      if (!r.ok) this.log.warn(`conntrackd ${f} failed`, { op: 'sync', error: r.out });
      else this.log.debug(`conntrackd ${f}`, { op: 'sync', ms: Math.round(r.ms) });
    }
  }

  /** Whether becoming active must commit the peer's flows before the VIPs are claimed (conntrackd running). */
  commitBeforeClaim(): boolean {
    return this.plan.mechanism === 'conntrackd' && this.ctd?.running === true;
  }

  /**
   * `conntrackd -c`: the peer's flows into our kernel table, before we claim the VIPs — a client packet
   * that arrived first would make conntrack pick the flow up as a new one (nf_conntrack_tcp_loose), maybe
   * NATed to another real server, and the commit could then no longer replace it. Bounded by
   * {@link COMMIT_WAIT_MS}; never rejects.
   */
  async commit(): Promise<{ ok: boolean; ms: number }> {
    const ctd = this.ctd;
    if (!ctd?.running) return { ok: false, ms: 0 };
    const r = await ctd.command('-c', COMMIT_WAIT_MS);
    this.lastCommit = { ok: r.ok, ms: Math.round(r.ms * 10) / 10, at: new Date().toISOString() };
    if (r.ok)
      this.log.info('external cache committed to the kernel', {
        op: 'sync',
        ms: this.lastCommit.ms,
        entries: this.entries?.external,
      });
    else this.log.error('conntrackd -c (commit) failed: claiming anyway', { op: 'sync', error: r.out });
    return { ok: r.ok, ms: r.ms };
  }

  /**
   * The router's role changed ('active'; 'standby' or 'fault' = standby). conntrackd follows the
   * primary-backup recipe (the commit itself is {@link commit}, before the claim); IPVS needs nothing (both
   * daemons run). Resolves when the recipe ran.
   */
  onRole(role: string): Promise<void> {
    const next =
      role === 'active' ? 'active' : role === 'standby' || role === 'fault' ? 'standby' : this.role;
    if (next === this.role) return this.chain;
    const was = this.role;
    this.role = next;
    if (next === 'active') {
      // The resync is moot now: we hold the VIPs.
      this.tracker = undefined;
      if (this.resync.state === 'pending') this.resync = { state: 'not-needed' };
      if (this.pollTimer && this.plan.mechanism === 'conntrackd') clearTimeout(this.pollTimer);
      this.clearHold();
    }
    if (this.plan.mechanism !== 'conntrackd') return this.chain;
    return this.enqueue(async () => {
      if (next === 'active') await this.recipe(CONNTRACKD_RECIPE.afterActive);
      else if (was === 'active') {
        await this.recipe(CONNTRACKD_RECIPE.standby.filter((f) => f !== '-n'));
        await this.requestResync();
      } else if (this.resync.state === 'not-needed') {
        // The first decision: the resync asked for when conntrackd came up has run or runs already.
        await this.requestResync();
      }
    });
  }

  /** Periodic (the daemon's reconcile): repairs stopped IPVS daemons, reads entry counts and update ages. */
  async reconcile(): Promise<void> {
    if (this.stopped) return;
    if (this.plan.mechanism === 'ipvs' && this.ipvs) {
      const cur = await this.ipvs.read();
      const c = this.plan.ipvs!;
      const broken =
        'error' in cur ||
        !cur.master ||
        !cur.backup ||
        cur.master.iface !== c.iface ||
        cur.backup.iface !== c.iface;
      if (broken) {
        this.ipvsRepairs++;
        this.log.warn('IPVS sync daemons not as started; starting them again', { op: 'sync' });
        await this.startIpvs();
      }
      const text = await this.ipvs.connSync();
      if (text !== undefined) {
        const n = parseIpvsConnSync(text);
        let updated = false;
        for (const [k, e] of n.expires) {
          const before = this.ipvsExpires.get(k);
          if (before === undefined || e > before) updated = true;
        }
        this.ipvsExpires = n.expires;
        if (updated) this.lastUpdateAt = performance.now();
        this.entries = { local: n.local, synced: n.synced };
      }
    } else if (this.plan.mechanism === 'conntrackd' && this.ctd?.running && !this.tracker) {
      const s = await this.ctd.stats();
      if (s) this.noteStats(s);
    }
  }

  private noteStats(s: ConntrackdStats): void {
    const e: NonNullable<SyncStatus['entries']> = {};
    if (s.internal !== undefined) e.internal = s.internal;
    if (s.external !== undefined) e.external = s.external;
    this.entries = e;
    if (s.externalChanges !== undefined) {
      if (this.lastChanges !== undefined && s.externalChanges > this.lastChanges)
        this.lastUpdateAt = performance.now();
      else if (this.lastChanges === undefined && s.externalChanges > 0) this.lastUpdateAt = performance.now();
      this.lastChanges = s.externalChanges;
    }
  }

  /** A new model: restarts the mechanism when what it runs changed (the plan or conntrackd.conf). */
  async reconfigure(model: LvsModel): Promise<void> {
    const before = this.plan;
    this.model = model;
    const next = this.computePlan(model);
    if (JSON.stringify(next) === JSON.stringify(before)) return;
    this.log.info('connection sync settings changed: restarting it', { op: 'sync', reload: true });
    // Staying on IPVS: apply() replaces only the daemons whose settings changed (no gap in the others).
    await this.stopMechanism(before, before.mechanism === 'ipvs' && next.mechanism === 'ipvs');
    await this.start();
  }

  private async stopMechanism(p: SyncPlan, keepKernelDaemons: boolean): Promise<void> {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    this.tracker = undefined;
    if (p.mechanism === 'conntrackd') await this.ctd?.stop();
    if (p.mechanism === 'ipvs' && !keepKernelDaemons) await this.ipvs?.stop();
  }

  /**
   * Stops: conntrackd always; the kernel's IPVS daemons only when `keepKernelDaemons` is false (with
   * `lb_on_stop = keep` they go on learning the peer's connections for our next start).
   */
  async stop(opts: { keepKernelDaemons: boolean } = { keepKernelDaemons: false }): Promise<void> {
    this.stopped = true;
    this.clearHold();
    await this.chain;
    await this.stopMechanism(this.plan, opts.keepKernelDaemons);
  }

  /** Why voluntary claims are held now, if they are. */
  get hold(): string | undefined {
    return this.holdDetail;
  }

  /** For `pulsectl status` and the metrics. */
  status(): SyncStatus {
    const p = this.plan;
    const s: SyncStatus = {
      enabled: this.model.syncDaemon.enabled,
      mechanism: p.mechanism,
      state: this.state,
      role:
        p.mechanism === 'ipvs'
          ? 'master+backup'
          : p.mechanism === 'conntrackd'
            ? this.role === 'active'
              ? 'master'
              : 'backup'
            : 'none',
      restarts: p.mechanism === 'conntrackd' ? (this.ctd?.status().restarts ?? 0) : this.ipvsRepairs,
      resync: { ...this.resync },
    };
    if (this.detail !== undefined) s.detail = this.detail;
    const pid = this.ctd?.status().pid;
    if (p.mechanism === 'conntrackd' && pid !== undefined) s.pid = pid;
    if (this.entries) s.entries = { ...this.entries };
    if (p.mechanism !== 'none')
      s.lastUpdateMs =
        this.lastUpdateAt === undefined ? null : Math.round(performance.now() - this.lastUpdateAt);
    if (this.lastCommit) s.lastCommit = { ...this.lastCommit };
    if (this.holdDetail !== undefined) s.hold = this.holdDetail;
    return s;
  }
}

/** This host's addresses (for who-am-I), canonical. */
function localAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) out.push(canonicalIP(a.address) ?? a.address);
  return out;
}
