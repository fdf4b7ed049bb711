/**
 * bench:lb — 1,000 virtual services × 10 real servers: full apply, a 1 % weight change and one real
 * server removal, timed for
 *   - nftables here (LbTable in a lab namespace: build + one `nft -f -` transaction + read-back verify),
 *     against a plain `nft -f -` of the same transaction;
 *   - ipvsadm on a real IPVS kernel in the VM (qemu TCG: absolute figures are slow, ratios are the point),
 *     against a plain `ipvsadm -R` of the same lines in the same run.
 *
 *   tsx bench/lb.ts [--services 1000] [--reals 10] [--rounds 5] [--no-vm]
 */
import { resolve } from 'node:path';
import { Command } from 'commander';
import { prepareVm, runInVm, vmUnavailable } from '../scripts/vm/vm';
import { type Exec, execProcess } from '../src/ipvs/exec';
import { LbTable } from '../src/ipvs/index';
import { buildRuleset } from '../src/ipvs/nftrules';
import { desiredTable, weightKey } from '../src/ipvs/table';
import { isRoot, Lab } from '../lab/netns';
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

const STEPS = [
  ['full', 'full apply'],
  ['weights1pct', '1 % weight change'],
  ['removal', 'one real server removal'],
] as const;

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

async function benchNft(shape: BenchShape, rounds: number): Promise<Record<string, number>> {
  const lab = await Lab.create('lpi');
  const res: Record<string, number> = {};
  try {
    await lab.addNs('ours');
    await lab.addNs('plain');
    const exec = execProcess(600_000);
    const inNs =
      (ns: string): Exec =>
      (file, args, input) =>
        exec('ip', ['netns', 'exec', lab.nsName(ns), file, ...args], input);
    const m = benchModel(shape);
    const lb = new LbTable({
      model: m,
      log: nullLog,
      backend: 'nftables',
      exec: inNs('ours'),
      coalesceMs: 0,
    });
    await lb.init();
    const weights = new Map<string, number | null>();
    const samples: Record<string, { ours: number[]; plain: number[] }> = {};
    const step = async (key: string, changes: [string, string, number | null][], timed = true) => {
      const t0 = performance.now();
      for (const [v, r, w] of changes) lb.setWeight(v, r, w);
      await applied(lb);
      const oursMs = performance.now() - t0;
      if (lb.status().fault) throw new Error(`nftables fault: ${lb.status().fault}`);
      for (const [v, r, w] of changes) weights.set(weightKey(v, r), w);
      const script = buildRuleset(desiredTable(m, weights).table).script;
      const t1 = performance.now();
      const r = await inNs('plain')('nft', ['-f', '-'], script);
      const plainMs = performance.now() - t1;
      if (r.code !== 0) throw new Error(`plain nft -f failed: ${r.stderr}`);
      if (!timed) return;
      samples[key] ??= { ours: [], plain: [] };
      const s = samples[key];
      s.ours.push(oursMs);
      s.plain.push(plainMs);
      res[`ours_${key}_ms`] = median(s.ours);
      res[`plain_${key}_ms`] = median(s.plain);
      res[`${key}_rounds`] = s.ours.length;
    };
    await step('full', fullWeights(shape));
    for (let i = 0; i < rounds; i++) await step('weights1pct', onePercentChange(shape, i));
    for (let i = 0; i < rounds; i++) {
      await step('removal', oneRemoval(shape, i));
      await step('undo', undoRemoval(shape, i), false);
    }
    const rules = await inNs('ours')('nft', ['list', 'table', 'ip', 'lvs_pulse']);
    res.rules = (rules.stdout.match(/dnat ip to/g) ?? []).length;
  } finally {
    await lab.destroy();
  }
  return res;
}

function fmt(ms: number | undefined): string {
  return ms === undefined ? '—' : ms >= 100 ? ms.toFixed(0) : ms.toFixed(1);
}

function table(title: string, res: Record<string, number | string>, plainName: string): void {
  process.stdout.write(`\n${title}\n`);
  process.stdout.write(
    `  ${'step'.padEnd(46)}${'lvs-pulse ms'.padStart(14)}${`${plainName} ms`.padStart(22)}${'ratio'.padStart(9)}\n`,
  );
  for (const [key, label] of STEPS) {
    const ours = Number(res[`ours_${key}_ms`]);
    const plain = Number(res[`plain_${key}_ms`]);
    const n = res[`${key}_rounds`];
    const lines =
      (res[`${key}_lines`] !== undefined ? ` (${res[`${key}_lines`]} lines)` : '') +
      (n !== undefined && Number(n) > 1 ? `, median of ${n}` : '');
    process.stdout.write(
      `  ${`${label}${lines}`.padEnd(46)}${fmt(ours).padStart(14)}${fmt(plain).padStart(22)}${`${(ours / plain).toFixed(2)}×`.padStart(9)}\n`,
    );
  }
}

async function main(): Promise<void> {
  const opts = new Command()
    .option('--services <n>', 'virtual services', '1000')
    .option('--reals <n>', 'real servers per virtual service', '10')
    .option('--rounds <n>', 'rounds of the weight change and the removal (median reported)', '5')
    .option('--no-vm', 'skip the ipvsadm part (VM)')
    .parse()
    .opts<{ services: string; reals: string; rounds: string; vm: boolean }>();
  const shape = { services: Number(opts.services), reals: Number(opts.reals) };
  if (!isRoot()) throw new Error('bench:lb needs root (network namespaces, nft, qemu)');
  process.stdout.write(`bench:lb — ${shape.services} virtual services × ${shape.reals} real servers\n`);
  const rounds = Number(opts.rounds);
  const nft = await benchNft(shape, rounds);
  table(`nftables (this kernel, lab namespace; ${nft.rules} rules):`, nft, 'plain nft -f');
  if (opts.vm) {
    const why = vmUnavailable();
    if (why) {
      process.stdout.write(`\nipvsadm part skipped: ${why}\n`);
      return;
    }
    const vm = await prepareVm();
    const r = await runInVm(vm, {
      script: resolve(__dirname, 'lb-guest.ts'),
      args: [String(shape.services), String(shape.reals), String(rounds)],
      timeoutMs: 900_000,
    });
    const res = JSON.parse(r.results['result.json'] ?? '{}') as Record<string, number | string>;
    if (res.error) throw new Error(`VM bench failed: ${res.error}`);
    table(
      `ipvsadm (real IPVS, Debian ${vm.kernelVersion} under qemu TCG; ${res.entries} -Sn lines; tables equal: ${res.tables_equal}):`,
      res,
      'plain ipvsadm -R',
    );
    process.stdout.write(
      `  (one \`ipvsadm -Sn\` of the table: ${fmt(Number(res.read_Sn_ms))} ms; parsing it: ${fmt(Number(res.parse_Sn_ms))} ms)\n`,
    );
    process.stdout.write(`\nVM run ${(r.wallMs / 1000).toFixed(1)} s\n`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
