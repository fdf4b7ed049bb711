/**
 * bench:lb, the part that runs INSIDE the VM (real IPVS): LbTable's ipvsadm backend vs plain `ipvsadm -R`
 * of the same lines, each in its own network namespace (IPVS tables are per namespace), both reached
 * through `ip netns exec` so the process overhead is the same. Writes $LVSP_RESULTS/result.json.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { diffTables, tableKeys } from '../src/ipvs/diff';
import { type Exec, execProcess } from '../src/ipvs/exec';
import { parseSave, restoreScript } from '../src/ipvs/format';
import { LbTable } from '../src/ipvs/index';
import { desiredTable, type LbTableState, weightKey } from '../src/ipvs/table';
import { nullLog } from '../src/lib/log';
import {
  type BenchShape,
  benchModel,
  fullWeights,
  median,
  onePercentChange,
  oneRemoval,
  undoRemoval,
} from './lb-model';

const run = promisify(execFile);
const out = process.env.LVSP_RESULTS ?? '/tmp';

/**
 * The daemon's path: a setWeight burst coalesces into one sync (diff against the last verified table,
 * one ipvsadm -R / nft -f, re-read, verify). Resolves on 'applied', rejects on 'fault'.
 */
function applied(lb: LbTable): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = () => {
      lb.off('fault', bad);
      resolve();
    };
    const bad = (f: { on: boolean; detail: string }) => {
      if (!f.on) return;
      lb.off('applied', ok);
      reject(new Error(f.detail));
    };
    lb.once('applied', ok);
    lb.on('fault', bad);
  });
}

async function main(): Promise<void> {
  const spec = JSON.parse(readFileSync(join(out, 'spec.json'), 'utf8')) as { args: string[] };
  const shape: BenchShape = { services: Number(spec.args[0] ?? 1000), reals: Number(spec.args[1] ?? 10) };
  const rounds = Number(spec.args[2] ?? 5);
  const res: Record<string, number | string> = {};
  const ours = `lpib-ours`;
  const base = `lpib-plain`;
  await run('ip', ['netns', 'add', ours]);
  await run('ip', ['netns', 'add', base]);
  // IPVS refuses NAT real servers ("address not unicast") while the namespace's lo is down.
  await run('ip', ['-n', ours, 'link', 'set', 'lo', 'up']);
  await run('ip', ['-n', base, 'link', 'set', 'lo', 'up']);
  const exec = execProcess(600_000);
  const inNs =
    (ns: string): Exec =>
    (file, args, input) =>
      exec('ip', ['netns', 'exec', ns, file, ...args], input);
  const m = benchModel(shape);
  const lb = new LbTable({ model: m, log: nullLog, backend: 'ipvsadm', exec: inNs(ours), coalesceMs: 0 });
  await lb.init();
  const weights = new Map<string, number | null>();
  let plainState: LbTableState = { services: [], timeouts: m.timeouts };
  const samples: Record<string, { ours: number[]; plain: number[] }> = {};
  const step = async (name: string, changes: [string, string, number | null][], timed = true) => {
    // lvs-pulse: the daemon's path (setWeight burst → one coalesced sync, verified by a re-read).
    const t0 = performance.now();
    for (const [v, r, w] of changes) lb.setWeight(v, r, w);
    await applied(lb);
    const oursMs = performance.now() - t0;
    if (lb.status().fault) res[`ours_${name}_fault`] = lb.status().fault as string;
    // Plain: the same ipvsadm lines, one `ipvsadm -R`, no read and no verification.
    const before = plainState;
    for (const [v, r, w] of changes) weights.set(weightKey(v, r), w);
    const after = desiredTable(m, weights).table;
    plainState = after;
    const script = restoreScript(diffTables(after, before, new Set(tableKeys(before.services))).ops);
    const t1 = performance.now();
    const r = await inNs(base)('ipvsadm', ['-R'], script);
    const plainMs = performance.now() - t1;
    if (r.code !== 0) res[`plain_${name}_error`] = r.stderr.slice(0, 300);
    if (!timed) return;
    res[`${name}_lines`] = script.split('\n').filter(Boolean).length;
    samples[name] ??= { ours: [], plain: [] };
    const s = samples[name];
    s.ours.push(oursMs);
    s.plain.push(plainMs);
    res[`ours_${name}_ms`] = median(s.ours);
    res[`plain_${name}_ms`] = median(s.plain);
    res[`${name}_rounds`] = s.ours.length;
  };
  await step('full', fullWeights(shape));
  for (let i = 0; i < rounds; i++) await step('weights1pct', onePercentChange(shape, i));
  for (let i = 0; i < rounds; i++) {
    await step('removal', oneRemoval(shape, i));
    await step('undo', undoRemoval(shape, i), false);
  }
  const t0 = performance.now();
  const a = (await inNs(ours)('ipvsadm', ['-Sn'])).stdout;
  res.read_Sn_ms = performance.now() - t0;
  const t1 = performance.now();
  parseSave(a);
  res.parse_Sn_ms = performance.now() - t1;
  const b = (await inNs(base)('ipvsadm', ['-Sn'])).stdout;
  const sorted = (t: string) => t.split('\n').filter(Boolean).sort().join('\n');
  res.tables_equal = String(sorted(a) === sorted(b));
  res.entries = a.split('\n').filter(Boolean).length;
  writeFileSync(join(out, 'result.json'), JSON.stringify(res, null, 1));
}

main().catch((e: unknown) => {
  writeFileSync(join(out, 'result.json'), JSON.stringify({ error: (e as Error).stack ?? String(e) }));
  process.exitCode = 1;
});
