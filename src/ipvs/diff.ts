/**
 * Diff engine (pure): desired table vs the kernel's → the minimal list of ipvsadm operations.
 *
 * - A weight or forwarding change is one edit (`-e`) carrying every option, never delete + add (that would
 *   drop the real server's connections). A scheduler/persistence change is one `-E`, likewise complete.
 * - Only entries we own are touched. A service or real server is ours when it is in the desired table, or
 *   the model names it (an inactive virtual, a real server the nanny took out), or we applied it earlier
 *   (`applied`, e.g. a virtual since removed from the config). Everything else is foreign: left alone and
 *   returned in `foreign` so the caller can log it once.
 * - Never a table flush (`ipvsadm -C`).
 */
import type { LbOp } from './format';
import { type LbReal, type LbService, type LbTableState, type LbTimeouts, realOwnerKey } from './table';

export { realOwnerKey };

/** Result of {@link diffTables}. */
export interface DiffResult {
  /** In apply order: timeouts, new services, service edits, new reals, real edits, real deletes, service deletes. */
  ops: LbOp[];
  /** Foreign service keys and foreign real owner keys ({@link realOwnerKey}), sorted. */
  foreign: string[];
}

/**
 * Compute the operations that turn `actual` into `desired`.
 * @param owned keys the model names (see {@link ownedKeys}) plus keys applied by us earlier
 */
export function diffTables(
  desired: LbTableState,
  actual: { services: LbService[]; timeouts?: LbTimeouts },
  owned: ReadonlySet<string>,
): DiffResult {
  const want = new Map(desired.services.map((s) => [s.key, s]));
  const have = new Map(actual.services.map((s) => [s.key, s]));
  const isOurs = (key: string) => want.has(key) || owned.has(key);
  const addSvc: LbOp[] = [];
  const editSvc: LbOp[] = [];
  const addReal: LbOp[] = [];
  const editReal: LbOp[] = [];
  const delReal: LbOp[] = [];
  const delSvc: LbOp[] = [];
  const foreign: string[] = [];

  for (const d of want.values()) {
    const a = have.get(d.key);
    if (!a) {
      addSvc.push({ op: 'add-service', service: d });
      for (const r of d.reals) addReal.push({ op: 'add-real', service: d.key, real: r });
      continue;
    }
    if (serviceDiffers(d, a)) editSvc.push({ op: 'edit-service', service: d });
    const haveReals = new Map(a.reals.map((r) => [r.key, r]));
    const wantReals = new Set(d.reals.map((r) => r.key));
    for (const r of d.reals) {
      const ar = haveReals.get(r.key);
      if (!ar) addReal.push({ op: 'add-real', service: d.key, real: r });
      else if (realDiffers(r, ar)) editReal.push({ op: 'edit-real', service: d.key, real: r });
    }
    for (const ar of a.reals) {
      if (wantReals.has(ar.key)) continue;
      const ok = realOwnerKey(d.key, ar.key);
      if (owned.has(ok)) delReal.push({ op: 'delete-real', service: d.key, real: ar.key });
      else foreign.push(ok);
    }
  }
  for (const a of have.values()) {
    if (want.has(a.key)) continue;
    if (isOurs(a.key)) delSvc.push({ op: 'delete-service', key: a.key });
    else foreign.push(a.key);
  }
  const ops: LbOp[] = [];
  const t = timeoutsToSet(desired.timeouts, actual.timeouts);
  if (t) ops.push({ op: 'set-timeouts', timeouts: t });
  ops.push(...addSvc, ...editSvc, ...addReal, ...editReal, ...delReal, ...delSvc);
  return { ops, foreign: foreign.sort() };
}

function serviceDiffers(d: LbService, a: LbService): boolean {
  return (
    d.scheduler !== a.scheduler ||
    d.persistentS !== a.persistentS ||
    (d.persistentS > 0 && (d.pmask ?? '') !== (a.pmask ?? ''))
  );
}

function realDiffers(d: LbReal, a: LbReal): boolean {
  return d.weight !== a.weight || d.forwarding !== a.forwarding;
}

/** The `--set` to issue, or undefined when every non-zero desired timeout already holds (0 = keep the kernel's). */
function timeoutsToSet(want: LbTimeouts, have: LbTimeouts | undefined): LbTimeouts | undefined {
  if (want.tcp === 0 && want.tcpfin === 0 && want.udp === 0) return undefined;
  if (
    have &&
    (want.tcp === 0 || want.tcp === have.tcp) &&
    (want.tcpfin === 0 || want.tcpfin === have.tcpfin) &&
    (want.udp === 0 || want.udp === have.udp)
  ) {
    return undefined;
  }
  return { ...want };
}

/** Every ownership key a table names: its service keys and the {@link realOwnerKey} of each real server. */
export function tableKeys(services: LbService[]): string[] {
  const out: string[] = [];
  for (const s of services) {
    out.push(s.key);
    for (const r of s.reals) out.push(realOwnerKey(s.key, r.key));
  }
  return out;
}
