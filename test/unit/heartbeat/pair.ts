/**
 * Test harness: two HeartbeatCores (primary r1, backup r2) on a fake network, driven by sinon fake timers.
 * Paths can be cut per direction; packets can be captured and replayed.
 */
import { randomBytes } from 'node:crypto';
import sinon from 'sinon';
import { MemoryLog } from '../../../src/lib/log.js';
import { type HeartbeatKey, type KeyRing, makeKey, type PathName } from '../../../src/heartbeat/codec.js';
import { type Clock, HeartbeatCore } from '../../../src/heartbeat/core.js';
import { FailoverFsm, type FsmConfig, type Transition } from '../../../src/heartbeat/fsm.js';
import { Receiver } from '../../../src/heartbeat/receiver.js';

export const R1 = { address: '198.18.0.11', privateAddress: '198.18.1.11', priority: 200 };
export const R2 = { address: '198.18.0.12', privateAddress: '198.18.1.12', priority: 100 };
export const KEY: HeartbeatKey = makeKey(Buffer.alloc(32, 7));

export interface NodeHandle {
  name: 'r1' | 'r2';
  core: HeartbeatCore;
  log: MemoryLog;
  transitions: Transition[];
  reannounces: { reason: string; evidence: string }[];
  mismatches: { ours: string; theirs: string }[];
  /** Crashed (kill -9): sends nothing, hears nothing. */
  dead: boolean;
}

export interface PairOptions {
  keepaliveMs?: number;
  deadtimeMs?: number;
  preempt?: boolean;
  preemptDelayMs?: number;
  handoverTimeoutMs?: number;
  paths?: PathName[];
  keys1?: KeyRing;
  keys2?: KeyRing;
  auth?: 'hmac' | 'none';
  hash1?: string;
  hash2?: string;
  /** One-way network latency, ms. */
  latencyMs?: number;
  /** Piranha 4-byte compatibility on both cores. */
  piranha?: boolean;
}

export class Pair {
  readonly clock: sinon.SinonFakeTimers;
  readonly nodes: Record<'r1' | 'r2', NodeHandle>;
  /** Cut path directions: `${from}>${path}`, e.g. 'r1>public'. */
  readonly cut = new Set<string>();
  /** Every packet sent: from, path, buf, at. */
  readonly wire: { from: 'r1' | 'r2'; path: PathName; buf: Buffer; at: number }[] = [];
  readonly opts: Required<Omit<PairOptions, 'keys1' | 'keys2'>> & { keys1: KeyRing; keys2: KeyRing };

  constructor(o: PairOptions = {}) {
    this.clock = sinon.useFakeTimers({
      now: 1_000_000,
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'],
    });
    this.opts = {
      keepaliveMs: o.keepaliveMs ?? 20,
      deadtimeMs: o.deadtimeMs ?? 100,
      preempt: o.preempt ?? false,
      preemptDelayMs: o.preemptDelayMs ?? 0,
      handoverTimeoutMs: o.handoverTimeoutMs ?? 500,
      paths: o.paths ?? ['public', 'private'],
      keys1: o.keys1 ?? { current: KEY },
      keys2: o.keys2 ?? { current: KEY },
      auth: o.auth ?? 'hmac',
      hash1: o.hash1 ?? 'aaaaaaaaaaaaaaaa',
      hash2: o.hash2 ?? 'aaaaaaaaaaaaaaaa',
      latencyMs: o.latencyMs ?? 0.2,
      piranha: o.piranha ?? false,
    };
    this.nodes = { r1: this.make('r1'), r2: this.make('r2') };
  }

  private fakeClock(): Clock {
    return {
      now: () => performance.now(),
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
    };
  }

  fsmConfig(name: 'r1' | 'r2'): FsmConfig {
    const [self, peer] = name === 'r1' ? [R1, R2] : [R2, R1];
    return {
      node: name === 'r1' ? 'primary' : 'backup',
      self: { address: self.address, priority: self.priority },
      peer: { ...peer },
      paths: this.opts.paths,
      keepaliveMs: this.opts.keepaliveMs,
      deadtimeMs: this.opts.deadtimeMs,
      preempt: this.opts.preempt,
      preemptDelayMs: this.opts.preemptDelayMs,
      handoverTimeoutMs: this.opts.handoverTimeoutMs,
      configHash: name === 'r1' ? this.opts.hash1 : this.opts.hash2,
    };
  }

  make(name: 'r1' | 'r2'): NodeHandle {
    const [self, peer] = name === 'r1' ? [R1, R2] : [R2, R1];
    const log = new MemoryLog();
    const bootId = randomBytes(8).toString('hex');
    const keys = name === 'r1' ? this.opts.keys1 : this.opts.keys2;
    const receiver = new Receiver({
      auth: this.opts.auth,
      keys,
      bootId,
      selfAddresses: [self.address, self.privateAddress],
      selfId: self.address,
      peer: { address: peer.address, privateAddress: peer.privateAddress },
      unconfirmedGraceMs: this.opts.deadtimeMs,
      piranhaCompat: this.opts.piranha,
    });
    const fsm = new FailoverFsm(this.fsmConfig(name), log);
    const other: 'r1' | 'r2' = name === 'r1' ? 'r2' : 'r1';
    let h: NodeHandle;
    const core = new HeartbeatCore({
      fsm,
      receiver,
      auth: this.opts.auth,
      keys,
      bootId,
      selfAddress: self.address,
      paths: this.opts.paths,
      piranhaCompat: this.opts.piranha,
      clock: this.fakeClock(),
      log,
      transport: {
        send: (path, buf) => {
          this.wire.push({ from: name, path, buf, at: performance.now() });
          if (this.cut.has(`${name}>${path}`) || h.dead) return;
          const src = path === 'private' ? self.privateAddress : self.address;
          setTimeout(() => this.deliver(other, path, buf, src), this.opts.latencyMs);
        },
      },
    });
    h = { name, core, log, transitions: [], reannounces: [], mismatches: [], dead: false };
    core.on('transition', (t: Transition) => h.transitions.push(t));
    core.on('reannounce', (r) => h.reannounces.push(r));
    core.on('peer-config-mismatch', (m) => h.mismatches.push(m));
    return h;
  }

  /** Delivers a packet to `to` unless it is crashed. */
  deliver(to: 'r1' | 'r2', path: PathName, buf: Buffer, from: string): void {
    if (this.nodes[to].dead) return;
    this.nodes[to].core.receive(path, buf, from);
  }

  /** kill -9: no more sends, no more receives, no more timers of its own effect. */
  crash(name: 'r1' | 'r2'): void {
    this.nodes[name].dead = true;
  }

  /** Replaces a node by a fresh process (new boot id). */
  restart(name: 'r1' | 'r2'): NodeHandle {
    this.nodes[name].dead = true;
    const fresh = this.make(name);
    this.nodes[name] = fresh;
    return fresh;
  }

  state(name: 'r1' | 'r2'): string {
    return this.nodes[name].core.fsm.state;
  }

  async tick(ms: number): Promise<void> {
    await this.clock.tickAsync(ms);
  }

  /** Ticks 1 ms at a time until `pred` holds; returns the elapsed ms or throws after `max`. */
  async until(pred: () => boolean, max: number): Promise<number> {
    const t0 = performance.now();
    while (!pred()) {
      if (performance.now() - t0 > max) throw new Error(`condition not met within ${max} ms`);
      await this.clock.tickAsync(1);
    }
    return performance.now() - t0;
  }

  restore(): void {
    this.clock.restore();
  }
}
