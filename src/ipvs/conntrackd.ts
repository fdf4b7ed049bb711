/**
 * The conntrackd edge: Debian's real conntrackd, started in the foreground as our child (argument array,
 * no shell), with its own config, lock file and control socket under the daemon's run directory — so two
 * pulse daemons in two network namespaces of one host each run their own — supervised (restarted with a
 * back-off when it dies, its last error kept for status) and driven with its own control commands
 * (`conntrackd -C FILE -c|-f|-R|-B|-t|-n|-s`, each a short process through the injected exec).
 *
 * It is the one long-lived program we start outside the heartbeat, so it spawns directly rather than
 * through lib/run (which waits for a program's end); its output is read line by line into our log.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Log } from '../lib/log';
import type { ConntrackdFiles } from './conntrackd-conf';
import type { Exec } from './exec';
import { type ConntrackdStats, parseConntrackdStats, restartDelayMs } from './sync-plan';

/** Starts the long-lived conntrackd (tests inject a fake child). */
export type SpawnDaemon = (file: string, args: string[], env: NodeJS.ProcessEnv) => ChildProcess;

/** The real spawner: stdin closed, stdout/stderr piped. */
export const spawnDaemon: SpawnDaemon = (file, args, env) =>
  spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env });

/** What {@link Conntrackd} is built from. */
export interface ConntrackdOptions {
  /** The conntrackd binary. */
  path: string;
  /** Its directory (created 0700): conntrackd.conf, lock, ctl. */
  dir: string;
  log: Log;
  /** Control commands (short processes). */
  exec: Exec;
  spawn?: SpawnDaemon;
  /** Milliseconds on a monotonic clock (default performance.now). */
  now?: () => number;
}

/** The supervised process as status shows it. */
export interface ConntrackdProcStatus {
  running: boolean;
  pid?: number;
  /** Starts after the first. */
  restarts: number;
  /** The last error conntrackd printed or the way it ended. */
  lastError?: string;
}

/** How long a start may take before conntrackd answers `-s`, ms. */
const START_TIMEOUT_MS = 3000;
/** A conntrackd that ran this long is healthy again: the back-off starts over. */
const HEALTHY_AFTER_MS = 60_000;

/**
 * One supervised conntrackd. Events: 'up' (pid) once it answers on its socket, 'down' ({ detail }) when it
 * ends or cannot start (a restart is scheduled unless stopped).
 */
export class Conntrackd extends EventEmitter {
  readonly conf: string;
  readonly files: ConntrackdFiles;
  private child: ChildProcess | undefined;
  private stopping = false;
  private failures = 0;
  private restarts = 0;
  private starts = 0;
  private startedAt = 0;
  private lastError: string | undefined;
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  private up = false;
  private text = '';
  private logBudget = { second: 0, n: 0, dropped: 0 };

  constructor(private readonly opts: ConntrackdOptions) {
    super();
    this.conf = join(opts.dir, 'conntrackd.conf');
    this.files = { lockFile: join(opts.dir, 'lock'), socket: join(opts.dir, 'ctl') };
  }

  private now(): number {
    return (this.opts.now ?? (() => performance.now()))();
  }

  /** Runs one control command (`-c`, `-s`, …) against our conntrackd. */
  async command(flag: string, timeoutMs = 5000): Promise<{ ok: boolean; ms: number; out: string }> {
    const t0 = this.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<{ code: null; stdout: string; stderr: string }>((res) => {
      timer = setTimeout(
        () => res({ code: null, stdout: '', stderr: `no answer within ${timeoutMs} ms` }),
        timeoutMs,
      );
    });
    try {
      const r = await Promise.race([this.opts.exec(this.opts.path, ['-C', this.conf, flag]), late]);
      const out = `${r.stdout}${r.stderr}`.trim();
      return { ok: r.code === 0, ms: this.now() - t0, out };
    } finally {
      clearTimeout(timer);
    }
  }

  /** `conntrackd -s`, parsed; undefined when it does not answer. */
  async stats(): Promise<ConntrackdStats | undefined> {
    const r = await this.opts.exec(this.opts.path, ['-C', this.conf, '-s']);
    return r.code === 0 ? parseConntrackdStats(r.stdout) : undefined;
  }

  /**
   * Writes the config and starts conntrackd; resolves true once it answers on its socket, false when it
   * ended first or did not answer in time (then a restart is already scheduled, with a back-off).
   * A conntrackd left by an earlier run of ours (a pulse killed with -9) is asked to quit first; a stale
   * lock file is removed.
   */
  async start(confText: string): Promise<boolean> {
    this.stopping = false;
    this.text = confText;
    mkdirSync(this.opts.dir, { recursive: true, mode: 0o700 });
    writeFileSync(this.conf, confText, { mode: 0o600 });
    await this.clearStale();
    return this.launch();
  }

  private async clearStale(): Promise<void> {
    if (!existsSync(this.files.lockFile)) return;
    const alive = await this.command('-s', 1000);
    if (alive.ok) {
      this.opts.log.warn('conntrackd of an earlier run still answers: stopping it', { op: 'sync' });
      await this.command('-k', 2000);
      for (let i = 0; i < 40 && existsSync(this.files.lockFile); i++)
        await new Promise((r) => setTimeout(r, 50));
    }
    if (existsSync(this.files.lockFile)) {
      this.opts.log.info('stale conntrackd lock file removed', { op: 'sync', lock: this.files.lockFile });
      rmSync(this.files.lockFile, { force: true });
    }
  }

  private async launch(): Promise<boolean> {
    this.restartTimer = undefined;
    if (this.stopping) return false;
    if (this.starts++ > 0) this.restarts++;
    // The child must not talk to our service manager (sd_notify) nor inherit socket activation.
    const env = { ...process.env };
    for (const k of ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'LISTEN_FDS', 'LISTEN_PID'])
      delete env[k];
    let child: ChildProcess;
    try {
      child = (this.opts.spawn ?? spawnDaemon)(this.opts.path, ['-C', this.conf], env);
    } catch (err) {
      this.died(`cannot start ${this.opts.path}: ${(err as Error).message}`);
      return false;
    }
    this.child = child;
    this.startedAt = this.now();
    this.up = false;
    const ended = new Promise<string>((resolve) => {
      child.once('error', (err) => resolve(`cannot start ${this.opts.path}: ${err.message}`));
      child.once('exit', (code, signal) =>
        resolve(signal ? `conntrackd killed by ${signal}` : `conntrackd exited with status ${code}`),
      );
    });
    for (const s of [child.stdout, child.stderr]) {
      let buf = '';
      s?.setEncoding('utf8');
      s?.on('data', (c: string) => {
        buf += c;
        let i = buf.indexOf('\n');
        while (i >= 0) {
          this.logLine(buf.slice(0, i));
          buf = buf.slice(i + 1);
          i = buf.indexOf('\n');
        }
        if (buf.length > 4096) buf = '';
      });
    }
    void ended.then((how) => {
      if (this.child !== child) return;
      this.child = undefined;
      const ran = this.now() - this.startedAt;
      this.died(this.lastError && !this.up ? `${this.lastError} (${how})` : how, ran);
    });
    // Up once it answers on its socket.
    const deadline = this.now() + START_TIMEOUT_MS;
    while (this.child === child && this.now() < deadline) {
      const r = await this.command('-s', 1000);
      if (r.ok && this.child === child) {
        this.up = true;
        this.opts.log.info('conntrackd running', { op: 'sync', pid: child.pid });
        this.emit('up', child.pid);
        return true;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (this.child === child) {
      this.lastError = `conntrackd did not answer on ${this.files.socket} within ${START_TIMEOUT_MS} ms`;
      child.kill('SIGKILL');
    }
    return false;
  }

  private died(detail: string, ranMs = 0): void {
    this.up = false;
    if (ranMs >= HEALTHY_AFTER_MS) this.failures = 0;
    this.failures++;
    this.lastError = detail;
    if (this.stopping) return;
    const delay = restartDelayMs(this.failures);
    this.opts.log.error('conntrackd down; restarting', { op: 'sync', error: detail, restart_in_ms: delay });
    this.emit('down', { detail });
    this.restartTimer = setTimeout(() => {
      // A conntrackd killed with -9 leaves its lock file: ours, in our own directory, and nobody answers.
      void this.clearStale().then(() => this.launch());
    }, delay);
  }

  private logLine(raw: string): void {
    // "[Fri Dec  4 20:45:03 2026] (pid=26657) [ERROR] can't open channel socket: Address already in use"
    const m = /\[(ERROR|warning|notice|info)\]\s*(.*)$/.exec(raw);
    const level = m?.[1] ?? 'notice';
    const msg = (m?.[2] ?? raw).trim();
    if (!msg) return;
    if (level === 'ERROR' && !/initialization failed|cannot start, please review/.test(msg))
      this.lastError = msg;
    const sec = Math.floor(this.now() / 1000);
    if (sec !== this.logBudget.second) {
      if (this.logBudget.dropped > 0)
        this.opts.log.warn('conntrackd output dropped', { op: 'sync', lines: this.logBudget.dropped });
      this.logBudget = { second: sec, n: 0, dropped: 0 };
    }
    if (++this.logBudget.n > 20) {
      this.logBudget.dropped++;
      return;
    }
    const fields = { op: 'sync', source: 'conntrackd' };
    if (level === 'ERROR') this.opts.log.error(`conntrackd: ${msg}`, fields);
    else if (level === 'warning') this.opts.log.warn(`conntrackd: ${msg}`, fields);
    else this.opts.log.info(`conntrackd: ${msg}`, fields);
  }

  /** Whether it runs and answers now. */
  get running(): boolean {
    return this.up && this.child !== undefined;
  }

  /** The config text it was started with. */
  get confText(): string {
    return this.text;
  }

  /** For status. */
  status(): ConntrackdProcStatus {
    const s: ConntrackdProcStatus = { running: this.running, restarts: this.restarts };
    if (this.child?.pid !== undefined) s.pid = this.child.pid;
    if (this.lastError !== undefined) s.lastError = this.lastError;
    return s;
  }

  /** Stops it (SIGTERM, SIGKILL after 2 s) and cancels any restart. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const child = this.child;
    if (!child) return;
    const gone = new Promise<void>((r) => {
      if (child.exitCode !== null || child.signalCode !== null) r();
      else child.once('exit', () => r());
    });
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 2000);
    await gone;
    clearTimeout(t);
    this.child = undefined;
    this.up = false;
  }
}
