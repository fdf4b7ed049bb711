/** Drives `agent.ts` inside a lab namespace (see there for the protocol). */
import type { ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { LvsModel } from '../../../src/config/model';
import type { Lab } from '../../../lab/netns';

const AGENT = join(__dirname, 'agent.ts');
const ROOT = join(__dirname, '..', '..', '..');

export class Agent {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly stderr: string[] = [];
  private exited = false;

  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let msg: { id: number; ok: boolean; result?: unknown; error?: string };
      try {
        msg = JSON.parse(line);
      } catch {
        return;
      }
      const w = this.waiting.get(msg.id);
      if (!w) return;
      this.waiting.delete(msg.id);
      if (msg.ok) w.resolve(msg.result);
      else w.reject(new Error(msg.error));
    });
    createInterface({ input: child.stderr! }).on('line', (l) => this.stderr.push(l));
    child.once('exit', (code, signal) => {
      this.exited = true;
      for (const w of this.waiting.values()) w.reject(new Error(`agent exited (${code ?? signal})`));
      this.waiting.clear();
    });
  }

  /** Starts an agent in namespace `ns` of `lab` with `model`, and waits until it is ready. */
  static async start(
    lab: Lab,
    ns: string,
    model: LvsModel,
    env: Record<string, string> = {},
  ): Promise<Agent> {
    const file = join(tmpdir(), `${lab.nsName(ns)}-model-${Date.now()}.json`);
    writeFileSync(file, JSON.stringify(model));
    const child = lab.spawn(ns, process.execPath, ['--import', 'tsx', AGENT, file], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    const agent = new Agent(child);
    await new Promise<void>((resolve, reject) => {
      agent.waiting.set(0, { resolve: () => resolve(), reject });
      setTimeout(
        () => reject(new Error(`agent in ${ns} not ready: ${agent.stderr.join('\n')}`)),
        15_000,
      ).unref();
    }).finally(() => rmSync(file, { force: true })); // the agent has read it before it says ready
    return agent;
  }

  call<T = unknown>(op: string, extra: Record<string, unknown> = {}): Promise<T> {
    if (this.exited) return Promise.reject(new Error('agent has exited'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.stdin!.write(`${JSON.stringify({ id, op, ...extra })}\n`);
    });
  }

  /** SIGKILLs the agent (like `kill -9` of the daemon) and waits for it to be gone. */
  async kill9(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    if (this.child.pid) process.kill(-this.child.pid, 'SIGKILL');
    await gone;
  }
}
