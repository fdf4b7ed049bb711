/**
 * The load-balancing table the daemon drives: the desired table (config model + nanny weights) kept in
 * the kernel by reconciling — never Piranha's `ipvsadm -C` + rebuild — through ipvsadm (real IPVS) or
 * nftables (hosts without IPVS), or nothing ('none').
 *
 *   const lb = new LbTable({ model, log });
 *   await lb.init();                         // auto: modprobe ip_vs, then /proc/net/ip_vs ? ipvsadm : nftables
 *   lb.on('fault', ({ on, detail }) => hb.setFault('lb', on, detail));
 *   lb.setWeight('www', 'rs1', 3);           // bursts coalesce into one apply
 *   lb.onRole('active');                     // connection sync is ConnSync (sync.ts), driven by the daemon
 *   await lb.reconcile();                    // periodic, from the daemon
 *   await lb.clear();                        // on stop when lb.onStop === 'clear': removes OUR entries only
 */
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import type { LbBackend, LvsModel } from '../config/model';
import type { Log } from '../lib/log';
import { LbApplyError, type LbDriver, type SyncReport } from './backend';
import { tableKeys } from './diff';
import { type Exec, execProcess } from './exec';
import { IpvsadmDriver } from './ipvsadm';
import { NftDriver } from './nft';
import {
  desiredTable,
  type LbService,
  type LbTableState,
  modelKeys,
  realOwnerKey,
  sorryChanges,
  weightKey,
} from './table';

export { LbApplyError } from './backend';
export type { LbDriver, SyncOptions, SyncReport } from './backend';
export { diffTables, type DiffResult } from './diff';
export type { Exec, ExecOutcome } from './exec';
export { type LbOp, opArgs, parseSave, restoreScript } from './format';
export { buildLbRuleset, buildRuleset, clearScript, NFT_TABLE_V4, NFT_TABLE_V6 } from './nftrules';
export { ConnSync, type ConnSyncOptions, COMMIT_WAIT_MS, type SyncStatus } from './sync';
export { ReplyRouting, type ReplyRoutingPlan, replyRoutingPlan, replyRoutingRuleset } from './reply-routing';
export {
  desiredTable,
  type LbReal,
  type LbService,
  type LbTableState,
  type LbTimeouts,
  modelKeys,
  SORRY_NAME,
  serviceKey,
  type WeightMap,
  weightKey,
} from './table';
export { IpvsadmDriver, NftDriver };

/** Options of {@link LbTable}. */
export interface LbTableOptions {
  model: LvsModel;
  log: Log;
  /** Overrides model.lb.backend. */
  backend?: LbBackend;
  /** Process runner (tests inject a fake); default spawns with a 30 s timeout. */
  exec?: Exec;
  /** setWeight bursts within this window become one apply, ms (default 20). */
  coalesceMs?: number;
  /** Whether IPVS is present (default: /proc/net/ip_vs exists); for 'auto'. */
  ipvsPresent?: () => boolean;
  /** Path of nft (default 'nft'). */
  nftPath?: string;
}

/** One real server line of {@link LbStatus}. */
export interface LbRealStatus {
  address: string;
  port: number;
  forwarding: string;
  weight: number;
  /** Model name (`~sorry` for a sorry server), when known. */
  name?: string;
  /** Connection counts, when the last read was `ipvsadm -Ln` (the quick verify of a nanny verdict). */
  activeConns?: number;
  inactiveConns?: number;
}

/** One virtual service of {@link LbStatus}, like a block of `ipvsadm -Ln`. */
export interface LbServiceStatus {
  key: string;
  vsName?: string;
  scheduler: string;
  persistentS: number;
  reals: LbRealStatus[];
}

/** What `pulsectl status` shows about the LB table. */
export interface LbStatus {
  backend: 'ipvsadm' | 'nftables' | 'none' | 'uninitialised';
  role: 'active' | 'standby' | 'unknown';
  services: LbServiceStatus[];
  /** Duration of the last sync that changed something, ms (undefined before the first). */
  lastApplyMs: number | undefined;
  applyErrors: number;
  /** Foreign entries seen in the kernel and left alone. */
  foreign: number;
  fault: string | undefined;
  /** Names of the virtual servers whose sorry server is in the table now. */
  sorryIn: string[];
}

/** 'fault' event payload: a child fault raised (on) or cleared (off). */
export interface LbFault {
  on: boolean;
  detail: string;
}

/** 'applied' event payload. */
export interface LbApplied {
  backend: string;
  ops: number;
  ms: number;
}

const EMPTY: LbTableState = { services: [], timeouts: { tcp: 0, tcpfin: 0, udp: 0 } };

/**
 * Keeps the kernel's LB table equal to the desired one. Events: 'fault' ({@link LbFault}), 'applied'
 * ({@link LbApplied}). All kernel work is serialised: at most one sync runs, later requests fold into one.
 */
export class LbTable extends EventEmitter {
  private model: LvsModel;
  private readonly log: Log;
  private readonly exec: Exec;
  private readonly coalesceMs: number;
  private driver: LbDriver | undefined;
  private readonly weights = new Map<string, number | null>();
  private applied = new Set<string>();
  private role: 'active' | 'standby' | 'unknown' = 'unknown';
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inFlight: Promise<void> | undefined;
  private dirty = false;
  /** A caller asked for a sync that reads the kernel first (reconcile), not one from the cached table. */
  private freshWanted = true;
  private closed = false;
  private faultDetail: string | undefined;
  private lastActual: LbService[] = [];
  private lastDesired: LbTableState = EMPTY;
  private lastApplyMs: number | undefined;
  private applyErrors = 0;
  private foreignCount = 0;
  private applySeconds: number[] = [];
  private readonly loggedForeign = new Set<string>();
  private readonly loggedWarnings = new Set<string>();

  constructor(private readonly opts: LbTableOptions) {
    super();
    this.model = opts.model;
    this.log = opts.log;
    this.exec = opts.exec ?? execProcess();
    this.coalesceMs = opts.coalesceMs ?? 20;
  }

  /** Pick the backend. 'auto': `modprobe ip_vs` (failure ignored), then IPVS present ? ipvsadm : nftables. */
  async init(): Promise<void> {
    const wanted = this.opts.backend ?? this.model.lb.backend;
    let name: LbDriver['name'];
    if (wanted === 'auto') {
      const r = await this.exec('modprobe', ['ip_vs']);
      if (r.code !== 0)
        this.log.debug('modprobe ip_vs failed (fine without IPVS)', { error: r.stderr.trim() });
      const present = this.opts.ipvsPresent ?? (() => existsSync('/proc/net/ip_vs'));
      name = present() ? 'ipvsadm' : 'nftables';
    } else name = wanted;
    this.driver = this.makeDriver(name);
    this.log.info('LB backend chosen', { backend: name, requested: wanted });
    if (this.weights.size > 0) this.schedule();
  }

  private makeDriver(name: LbDriver['name']): LbDriver {
    const log = this.log.child({ backend: name });
    if (name === 'ipvsadm')
      return new IpvsadmDriver({ path: this.model.lb.ipvsadmPath || 'ipvsadm', exec: this.exec, log });
    if (name === 'nftables') return new NftDriver({ path: this.opts.nftPath ?? 'nft', exec: this.exec, log });
    return {
      name: 'none',
      sync: async (desired) => ({ ops: 0, foreign: [], actual: desired.services, warnings: [] }),
    };
  }

  /** The nanny's verdict for one real server: a weight (0 = quiesced) or null (out of the table). Coalesced. */
  setWeight(vsName: string, rsName: string, weight: number | null): void {
    const k = weightKey(vsName, rsName);
    if (this.weights.has(k) && this.weights.get(k) === weight) return;
    this.weights.set(k, weight);
    this.schedule();
  }

  /**
   * The router's role changed ('active'; 'standby' or 'fault' = standby; others keep the last role). Hot
   * standby (default) keeps the table on the standby too; without it the standby holds none of ours.
   * (Connection sync follows the role in ConnSync, sync.ts.)
   */
  onRole(role: string): void {
    const next =
      role === 'active' ? 'active' : role === 'standby' || role === 'fault' ? 'standby' : this.role;
    if (next === this.role) return;
    this.role = next;
    if (!this.model.lb.hotStandby) this.schedule();
  }

  /** Sync now (the periodic repair of hand edits and crashes). Rejects when the sync failed (fault raised). */
  reconcile(): Promise<void> {
    this.freshWanted = true;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    return this.flush();
  }

  /** New configuration: weights of real servers no longer configured are dropped; one sync follows. */
  reconfigure(model: LvsModel): void {
    const before = this.model;
    this.model = model;
    const keep = new Set<string>();
    for (const vs of model.virtualServers)
      for (const rs of vs.realServers) keep.add(weightKey(vs.name, rs.name));
    for (const k of [...this.weights.keys()]) if (!keep.has(k)) this.weights.delete(k);
    if (model.lb.backend !== before.lb.backend) {
      this.log.warn('lb backend change needs a restart; keeping the current one', {
        current: this.driver?.name,
        configured: model.lb.backend,
      });
    }
    this.schedule();
  }

  /** Remove OUR entries (never foreign ones, never a flush) and stop applying. */
  async clear(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight?.catch(() => {});
    if (!this.driver) return;
    const owned = new Set([...modelKeys(this.model), ...this.applied]);
    const report = await this.driver.sync(EMPTY, owned);
    this.lastActual = report.actual;
    this.applied = new Set();
    this.log.info('LB table cleared (our entries only)', {
      ops: report.ops,
      foreign_kept: report.foreign.length,
    });
  }

  /** Snapshot for status: the kernel's table as last read (names from the model), counters, fault. */
  status(): LbStatus {
    const names = new Map<string, { vs?: string; rs: Map<string, string> }>();
    for (const s of this.lastDesired.services) {
      const rs = new Map<string, string>();
      for (const r of s.reals) if (r.name) rs.set(r.key, r.name);
      names.set(s.key, { vs: s.vsName, rs });
    }
    return {
      backend: this.driver?.name ?? 'uninitialised',
      role: this.role,
      services: this.lastActual.map((s) => {
        const n = names.get(s.key);
        const out: LbServiceStatus = {
          key: s.key,
          scheduler: s.scheduler,
          persistentS: s.persistentS,
          reals: s.reals.map((r) => {
            const rs: LbRealStatus = {
              address: r.address,
              port: r.port,
              forwarding: r.forwarding,
              weight: r.weight,
            };
            const name = n?.rs.get(r.key);
            if (name) rs.name = name;
            if (r.activeConns !== undefined) rs.activeConns = r.activeConns;
            if (r.inactiveConns !== undefined) rs.inactiveConns = r.inactiveConns;
            return rs;
          }),
        };
        if (n?.vs) out.vsName = n.vs;
        return out;
      }),
      lastApplyMs: this.lastApplyMs,
      applyErrors: this.applyErrors,
      foreign: this.foreignCount,
      fault: this.faultDetail,
      sorryIn: this.lastDesired.services
        .filter((s) => s.vsName && s.reals.some((r) => r.sorry))
        .map((s) => s.vsName as string),
    };
  }

  /** Apply durations (seconds) since the last call, and the error count: for the metrics endpoint. */
  takeApplyStats(): { seconds: number[]; errors: number } {
    const seconds = this.applySeconds;
    this.applySeconds = [];
    return { seconds, errors: this.applyErrors };
  }

  private schedule(): void {
    if (this.closed || !this.driver || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch(() => {
        /* reported through 'fault' and the log */
      });
    }, this.coalesceMs);
  }

  private flush(): Promise<void> {
    if (this.closed || !this.driver) return Promise.resolve();
    if (this.inFlight) {
      this.dirty = true;
      return this.inFlight;
    }
    const run = async () => {
      let lastErr: unknown;
      do {
        this.dirty = false;
        try {
          await this.syncOnce();
          lastErr = undefined;
        } catch (err) {
          lastErr = err;
        }
      } while (this.dirty && !this.closed);
      if (lastErr) throw lastErr;
    };
    this.inFlight = run().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private desired(): LbTableState {
    if (!this.model.lb.hotStandby && this.role !== 'active') return EMPTY;
    const { table, warnings } = desiredTable(this.model, this.weights);
    for (const w of warnings) this.warnOnce(w);
    return table;
  }

  private warnOnce(w: string): void {
    if (this.loggedWarnings.has(w)) return;
    this.loggedWarnings.add(w);
    this.log.warn(w);
  }

  private async syncOnce(): Promise<void> {
    const driver = this.driver as LbDriver;
    const desired = this.desired();
    const owned = new Set([...modelKeys(this.model), ...this.applied]);
    const t0 = performance.now();
    let report: SyncReport;
    try {
      const fresh = this.freshWanted;
      this.freshWanted = false;
      report = await driver.sync(desired, owned, { fresh });
    } catch (err) {
      this.applyErrors++;
      const detail = err instanceof LbApplyError ? err.message : `${driver.name}: ${(err as Error).message}`;
      this.freshWanted = true;
      this.log.error('LB table apply failed', { error: detail });
      this.setFault(detail);
      throw err;
    }
    const ms = performance.now() - t0;
    // the sorry server's moves, decided by the table's rule (table.ts sorryServerIn), one line each
    for (const c of sorryChanges(this.lastDesired, desired))
      this.log[c.in ? 'warn' : 'info'](
        c.in
          ? `${c.vsName} sorry server ${c.server} IN: no real server can take new connections`
          : `${c.vsName} sorry server ${c.server} OUT`,
        { vs: c.vsName, sorry: c.in },
      );
    this.lastDesired = desired;
    this.lastActual = report.actual;
    const present = new Set(tableKeys(report.actual));
    this.applied = new Set([
      ...tableKeys(desired.services),
      ...[...this.applied].filter((k) => present.has(k)),
    ]);
    for (const w of report.warnings) this.warnOnce(w);
    this.foreignCount = report.foreign.length;
    for (const f of report.foreign) {
      if (this.loggedForeign.has(f)) continue;
      this.loggedForeign.add(f);
      this.log.info('foreign LB entry left alone', { entry: f });
    }
    if (report.ops > 0) {
      this.lastApplyMs = ms;
      this.applySeconds.push(ms / 1000);
      if (this.applySeconds.length > 1000) this.applySeconds.shift();
      this.log.debug('LB table applied', { ops: report.ops, ms: Math.round(ms) });
      this.emit('applied', { backend: driver.name, ops: report.ops, ms } satisfies LbApplied);
    }
    this.setFault(undefined);
  }

  private setFault(detail: string | undefined): void {
    if (detail === this.faultDetail) return;
    const was = this.faultDetail;
    this.faultDetail = detail;
    if (detail !== undefined) this.emit('fault', { on: true, detail } satisfies LbFault);
    else if (was !== undefined) {
      this.log.info('LB table fault cleared');
      this.emit('fault', { on: false, detail: 'LB table applied and verified' } satisfies LbFault);
    }
  }
}

export { realOwnerKey };
