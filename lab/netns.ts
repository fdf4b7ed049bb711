/**
 * Network-namespace lab primitives: namespaces, bridges, veth links and processes inside them, all named
 * with one run id so parallel runs never collide, and all torn down by name/pid on destroy(), on
 * SIGINT/SIGTERM and at process exit. Nothing here touches the root namespace except creating veth pairs
 * that are moved into lab namespaces at once.
 *
 * Every command is run with execFile (argument arrays, no shell).
 */
import { type ChildProcess, execFile, execFileSync, type SpawnOptions, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** All lab names start with this, then the caller's prefix: `lp<prefix><4 hex>-<name>`. */
export const LAB_MARK = 'lp';

/** What a command run in a lab namespace printed. */
export interface ExecResult {
  stdout: string;
  stderr: string;
}

/** A lab command that failed: the command, its stderr and its exit code or error code. */
export class LabCommandError extends Error {
  constructor(
    readonly cmd: string[],
    readonly stderr: string,
    readonly code: number | string | undefined,
  ) {
    super(`${cmd.join(' ')}: ${stderr.trim() || `exit ${code}`}`);
    this.name = 'LabCommandError';
  }
}

async function run(cmd: string, args: string[], input?: string): Promise<ExecResult> {
  try {
    if (input !== undefined) {
      return await new Promise<ExecResult>((resolve, reject) => {
        const child = execFile(cmd, args, { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
          if (err) reject(Object.assign(err, { stderr }));
          else resolve({ stdout, stderr });
        });
        child.stdin?.end(input);
      });
    }
    const { stdout, stderr } = await execFileP(cmd, args, { maxBuffer: 64 << 20 });
    return { stdout, stderr };
  } catch (err) {
    const e = err as { stderr?: string; code?: number | string; message?: string };
    throw new LabCommandError([cmd, ...args], e.stderr || e.message || '', e.code);
  }
}

const liveLabs = new Set<Lab>();
let exitHooked = false;
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  // Synchronous last-chance cleanup: async work cannot run in 'exit'.
  process.on('exit', () => {
    for (const lab of liveLabs) lab.destroySync();
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const lab of liveLabs) lab.destroySync();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

/**
 * One lab run: network namespaces, veth pairs and bridges under a random `lp…` id, and the processes
 * started in them; `destroy()` removes exactly what this run created.
 */
export class Lab {
  /** Run id: `lp` + prefix + 4 hex, e.g. `lpph3fa2`. Namespace names are `${id}-${name}`. */
  readonly id: string;
  private readonly namespaces: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private destroyed = false;

  private constructor(prefix: string) {
    if (!/^[a-z0-9]{1,5}$/.test(prefix)) throw new Error(`lab prefix must be 1-5 of [a-z0-9]: ${prefix}`);
    this.id = `${LAB_MARK}${prefix}${randomBytes(2).toString('hex')}`;
  }

  /** Creates an empty lab; register cleanup hooks. */
  static async create(prefix: string): Promise<Lab> {
    const lab = new Lab(prefix);
    liveLabs.add(lab);
    hookExit();
    return lab;
  }

  nsName(name: string): string {
    return `${this.id}-${name}`;
  }

  /** Adds a namespace with `lo` up. */
  async addNs(name: string): Promise<string> {
    const ns = this.nsName(name);
    await run('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    await this.exec(name, 'ip', ['link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Adds a bridge `br` inside namespace `ns` (STP off, no forwarding delay). */
  async addBridge(ns: string, br: string): Promise<void> {
    await this.exec(ns, 'ip', ['link', 'add', br, 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0']);
    await this.exec(ns, 'ip', ['link', 'set', br, 'up']);
  }

  /**
   * Connects `ns:ifname` to bridge `br` in namespace `swNs` with a veth pair, assigns `addrs` (CIDR) to
   * `ifname`, sets both ends up. The veth is created inside `ns` directly (never in the root namespace).
   */
  async connect(ns: string, ifname: string, swNs: string, br: string, addrs: string[] = []): Promise<void> {
    const peer = `${ns}-${ifname}`.slice(0, 15);
    await this.exec(ns, 'ip', ['link', 'add', ifname, 'type', 'veth', 'peer', 'name', peer]);
    await this.exec(ns, 'ip', ['link', 'set', peer, 'netns', this.nsName(swNs)]);
    await this.exec(swNs, 'ip', ['link', 'set', peer, 'master', br]);
    await this.exec(swNs, 'ip', ['link', 'set', peer, 'up']);
    for (const a of addrs) await this.exec(ns, 'ip', ['addr', 'add', a, 'dev', ifname]);
    await this.exec(ns, 'ip', ['link', 'set', ifname, 'up']);
  }

  /** Name of the switch-side port of `ns:ifname` (to cut a link from the switch: `ip link set … down`). */
  switchPort(ns: string, ifname: string): string {
    return `${ns}-${ifname}`.slice(0, 15);
  }

  /** Runs a command inside namespace `ns`; rejects with a LabCommandError on non-zero exit. */
  exec(ns: string, cmd: string, args: string[], input?: string): Promise<ExecResult> {
    return run('ip', ['netns', 'exec', this.nsName(ns), cmd, ...args], input);
  }

  /** Starts a long-running process inside `ns`; it is killed (SIGKILL to its group) on destroy. */
  spawn(ns: string, cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.nsName(ns), cmd, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      ...opts,
    });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Kills every process started by spawn() (whole process group), waits for them to exit. */
  async killChildren(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const child of this.children) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      waits.push(new Promise<void>((resolve) => child.once('exit', () => resolve())));
      try {
        if (child.pid) process.kill(-child.pid, signal);
      } catch {
        /* already gone */
      }
    }
    await Promise.race([Promise.all(waits), new Promise((r) => setTimeout(r, 3000))]);
  }

  /** Kills our processes, then deletes our namespaces (which deletes their veths and bridges). */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    await this.killChildren();
    this.destroySync();
  }

  /** Synchronous teardown for exit/signal handlers. Idempotent. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    liveLabs.delete(this);
    for (const child of this.children) {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    deleteNamespacesSync(this.namespaces);
  }
}

function killPidsInNs(ns: string): void {
  try {
    const pids = execFileSync('ip', ['netns', 'pids', ns], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .split(/\s+/)
      .filter(Boolean);
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  } catch {
    /* namespace already gone */
  }
}

function deleteNamespacesSync(names: string[]): void {
  for (const ns of names) killPidsInNs(ns);
  for (const ns of names) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
  }
}

/** Lists namespaces a lab made (name starts with `lp` + prefix), for `lab down`. */
export function listLabNamespaces(prefix = ''): string[] {
  let out = '';
  try {
    out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  } catch {
    return [];
  }
  const re = new RegExp(`^${LAB_MARK}${prefix}[a-z0-9]*[0-9a-f]{4}-[a-z0-9-]+$`);
  return out
    .split('\n')
    .map((l) => l.split(/\s/)[0] ?? '')
    .filter((n) => re.test(n));
}

/** Removes leftovers of earlier runs (processes in them first). Returns the names removed. */
export function labDown(prefix = ''): string[] {
  const names = listLabNamespaces(prefix);
  deleteNamespacesSync(names);
  return names;
}

/** True when running as root (lab tests need it). */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}
