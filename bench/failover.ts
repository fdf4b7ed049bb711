/**
 * `npm run bench:failover`: the client-visible failover outage on the lab, lvs-pulse against keepalived
 * (Debian's package) in the same run and on the same topology.
 *
 * Crash = both links of the active router cut at the switch, then kill -9 of its daemon. The client starts a
 * new HTTP request to the VIP every 5 ms; a request counts as served only if answered within 50 ms; the
 * outage is the longest run of unserved starts (src/lab/prober.ts). Also measured: failed requests on a
 * planned switchover (SIGTERM of the active) for each contender.
 *
 * Options: --reps N (default 5), --only pulse-default,pulse-fast,keepalived-1,keepalived-0.1,keepalived-0.01
 * Writes bench/results/failover-<date>.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../src/config';
import { buildLbRuleset } from '../src/ipvs/nftrules';
import { LabPair, ROOT, type RouterName, stopProber } from '../src/lab/pair';
import { LAB_NET } from '../src/lab/topology';

interface Trial {
  outageMs: number;
  failed: number;
  requests: number;
  takeoverMs: number;
}

interface Contender {
  name: string;
  setting: string;
  kind: 'pulse' | 'keepalived';
  /** lvs.cf global lines for pulse; advert_int for keepalived. */
  globals?: string[];
  advertInt?: number;
}

const CONTENDERS: Contender[] = [
  { name: 'pulse-default', setting: 'lvs-pulse, shipped defaults', kind: 'pulse', globals: [] },
  {
    name: 'pulse-fast',
    setting: 'lvs-pulse, fast profile (keepalive 0.005, deadtime 0.015)',
    kind: 'pulse',
    globals: ['keepalive = 0.005', 'deadtime = 0.015'],
  },
  { name: 'keepalived-1', setting: 'keepalived, advert_int 1 (default)', kind: 'keepalived', advertInt: 1 },
  {
    name: 'keepalived-0.1',
    setting: 'keepalived, advert_int 0.1 (VRRPv3)',
    kind: 'keepalived',
    advertInt: 0.1,
  },
  {
    name: 'keepalived-0.01',
    setting: 'keepalived, advert_int 0.01 (its floor)',
    kind: 'keepalived',
    advertInt: 0.01,
  },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function keepalivedConf(r: RouterName, advertInt: number): string {
  const prio = r === 'r1' ? 200 : 100;
  return `global_defs {
  router_id ${r}
  vrrp_version 3
  vrrp_garp_master_delay 0
  vrrp_garp_master_repeat 3
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority ${prio}
  advert_int ${advertInt}
  virtual_ipaddress {
    ${LAB_NET.vip}/32 dev eth0
    ${LAB_NET.natGateway}/24 dev eth1
  }
}
`;
}

/** keepalived's pair on the same lab: the same nft DNAT table installed on both routers (hot standby). */
async function startKeepalived(pair: LabPair, advertInt: number): Promise<void> {
  const model = loadConfig(pair.configPath).model;
  const ruleset = buildLbRuleset(model, new Map());
  for (const r of ['r1', 'r2'] as const) {
    await pair.lab.exec(r, 'nft', ['-f', '-'], ruleset);
    const conf = join(pair.dir, `keepalived-${r}.conf`);
    writeFileSync(conf, keepalivedConf(r, advertInt));
    const p = pair.lab.spawn(r, 'keepalived', [
      '--dont-fork',
      '--log-console',
      '--vrrp',
      '-f',
      conf,
      '-p',
      join(pair.dir, `ka-${r}.pid`),
      '-r',
      join(pair.dir, `ka-vrrp-${r}.pid`),
    ]);
    pair.routers[r].proc = p;
  }
}

async function waitHolder(pair: LabPair, r: RouterName, timeoutMs = 20000): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const h = await pair.holders();
    if (h.length === 1 && h[0] === r) return Date.now() - t0;
    await sleep(10);
  }
  throw new Error(`${r} did not become the only VIP holder within ${timeoutMs} ms`);
}

async function crashTrial(c: Contender): Promise<Trial> {
  const pair = await LabPair.create({
    prefix: 'bf',
    globals: c.globals,
    start: c.kind === 'pulse',
  });
  try {
    if (c.kind === 'keepalived') await startKeepalived(pair, c.advertInt!);
    await waitHolder(pair, 'r1');
    // Let the pair settle (caches warm, standby hot).
    await sleep(1500);
    const prober = pair.startProber();
    await sleep(1500);
    const t0 = Date.now();
    await pair.setLinks('r1', false);
    const proc = pair.routers.r1.proc!;
    if (proc.pid) process.kill(-proc.pid, 'SIGKILL');
    const takeoverMs = await waitHolder2(pair, t0);
    await sleep(2000);
    const s = await stopProber(prober);
    return { outageMs: s.outageMs, failed: s.failed, requests: s.requests, takeoverMs };
  } finally {
    await pair.destroy();
  }
}

/** Time from the cut until r2 holds the VIP (r1 still has it on its cut interface: count r2 only). */
async function waitHolder2(pair: LabPair, t0: number): Promise<number> {
  for (;;) {
    const { stdout } = await pair.lab.exec('r2', 'ip', ['-j', 'addr', 'show', 'dev', 'eth0']);
    if (stdout.includes(`"${LAB_NET.vip}"`)) return Date.now() - t0;
    if (Date.now() - t0 > 20000) throw new Error('r2 never took the VIP');
    await sleep(2);
  }
}

async function gracefulTrial(c: Contender): Promise<Trial> {
  const pair = await LabPair.create({ prefix: 'bg', globals: c.globals, start: c.kind === 'pulse' });
  try {
    if (c.kind === 'keepalived') await startKeepalived(pair, c.advertInt!);
    await waitHolder(pair, 'r1');
    await sleep(1500);
    const prober = pair.startProber();
    await sleep(1500);
    const t0 = Date.now();
    const proc = pair.routers.r1.proc!;
    process.kill(c.kind === 'pulse' ? proc.pid! : proc.pid!, 'SIGTERM');
    const takeoverMs = await waitHolder2(pair, t0);
    await sleep(2000);
    const s = await stopProber(prober);
    return { outageMs: s.outageMs, failed: s.failed, requests: s.requests, takeoverMs };
  } finally {
    await pair.destroy();
  }
}

function stats(xs: number[]): { min: number; median: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return {
    min: s[0] ?? Number.NaN,
    median: s[Math.floor(s.length / 2)] ?? Number.NaN,
    max: s[s.length - 1] ?? Number.NaN,
  };
}

async function main(): Promise<void> {
  const o = new Command('bench:failover')
    .option('--reps <n>', 'repetitions per contender', '5')
    .option('--only <names>', 'comma-separated contenders', CONTENDERS.map((c) => c.name).join(','))
    .option('--no-graceful', 'skip the planned-switchover trials')
    .parse()
    .opts<{ reps: string; only: string; graceful: boolean }>();
  const reps = Number(o.reps);
  const chosen = CONTENDERS.filter((c) => o.only.split(',').includes(c.name));
  const rows: string[] = [];
  const results: Record<string, { crash: Trial[]; graceful: Trial[] }> = {};
  for (const c of chosen) {
    results[c.name] = { crash: [], graceful: [] };
    for (let i = 0; i < reps; i++) {
      const t = await crashTrial(c);
      results[c.name]!.crash.push(t);
      process.stdout.write(
        `${c.name} crash #${i + 1}: outage ${t.outageMs} ms, takeover ${t.takeoverMs} ms, failed ${t.failed}/${t.requests}\n`,
      );
    }
    if (o.graceful) {
      const t = await gracefulTrial(c);
      results[c.name]!.graceful.push(t);
      process.stdout.write(`${c.name} graceful: outage ${t.outageMs} ms, failed ${t.failed}/${t.requests}\n`);
    }
  }
  const ref = results['keepalived-0.01'] ?? results['keepalived-0.1'];
  const refMedian = ref ? stats(ref.crash.map((t) => t.outageMs)).median : Number.NaN;
  rows.push(
    '| contender | crash outage ms min / median / max | ratio to keepalived ref (median) | takeover ms (median) | failed on planned switchover |',
  );
  rows.push('|---|---|---:|---:|---|');
  for (const c of chosen) {
    const r = results[c.name]!;
    const s = stats(r.crash.map((t) => t.outageMs));
    const tk = stats(r.crash.map((t) => t.takeoverMs));
    const g = r.graceful[0];
    rows.push(
      `| ${c.setting} | ${s.min} / ${s.median} / ${s.max} | ${Number.isFinite(refMedian) && refMedian > 0 ? (s.median / refMedian).toFixed(2) : '-'} | ${tk.median} | ${g ? `${g.failed} of ${g.requests}` : '-'} |`,
    );
  }
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, kernel ${execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim()}, node ${process.version}, keepalived ${(() => {
    try {
      return execFileSync('keepalived', ['--version'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }).split('\n')[0];
    } catch (e) {
      return String((e as { stderr?: string }).stderr ?? '').split('\n')[0] || 'unknown';
    }
  })()}`;
  const md = [
    `# Failover benchmark, ${new Date().toISOString()}`,
    '',
    `Machine: ${machine}.`,
    `Reference for ratios: ${ref === results['keepalived-0.01'] ? 'keepalived advert_int 0.01' : 'keepalived advert_int 0.1'} (median ${refMedian} ms).`,
    `Method: crash = both links of the active cut at the switch, then kill -9; a new HTTP request from the client every 5 ms, served only if answered within 50 ms; outage = longest run of unserved starts. ${reps} repetitions each, a fresh lab per repetition.`,
    '',
    ...rows,
    '',
  ].join('\n');
  process.stdout.write(`\n${md}`);
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `failover-${new Date().toISOString().slice(0, 10)}.md`), md);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:failover failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
