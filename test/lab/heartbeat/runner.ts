/**
 * Lab helper: a heartbeat runner (run-standalone.ts beside it) in a router namespace, with its JSON
 * line events collected and waited for.
 */
import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import type { Lab } from '../../../lab/netns';

const RUNNER = resolve(__dirname, 'run-standalone.ts');

export interface RunnerEvent {
  ev: string;
  from?: string;
  to?: string;
  reason?: string;
  evidence?: string;
  wall: number;
  mono: number;
  [k: string]: unknown;
}

export class HbRunner {
  readonly events: RunnerEvent[] = [];
  readonly stderr: string[] = [];
  private waiters: (() => void)[] = [];
  exited = false;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i = buf.indexOf('\n');
      while (i >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          this.events.push(JSON.parse(line) as RunnerEvent);
        } catch {
          this.stderr.push(`stdout: ${line}`);
        }
        i = buf.indexOf('\n');
      }
      for (const w of this.waiters.splice(0)) w();
    });
    child.stderr!.on('data', (d: Buffer) => this.stderr.push(...d.toString().split('\n').filter(Boolean)));
    child.once('exit', () => {
      this.exited = true;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Starts a runner in `ns`; `rtPriority` > 0 runs it under SCHED_RR (chrt -r) like keepalived's vrrp_rt_priority. */
  static async start(
    lab: Lab,
    ns: string,
    config: Record<string, unknown>,
    rtPriority = 0,
  ): Promise<HbRunner> {
    const node = [process.execPath, '--import', 'tsx', RUNNER, JSON.stringify(config)];
    const [cmd, ...args] = rtPriority > 0 ? ['chrt', '-r', String(rtPriority), ...node] : node;
    const child = lab.spawn(ns, cmd!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const r = new HbRunner(ns, child);
    await r.waitFor((e) => e.ev === 'ready' || e.ev === 'fatal', 15_000);
    const fatal = r.events.find((e) => e.ev === 'fatal');
    if (fatal) throw new Error(`runner ${ns}: ${String(fatal.msg)}\n${r.stderr.join('\n')}`);
    return r;
  }

  send(cmd: string): void {
    this.child.stdin!.write(`${cmd}\n`);
  }

  /** Resolves with the first event (from now or already seen after index `since`) matching `pred`. */
  async waitFor(pred: (e: RunnerEvent) => boolean, timeoutMs: number, since = 0): Promise<RunnerEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.events.slice(since).find(pred);
      if (hit) return hit;
      if (this.exited)
        throw new Error(`${this.name} exited while waiting\n${this.stderr.slice(-20).join('\n')}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`${this.name}: timeout after ${timeoutMs} ms\n${this.stderr.slice(-20).join('\n')}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  transitions(): RunnerEvent[] {
    return this.events.filter((e) => e.ev === 'transition');
  }

  /** The role after the last transition. */
  role(): string {
    return this.transitions().at(-1)?.to ?? 'starting';
  }

  async status(): Promise<RunnerEvent> {
    const n = this.events.length;
    this.send('status');
    return this.waitFor((e) => e.ev === 'status', 5000, n);
  }

  kill9(): void {
    if (this.child.pid) process.kill(-this.child.pid, 'SIGKILL');
  }

  async exit(): Promise<void> {
    if (this.exited) return;
    this.kill9();
    await new Promise<void>((r) => (this.exited ? r() : this.child.once('exit', () => r())));
  }
}
