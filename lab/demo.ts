/**
 * `npm run demo`: a whole LVS on one machine. Builds the lab, starts the pulse pair and real HTTP servers,
 * shows live client requests per second, the active router, which real server answered and failed
 * requests, while it walks through: kill the active router, kill a real server, bring both back.
 * Ends with a summary table. `--interactive` drives it by keys. Ctrl-C or the end leaves nothing behind.
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { Command } from 'commander';
import { request } from '../src/daemon/control';
import { hasCommand, LabPair, type RouterName } from './pair';

const NEEDED: [cmd: string, pkg: string][] = [
  ['ip', 'iproute2'],
  ['nft', 'nftables'],
  ['curl', 'curl'],
  ['tcpdump', 'tcpdump'],
];

interface Live {
  ok: number;
  failed: number;
  by: Record<string, number>;
  totalFailed: number;
  totalOk: number;
  roles: Record<RouterName, string>;
  step: string;
  events: string[];
}

interface StepResult {
  step: string;
  requests: number;
  failed: number;
  outageMs: number;
}

function checkDeps(install: boolean): void {
  const missing = NEEDED.filter(([c]) => !hasCommand(c)).map(([, p]) => p);
  if (missing.length === 0) return;
  if (!install) {
    process.stderr.write(
      `demo needs Debian packages: ${missing.join(' ')}\nrun: npm run demo -- --install   (or: apt-get install -y ${missing.join(' ')})\n`,
    );
    process.exit(2);
  }
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    stdio: 'inherit',
  });
}

function render(live: Live, lab: string): void {
  const tty = process.stdout.isTTY;
  const by = Object.entries(live.by)
    .sort()
    .map(([k, v]) => `${k} ${String(v).padStart(4)}`)
    .join('   ');
  const role = (r: RouterName) => {
    const x = live.roles[r] ?? '?';
    return x === 'active' ? (tty ? `\x1b[1;32mACTIVE\x1b[0m` : 'ACTIVE') : x;
  };
  const lines = [
    `lvs-pulse demo — lab ${lab} (Ctrl-C to quit)`,
    '',
    `  routers    r1 (primary) ${role('r1').padEnd(tty ? 17 : 8)}  r2 (backup) ${role('r2')}`,
    `  client     ${String(live.ok + live.failed).padStart(4)} req/s   failed this second ${String(live.failed).padStart(3)}   failed total ${live.totalFailed} of ${live.totalOk + live.totalFailed}`,
    `  served by  ${by || '-'}`,
    '',
    `  step       ${live.step}`,
    '',
    ...live.events.slice(-8).map((e) => `  ${e}`),
  ];
  if (tty) process.stdout.write(`\x1b[H\x1b[2J${lines.join('\n')}\n`);
  else process.stdout.write(`${lines[3]} | ${lines[4]?.trim()} | ${live.step}\n`);
}

async function main(): Promise<void> {
  const o = new Command('demo')
    .option('--interactive', 'drive the demo by keys instead of the scripted walk-through')
    .option('--install', 'install missing Debian packages first (apt-get)')
    .option('--step-seconds <n>', 'seconds to watch each step', '4')
    .parse()
    .opts<{ interactive?: boolean; install?: boolean; stepSeconds: string }>();
  if (process.getuid?.() !== 0) {
    process.stderr.write('the demo builds network namespaces: run it as root\n');
    process.exit(2);
  }
  checkDeps(o.install === true);
  const stepMs = Number(o.stepSeconds) * 1000;
  process.stdout.write('building the lab (namespaces, bridges, real servers, pulse pair)…\n');
  const pair = await LabPair.create({ prefix: 'dm', realServers: 2 });
  const live: Live = {
    ok: 0,
    failed: 0,
    by: {},
    totalFailed: 0,
    totalOk: 0,
    roles: { r1: '?', r2: '?' },
    step: 'starting',
    events: [],
  };
  const results: StepResult[] = [];
  let prober: ChildProcess | undefined;
  let pendingMark: ((m: StepResult) => void) | undefined;
  let quitting = false;
  const cleanup = async (code: number) => {
    if (quitting) return;
    quitting = true;
    clearInterval(roleTimer);
    if (prober?.pid) prober.kill('SIGKILL');
    await pair.destroy();
    process.exit(code);
  };
  process.on('SIGINT', () => void cleanup(130));
  process.on('SIGTERM', () => void cleanup(143));
  let ticks = 0;
  const roleTimer = setInterval(async () => {
    for (const r of ['r1', 'r2'] as const) live.roles[r] = (await pair.role(r)) ?? 'down';
    // A terminal is redrawn twice a second; a log (no TTY) gets one line a second.
    if (process.stdout.isTTY || ticks++ % 2 === 0) render(live, pair.lab.id);
  }, 500);

  try {
    await pair.waitRole('r1', 'active', 15000);
    prober = pair.startProber();
    let proberReady!: () => void;
    const ready = new Promise<void>((r) => {
      proberReady = r;
    });
    let buf = '';
    prober.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) {
        const j = JSON.parse(l) as {
          ready?: boolean;
          ok?: number;
          failed?: number;
          by?: Record<string, number>;
          mark?: { requests: number; failed: number; outageMs: number };
        };
        if (j.ready) proberReady();
        else if (j.mark && pendingMark) pendingMark({ step: live.step, ...j.mark });
        else if (j.ok !== undefined) {
          live.ok = j.ok;
          live.failed = j.failed ?? 0;
          live.by = j.by ?? {};
          live.totalOk += live.ok;
          live.totalFailed += live.failed;
        }
      }
    });
    await ready;
    const mark = () =>
      new Promise<StepResult>((resolve) => {
        pendingMark = (m) => {
          pendingMark = undefined;
          resolve(m);
        };
        prober!.kill('SIGUSR2');
      });
    const step = async (name: string, action: () => Promise<void>) => {
      await mark();
      live.step = name;
      live.events.push(`${new Date().toISOString().slice(11, 23)} ${name}`);
      await action();
      await new Promise((r) => setTimeout(r, stepMs));
      const m = await mark();
      results.push({ ...m, step: name });
      live.events.push(`   → ${m.failed} failed of ${m.requests}, longest outage ${m.outageMs} ms`);
    };
    const active = async (): Promise<RouterName> => ((await pair.role('r1')) === 'active' ? 'r1' : 'r2');

    if (o.interactive) {
      live.step =
        'keys: [k] crash the active router  [s] stop/start real server rs1  [r] bring everything back  [q] quit';
      process.stdin.setRawMode?.(true);
      process.stdin.resume();
      let rsDown = false;
      process.stdin.on('data', async (k: Buffer) => {
        const key = k.toString();
        if (key === 'q' || key === '\x03') return void cleanup(0);
        if (key === 'k') {
          const a = await active();
          live.events.push(`crash ${a}: links down + kill -9`);
          await pair.setLinks(a, false);
          await pair.killRouter(a);
        } else if (key === 's') {
          rsDown = !rsDown;
          live.events.push(rsDown ? 'kill real server rs1' : 'start real server rs1');
          if (rsDown) await pair.stopServer('rs1');
          else await pair.startServer('rs1');
        } else if (key === 'r') {
          live.events.push('bring everything back');
          for (const r of ['r1', 'r2'] as const) {
            await pair.setLinks(r, true);
            if ((await pair.role(r)) === undefined) await pair.startRouter(r);
          }
          if (!pair.servers.has('rs1')) await pair.startServer('rs1');
          rsDown = false;
        }
      });
      await new Promise(() => {});
    }

    await step('steady state: both real servers, r1 active', async () => {});
    let crashed: RouterName = 'r1';
    await step('crash the active router (links down + kill -9)', async () => {
      crashed = await active();
      await pair.setLinks(crashed, false);
      await pair.killRouter(crashed);
    });
    await step('kill real server rs1 (the nanny takes it out)', () => pair.stopServer('rs1'));
    await step('bring rs1 and the crashed router back (no preempt: it stays standby)', async () => {
      await pair.startServer('rs1');
      await pair.setLinks(crashed, true);
      await pair.startRouter(crashed);
    });
    await step('graceful switchover (pulsectl release on the active)', async () => {
      const a = await active();
      await request(pair.routers[a].runDir, 'release');
    });
    clearInterval(roleTimer);
    render(live, pair.lab.id);
    process.stdout.write(
      '\nSummary\n\n| step | requests | failed | longest outage (ms) |\n|---|---:|---:|---:|\n',
    );
    for (const r of results)
      process.stdout.write(`| ${r.step} | ${r.requests} | ${r.failed} | ${r.outageMs} |\n`);
    process.stdout.write('\n');
    await cleanup(0);
  } catch (err) {
    process.stderr.write(`demo failed: ${(err as Error).message}\n`);
    await cleanup(1);
  }
}

void main();
