/**
 * The ipvsadm edge: read the kernel's IPVS table (`ipvsadm -Sn`, timeouts from `-L --timeout`), apply a
 * batch through `ipvsadm -R` on stdin, then RE-READ and verify — `ipvsadm -R` applies line by line, never
 * rolls back, and exits with the status of the last line only. A mismatch is retried once (only the ops
 * still missing), then raised as {@link LbApplyError}. Connection sync is syncd.ts (sync.ts drives it).
 */
import type { Log } from '../lib/log';
import { LbApplyError, type LbDriver, type SyncOptions, type SyncReport } from './backend';
import { diffTables } from './diff';
import type { Exec } from './exec';
import { type LbOp, opArgs, parseList, parseSave, parseTimeouts, restoreScript } from './format';
import type { LbService, LbTableState, LbTimeouts } from './table';

/** What the kernel holds now. */
export interface IpvsActual {
  services: LbService[];
  timeouts?: LbTimeouts;
}

/** Talks to the kernel through the ipvsadm binary. */
export class IpvsadmDriver implements LbDriver {
  readonly name = 'ipvsadm' as const;
  private readonly reportedProblems = new Set<string>();
  /** The table as read back after the last successful sync (for non-fresh syncs). */
  private cache: IpvsActual | undefined;

  constructor(private readonly opts: { path: string; exec: Exec; log: Log }) {}

  private async ipvsadm(args: string[], input?: string) {
    return this.opts.exec(this.opts.path, args, input);
  }

  /** Read the table (`-Sn`) and, when asked, the timeouts; throws when ipvsadm itself fails. */
  async read(withTimeouts = true): Promise<IpvsActual> {
    const save = await this.ipvsadm(['-Sn']);
    if (save.code !== 0) throw new Error(`ipvsadm -Sn failed (exit ${save.code}): ${save.stderr.trim()}`);
    const { services, problems } = parseSave(save.stdout);
    for (const p of problems) {
      const k = `${p.reason}|${p.text}`;
      if (this.reportedProblems.has(k)) continue;
      this.reportedProblems.add(k);
      this.opts.log.warn('ipvsadm -Sn line not understood; ignored', {
        line: p.line,
        text: p.text,
        reason: p.reason,
      });
    }
    if (!withTimeouts) return { services };
    const t = await this.ipvsadm(['-Ln', '--timeout']);
    const timeouts = t.code === 0 ? parseTimeouts(t.stdout) : undefined;
    return timeouts ? { services, timeouts } : { services };
  }

  /** Send one batch: `--set` separately (not a restore line), the rest through `ipvsadm -R`. */
  async apply(ops: LbOp[]): Promise<string[]> {
    const errors: string[] = [];
    for (const op of ops) {
      if (op.op !== 'set-timeouts') continue;
      const r = await this.ipvsadm(opArgs(op));
      if (r.code !== 0) errors.push(`ipvsadm ${opArgs(op).join(' ')}: exit ${r.code}: ${r.stderr.trim()}`);
    }
    const script = restoreScript(ops);
    if (script) {
      const r = await this.ipvsadm(['-R'], script);
      // Exit status is the last line's only: stderr lists every rejected line; verification decides.
      if (r.code !== 0 || r.stderr.trim()) errors.push(`ipvsadm -R: exit ${r.code}: ${r.stderr.trim()}`);
    }
    return errors;
  }

  async sync(desired: LbTableState, owned: ReadonlySet<string>, opts: SyncOptions = {}): Promise<SyncReport> {
    // Timeouts are read only when we set some (one process less per sync: they are slow to start).
    const t = desired.timeouts;
    const withT = t.tcp !== 0 || t.tcpfin !== 0 || t.udp !== 0;
    const cached =
      opts.fresh === false && this.cache && (!withT || this.cache.timeouts) ? this.cache : undefined;
    this.cache = undefined;
    let actual = cached ?? (await this.read(withT));
    const first = diffTables(desired, actual, owned);
    if (first.ops.length === 0) {
      this.cache = actual;
      return { ops: 0, foreign: first.foreign, actual: actual.services, warnings: [] };
    }
    let sent = first.ops.length;
    let errors = await this.apply(first.ops);
    // A small burst against the cached table (a nanny verdict): re-read just the services it touched.
    // Anything short of a clean match falls back to the full re-read below.
    const quick = cached ? await this.rereadTouched(cached, first.ops) : undefined;
    if (quick && diffTables(desired, quick, owned).ops.length === 0) {
      this.cache = quick;
      return { ops: sent, foreign: first.foreign, actual: quick.services, warnings: [] };
    }
    actual = await this.read(withT);
    let rest = diffTables(desired, actual, owned);
    if (rest.ops.length > 0) {
      this.opts.log.warn('ipvsadm apply did not verify; retrying the missing operations once', {
        missing: rest.ops.map((o) => opArgs(o).join(' ')).slice(0, 10),
        errors,
      });
      sent += rest.ops.length;
      errors = await this.apply(rest.ops);
      actual = await this.read(withT);
      rest = diffTables(desired, actual, owned);
      if (rest.ops.length > 0) {
        throw new LbApplyError('ipvsadm', [
          ...rest.ops.map((o) => `still needed: ${opArgs(o).join(' ')}`),
          ...errors,
        ]);
      }
    }
    this.cache = actual;
    return { ops: sent, foreign: rest.foreign, actual: actual.services, warnings: [] };
  }

  /**
   * The cached table with the services `ops` touched re-read by `ipvsadm -Ln --exact SERVICE` (one
   * process each; `-S` takes no service), or undefined when too many were touched or a read failed.
   */
  private async rereadTouched(cached: IpvsActual, ops: LbOp[]): Promise<IpvsActual | undefined> {
    const touched = new Set<string>();
    for (const o of ops) {
      if (o.op === 'set-timeouts') return undefined;
      touched.add(
        o.op === 'delete-service'
          ? o.key
          : o.op === 'add-service' || o.op === 'edit-service'
            ? o.service.key
            : o.service,
      );
    }
    if (touched.size > IpvsadmDriver.QUICK_VERIFY_MAX) return undefined;
    const fresh = new Map<string, LbService | null>();
    for (const key of touched) {
      const r = await this.ipvsadm(['-Ln', '--exact', ...key.split(' ')]);
      if (r.code !== 0) {
        if (/No such service/i.test(r.stderr)) fresh.set(key, null);
        else return undefined;
        continue;
      }
      const got = parseList(r.stdout).find((s) => s.key === key);
      if (!got) return undefined;
      fresh.set(key, got);
    }
    const services: LbService[] = [];
    for (const s of cached.services) {
      if (!fresh.has(s.key)) services.push(s);
      else {
        const f = fresh.get(s.key);
        if (f) services.push(f);
        fresh.delete(s.key);
      }
    }
    for (const f of fresh.values()) if (f) services.push(f);
    return cached.timeouts ? { services, timeouts: cached.timeouts } : { services };
  }

  /** Batches touching at most this many services are verified service by service. */
  static QUICK_VERIFY_MAX = 4;
}
