/**
 * A running LVS in the lab: the standard topology, real HTTP servers that say who they are, and a pulse
 * pair (one daemon per router namespace, each with its own run dir). Used by the demo, the E2E tests and
 * the benchmarks alike.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from '../src/daemon/control';
import type { StatusJson } from '../src/daemon/status';
import { buildLvsLab, LAB_NET, type LvsLab } from './topology';

// lab/pair.ts runs from lab/ (tsx) or build-lab/lab/ (built).
/** The repository root (lab/ runs from lab/ with tsx, or from build-lab/lab/ when built). */
export const ROOT = resolve(__dirname, '..', ...(__dirname.includes('build-lab') ? ['..'] : []));
/** The two routers of the lab pair (r1 is the primary). */
export type RouterName = 'r1' | 'r2';

/** How to run a TypeScript/JS entry point: compiled JS when built (fast start), else through tsx. */
export function nodeEntry(rel: string): string[] {
  // src/ is built into dist/ (shipped); lab/ into build-lab/ (not shipped: package.json "files").
  const js = rel.startsWith('src/')
    ? join(ROOT, 'dist', rel.replace(/^src\//, '').replace(/\.ts$/, '.js'))
    : join(ROOT, 'build-lab', rel.replace(/\.ts$/, '.js'));
  if (existsSync(js) && !process.env.LVS_PULSE_USE_TSX) return [js];
  return ['--import', 'tsx', join(ROOT, rel)];
}

/** How {@link LabPair.create} builds the lab and the pulse pair. */
export interface PairOptions {
  prefix: string;
  realServers?: number;
  /** lvs.cf text lines added to the global section (e.g. `keepalive = 0.02`). */
  globals?: string[];
  /** lvs.cf lines added inside the virtual server block. */
  virtualExtra?: string[];
  /** Weights per real server (default 1 each). */
  weights?: number[];
  /** Start the daemons (default true). */
  start?: boolean;
  /** Extra args to pulse. */
  pulseArgs?: string[];
  /**
   * A second virtual server `bulk` (VIP 198.18.0.20:80) with this many real servers 198.19.x.y, all served
   * by rs1 through one next hop (so the routers' neighbour tables hold one entry): probe load at scale.
   */
  bulk?: number;
  /** Environment for the pulse daemons. */
  env?: NodeJS.ProcessEnv;
  /**
   * A second virtual server `echo` on VIP:echoPort over the same real servers (the connection-survival
   * workload, lab/survival.ts); each real server then also runs lab/echo-server.ts on that port.
   */
  echoPort?: number;
  /** Which real servers are `active = 1` in the config (default all): a later writeConfig can add one. */
  realServerActive?: boolean[];
}

/** The VIP of the optional `bulk` virtual server (probe load at scale). */
export const BULK_VIP = '198.18.0.20';
/** Address of bulk real server i (0-based): 198.19.0.1 … 198.19.x.254. */
export function bulkAddress(i: number): string {
  return `198.19.${Math.floor(i / 254)}.${(i % 254) + 1}`;
}

/** One router's pulse daemon: its run directory, its process and the log lines it wrote. */
export interface RouterProc {
  name: RouterName;
  runDir: string;
  proc?: ChildProcess;
  log: string[];
}

/** Builds the lvs.cf the lab pair runs (NAT, one HTTP virtual server on the VIP, nftables backend). */
export function labLvsCf(o: {
  keyFile: string;
  realServers: number;
  weights?: number[];
  globals?: string[];
  virtualExtra?: string[];
  bulk?: number;
  echoPort?: number;
  realServerActive?: boolean[];
}): string {
  const lines = [
    '# lvs-pulse lab pair (generated)',
    'serial_no = 1',
    `primary = ${LAB_NET.routers.r1.public}`,
    `primary_private = ${LAB_NET.routers.r1.private}`,
    `backup = ${LAB_NET.routers.r2.public}`,
    `backup_private = ${LAB_NET.routers.r2.private}`,
    'backup_active = 1',
    'service = lvs',
    'heartbeat_port = 539',
    'network = nat',
    `nat_router = ${LAB_NET.natGateway} eth1:1`,
    'nat_nmask = 255.255.255.0',
    `heartbeat_key_file = ${o.keyFile}`,
    'lb_backend = nftables',
    'metrics_listen = 127.0.0.1:9539',
    ...(o.globals ?? []),
    'virtual web {',
    '  active = 1',
    `  address = ${LAB_NET.vip} eth0:1`,
    '  vip_nmask = 255.255.255.255',
    '  port = 80',
    '  protocol = tcp',
    '  scheduler = wrr',
    '  send = "GET / HTTP/1.0\\r\\n\\r\\n"',
    '  expect = "HTTP"',
    ...(o.virtualExtra ?? []).map((l) => `  ${l}`),
  ];
  const servers = () => {
    for (let i = 1; i <= o.realServers; i++) {
      const active = o.realServerActive?.[i - 1] ?? true;
      lines.push(
        `  server rs${i} {`,
        `    address = ${LAB_NET.realServer(i)}`,
        `    active = ${active ? 1 : 0}`,
      );
      lines.push(`    weight = ${o.weights?.[i - 1] ?? 1}`, '  }');
    }
  };
  servers();
  lines.push('}');
  if (o.echoPort) {
    lines.push(
      'virtual echo {',
      '  active = 1',
      `  address = ${LAB_NET.vip} eth0:1`,
      '  vip_nmask = 255.255.255.255',
    );
    lines.push(`  port = ${o.echoPort}`, '  protocol = tcp', '  scheduler = wrr', '  probe = tcp');
    servers();
    lines.push('}');
  }
  if (o.bulk) {
    lines.push(
      'virtual bulk {',
      '  active = 1',
      `  address = ${BULK_VIP} eth0:2`,
      '  vip_nmask = 255.255.255.255',
    );
    lines.push('  port = 80', '  protocol = tcp', '  scheduler = wrr', '  timeout = 1', '  reentry = 2');
    for (let i = 0; i < o.bulk; i++) lines.push(`  server b${i} {`, `    address = ${bulkAddress(i)}`, '  }');
    lines.push('}');
  }
  lines.push('');
  return lines.join('\n');
}

/**
 * A running LVS in the lab: the topology, the real HTTP servers and the two pulse daemons, with helpers
 * to read their status, crash or stop them, probe the VIP from the client and tear everything down.
 */
export class LabPair {
  readonly dir: string;
  readonly configPath: string;
  readonly keyFile: string;
  readonly routers: Record<RouterName, RouterProc>;
  readonly servers = new Map<string, ChildProcess>();

  private constructor(
    readonly lvs: LvsLab,
    readonly opts: PairOptions,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), `lvs-pulse-${lvs.lab.id}-`));
    this.keyFile = join(this.dir, 'heartbeat.key');
    this.configPath = join(this.dir, 'lvs.cf');
    this.routers = {
      r1: { name: 'r1', runDir: join(this.dir, 'r1'), log: [] },
      r2: { name: 'r2', runDir: join(this.dir, 'r2'), log: [] },
    };
  }

  get lab() {
    return this.lvs.lab;
  }

  static async create(opts: PairOptions): Promise<LabPair> {
    const lvs = await buildLvsLab({ prefix: opts.prefix, realServers: opts.realServers ?? 2 });
    const pair = new LabPair(lvs, opts);
    try {
      writeFileSync(pair.keyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
      pair.writeConfig();
      for (const rs of lvs.realServers) await pair.startServer(rs.ns);
      if (opts.echoPort) for (const rs of lvs.realServers) await pair.startEchoServer(rs.ns, opts.echoPort);
      if (opts.bulk) {
        // rs1 answers for all of 198.19.0.0/16; the routers reach it through rs1 as the one next hop.
        await lvs.lab.exec('rs1', 'ip', ['route', 'add', 'local', '198.19.0.0/16', 'dev', 'lo']);
        for (const r of ['r1', 'r2'])
          await lvs.lab.exec(r, 'ip', ['route', 'add', '198.19.0.0/16', 'via', LAB_NET.realServer(1)]);
      }
      if (opts.start !== false) {
        await pair.startRouter('r1');
        await pair.startRouter('r2');
      }
      return pair;
    } catch (err) {
      await pair.destroy();
      throw err;
    }
  }

  /** (Re)writes the shared lvs.cf (both routers read the same file, as a synced pair would). */
  writeConfig(patch: Partial<PairOptions> = {}): string {
    const text = labLvsCf({
      keyFile: this.keyFile,
      realServers: this.lvs.realServers.length,
      weights: patch.weights ?? this.opts.weights,
      globals: patch.globals ?? this.opts.globals,
      virtualExtra: patch.virtualExtra ?? this.opts.virtualExtra,
      bulk: this.opts.bulk,
      ...(this.opts.echoPort ? { echoPort: this.opts.echoPort } : {}),
      ...((patch.realServerActive ?? this.opts.realServerActive)
        ? { realServerActive: patch.realServerActive ?? this.opts.realServerActive }
        : {}),
    });
    writeFileSync(this.configPath, text);
    return text;
  }

  async startServer(ns: string): Promise<void> {
    const child = this.lab.spawn(ns, process.execPath, [...nodeEntry('lab/whoami-server.ts'), ns, '80']);
    this.servers.set(ns, child);
    await once(child.stdout!, 'data');
  }

  /** Starts lab/echo-server.ts in `ns` on `port` (the survival workload's real-server side). */
  async startEchoServer(ns: string, port: number): Promise<void> {
    const child = this.lab.spawn(ns, process.execPath, [
      ...nodeEntry('lab/echo-server.ts'),
      ns,
      String(port),
    ]);
    this.servers.set(`${ns}:echo`, child);
    await once(child.stdout!, 'data');
  }

  /**
   * A crash of router `r`: both its links cut at the switch in ONE `ip -batch` (two commands land 3–5 ms
   * apart, docs/fast-profile.md), then kill -9 of its daemon's whole process group (pulse, its heartbeat
   * process, conntrackd).
   */
  async crashRouter(r: RouterName): Promise<void> {
    const ports = ['eth0', 'eth1'].map((i) => `link set ${this.lab.switchPort(r, i)} down`);
    await this.lab.exec('sw', 'ip', ['-batch', '-'], `${ports.join('\n')}\n`);
    const child = this.routers[r].proc;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    process.kill(-child.pid, 'SIGKILL');
    await exited;
  }

  /** Starts lab/survival-client.ts in the client namespace against the VIP's `port`. */
  startSurvivalClient(port: number): ChildProcess {
    const child = this.lab.spawn(
      'client',
      process.execPath,
      [...nodeEntry('lab/survival-client.ts'), LAB_NET.vip, String(port)],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    child.stdin?.on('error', () => {});
    return child;
  }

  async stopServer(ns: string): Promise<void> {
    const child = this.servers.get(ns);
    if (!child?.pid) return;
    process.kill(-child.pid, 'SIGKILL');
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    this.servers.delete(ns);
  }

  /** Starts pulse in router `r`; resolves once its control socket answers. */
  async startRouter(r: RouterName, extraArgs: string[] = []): Promise<void> {
    const rp = this.routers[r];
    mkdirSync(rp.runDir, { recursive: true });
    const node = r === 'r1' ? 'primary' : 'backup';
    const child = this.lab.spawn(
      r,
      process.execPath,
      [
        ...nodeEntry('src/cli/pulse.ts'),
        '--config',
        this.configPath,
        '--run-dir',
        rp.runDir,
        '--node',
        node,
        '--no-syslog',
        '--log-level',
        'debug',
        ...(this.opts.pulseArgs ?? []),
        ...extraArgs,
      ],
      this.opts.env ? { env: { ...process.env, ...this.opts.env } } : {},
    );
    rp.proc = child;
    const onData = (c: Buffer) => {
      for (const l of c.toString().split('\n')) if (l) rp.log.push(l);
      if (rp.log.length > 5000) rp.log.splice(0, rp.log.length - 5000);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    const end = Date.now() + 15000;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`pulse in ${r} exited ${child.exitCode}:\n${rp.log.join('\n')}`);
      try {
        const rep = await request(rp.runDir, 'ping', undefined, 500);
        if (rep.ok) return;
      } catch {
        /* not up yet */
      }
      if (Date.now() > end) throw new Error(`pulse in ${r} did not come up:\n${rp.log.join('\n')}`);
      await new Promise((res) => setTimeout(res, 50));
    }
  }

  /** Kills the daemon in `r` (SIGKILL = crash; SIGTERM = graceful stop) and waits for it to exit. */
  async killRouter(r: RouterName, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.routers[r].proc;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    // The spawned process is `ip netns exec … node`, which execs node: same pid.
    process.kill(child.pid, signal);
    await exited;
  }

  /** Cuts (or restores) router `r`'s links at the switch: both public and private. */
  async setLinks(r: RouterName, up: boolean, which: ('eth0' | 'eth1')[] = ['eth0', 'eth1']): Promise<void> {
    for (const ifname of which)
      await this.lab.exec('sw', 'ip', ['link', 'set', this.lab.switchPort(r, ifname), up ? 'up' : 'down']);
  }

  async status(r: RouterName): Promise<StatusJson> {
    const rep = await request(this.routers[r].runDir, 'status', undefined, 3000);
    if (!rep.ok) throw new Error(rep.error);
    return rep.result as StatusJson;
  }

  async role(r: RouterName): Promise<string | undefined> {
    try {
      return (await this.status(r)).role;
    } catch {
      return undefined;
    }
  }

  async waitRole(r: RouterName, role: string, timeoutMs = 10000): Promise<number> {
    const t0 = Date.now();
    for (;;) {
      if ((await this.role(r)) === role) return Date.now() - t0;
      if (Date.now() - t0 > timeoutMs)
        throw new Error(
          `${r} not ${role} after ${timeoutMs} ms (is ${await this.role(r)}):\n${this.routers[r].log.slice(-40).join('\n')}`,
        );
      await new Promise((res) => setTimeout(res, 20));
    }
  }

  /** Which router namespaces hold `addr` on an interface right now. */
  async holders(addr: string = LAB_NET.vip): Promise<RouterName[]> {
    const out: RouterName[] = [];
    for (const r of ['r1', 'r2'] as const) {
      const { stdout } = await this.lab.exec(r, 'ip', ['-j', 'addr', 'show']);
      if (stdout.includes(`"${addr}"`)) out.push(r);
    }
    return out;
  }

  /** One HTTP GET from the client to the VIP; returns the real server's name, or undefined on failure. */
  async get(timeoutS = 1): Promise<string | undefined> {
    try {
      const { stdout } = await this.lab.exec('client', 'curl', [
        '-s',
        '--max-time',
        String(timeoutS),
        `http://${LAB_NET.vip}/`,
      ]);
      return stdout.trim() || undefined;
    } catch {
      return undefined;
    }
  }

  /** Starts the outage prober in the client namespace. */
  startProber(args: string[] = []): ChildProcess {
    return this.lab.spawn('client', process.execPath, [
      ...nodeEntry('lab/prober.ts'),
      `http://${LAB_NET.vip}/`,
      ...args,
    ]);
  }

  async destroy(): Promise<void> {
    for (const r of ['r1', 'r2'] as const) await this.killRouter(r).catch(() => {});
    await this.lvs.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Reads the prober's final summary after SIGTERM. */
export async function stopProber(
  p: ChildProcess,
): Promise<{ requests: number; failed: number; outageMs: number; failedInRun: number }> {
  const chunks: Buffer[] = [];
  p.stdout!.on('data', (c: Buffer) => chunks.push(c));
  if (p.pid) process.kill(p.pid, 'SIGTERM');
  await once(p, 'exit');
  const lines = Buffer.concat(chunks).toString().split('\n');
  const last = lines.reverse().find((l) => l.startsWith('{"summary"'));
  if (!last) throw new Error('prober printed no summary');
  return (
    JSON.parse(last) as {
      summary: { requests: number; failed: number; outageMs: number; failedInRun: number };
    }
  ).summary;
}

/** Whether `cmd` is an executable on PATH (no shell involved). */
export function hasCommand(cmd: string): boolean {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return true;
    } catch {
      /* not here */
    }
  }
  return false;
}
