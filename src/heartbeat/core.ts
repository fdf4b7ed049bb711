/**
 * HeartbeatCore: the receiver, the failover state machine and message building, wired to an injected
 * clock and transport. No sockets and no real time in here: tests drive it with sinon fake timers and a fake
 * network; engine.ts gives it dgram sockets and performance.now/setTimeout.
 *
 * Events: 'transition' (Transition), 'reannounce' ({reason, evidence}), 'peer-config-mismatch'
 * ({ours, theirs}), 'stopped'.
 */
import { EventEmitter } from 'node:events';
import type { Log } from '../lib/log.js';
import {
  type DropReason,
  encode,
  encodePiranha,
  type HeartbeatMessage,
  type KeyRing,
  type MessageType,
  type PathName,
} from './codec.js';
import type { FailoverFsm, FsmInput, FsmOutput, Transition } from './fsm.js';
import { chooseSendKey, type Receiver } from './receiver.js';

/** Monotonic time and timers. */
export interface Clock {
  /** Monotonic milliseconds (performance.now()). */
  now(): number;
  /** Runs `fn` after `ms`; returns a handle for clearTimeout. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a setTimeout. */
  clearTimeout(handle: unknown): void;
  /**
   * Runs `fn` after the I/O already waiting has been handled (setImmediate). A deadline timer that fires
   * after an event-loop stall runs before that stall's queued packets (Node runs timers before poll);
   * deferring the decision lets those packets count first, so a stall of our own never reads as peer death.
   * Optional: without it `fn` runs at once (fake-timer tests).
   */
  defer?(fn: () => void): void;
}

/** Where packets go: one call per path; must not throw (count and log errors instead). */
export interface Transport {
  /** Sends one packet on `path`. */
  send(path: PathName, buf: Buffer): void;
}

/** What a {@link HeartbeatCore} is built from: the pure parts, the keys, and the injected clock and transport. */
export interface CoreOptions {
  fsm: FailoverFsm;
  receiver: Receiver;
  /** Sign outgoing messages (hmac) or not. */
  auth: 'hmac' | 'none';
  keys: KeyRing;
  /** Our boot id (16 hex digits), random per start. */
  bootId: string;
  /** Our public router address, canonical: the sender id of our messages. */
  selfAddress: string;
  /** Paths we send on. */
  paths: PathName[];
  /** Also send Piranha's 4-byte heartbeat on the public path. */
  piranhaCompat: boolean;
  clock: Clock;
  transport: Transport;
  log: Log;
}

/** Messages sent and received since start, and drops by reason (status, metrics). */
export interface CoreCounters {
  sent: number;
  /** Per message type. */
  sentByType: Record<MessageType, number>;
  received: number;
  accepted: number;
  unauthenticated: number;
  previousKey: number;
  rejected: Record<DropReason, number>;
}

/**
 * The heartbeat without its I/O: packets in through {@link HeartbeatCore.receive}, orders through
 * {@link HeartbeatCore.feed}; it runs the state machine, sends what it asks on every path, keeps the one
 * timer the machine wants, and emits 'transition', 'reannounce', 'peer-config-mismatch' and 'stopped'.
 */
export class HeartbeatCore extends EventEmitter {
  private seq = 0;
  private timer: unknown;
  private timerAt: number | undefined;
  private stoppedFlag = false;
  private sent = 0;
  private sentByType: Record<MessageType, number> = { keepalive: 0, farewell: 0, claim: 0 };

  constructor(private opts: CoreOptions) {
    super();
  }

  /** The state machine it drives. */
  get fsm(): FailoverFsm {
    return this.opts.fsm;
  }

  /** The receiver every packet goes through. */
  get receiver(): Receiver {
    return this.opts.receiver;
  }

  /** Our boot id. */
  get bootId(): string {
    return this.opts.bootId;
  }

  /** Swaps keys / auth / compat (reload). */
  setAuth(auth: 'hmac' | 'none', keys: KeyRing, piranhaCompat: boolean): void {
    this.opts = { ...this.opts, auth, keys, piranhaCompat };
    this.opts.receiver.update({ auth, keys, piranhaCompat });
  }

  /** Starts the state machine (it listens one deadtime before claiming). */
  start(): void {
    this.feed({ type: 'start', now: this.opts.clock.now() });
  }

  /** One packet from the network. Never throws. */
  receive(path: PathName, buf: Buffer, from: string): void {
    if (this.stoppedFlag) return;
    const now = this.opts.clock.now();
    const r = this.opts.receiver.receive(buf, from, path, now);
    if (!r.ok) {
      this.opts.log.debug('heartbeat dropped', {
        op: 'receive',
        reason: r.reason,
        detail: r.detail,
        from,
        path,
      });
      return;
    }
    const a = r.accepted;
    if (a.kind === 'piranha') this.feed({ type: 'piranha', now, path: a.path, running: a.running });
    else
      this.feed({
        type: 'message',
        now,
        path: a.path,
        msg: a.msg,
        confirmed: a.confirmed,
        handshake: a.handshake,
      });
  }

  /** Feeds any other input (fault, takeover, release, stop, tick). */
  feed(input: FsmInput): void {
    if (this.stoppedFlag) return;
    this.apply(this.opts.fsm.step(input));
    this.rearm();
  }

  private apply(outputs: FsmOutput[]): void {
    const sentNow = new Set<MessageType>();
    for (const o of outputs) {
      switch (o.type) {
        case 'send':
          // Several outputs of one step may ask for a send: one packet per type per step is enough.
          if (!sentNow.has(o.message)) {
            sentNow.add(o.message);
            this.sendAll(o.message);
          }
          break;
        case 'transition':
          this.emit('transition', o.transition satisfies Transition);
          break;
        case 'reannounce':
          this.emit('reannounce', { reason: o.reason, evidence: o.evidence });
          break;
        case 'config-mismatch':
          this.emit('peer-config-mismatch', { ours: o.ours, theirs: o.theirs });
          break;
        case 'stopped':
          this.stoppedFlag = true;
          if (this.timer !== undefined) this.opts.clock.clearTimeout(this.timer);
          this.timer = undefined;
          this.emit('stopped');
          break;
      }
    }
  }

  /** Builds the message we would send now on `path`. */
  buildMessage(type: MessageType, path: PathName): HeartbeatMessage {
    const w = this.opts.fsm.wire();
    const cfg = this.opts.fsm.config;
    return {
      type,
      state: w.state,
      flags: w.flags,
      path,
      priority: w.priority,
      keepaliveUs: Math.round(cfg.keepaliveMs * 1000),
      newestKeyId: this.opts.keys.current?.id ?? 0,
      macKeyId: 0,
      bootId: this.opts.bootId,
      seq: ++this.seq,
      echoBootId: this.opts.receiver.echoBootId(),
      configHash: cfg.configHash,
      sender: this.opts.selfAddress,
    };
  }

  private sendAll(type: MessageType): void {
    const key =
      this.opts.auth === 'hmac'
        ? chooseSendKey(this.opts.keys, this.opts.receiver.peerNewestKeyId)
        : undefined;
    for (const path of this.opts.paths) {
      const buf = encode(this.buildMessage(type, path), key);
      this.opts.transport.send(path, buf);
      this.sent++;
      this.sentByType[type]++;
    }
    if (this.opts.piranhaCompat && this.opts.paths.includes('public')) {
      this.opts.transport.send('public', encodePiranha(this.opts.fsm.wire().state === 'active'));
    }
  }

  private rearm(): void {
    if (this.stoppedFlag) return;
    const at = this.opts.fsm.nextWakeup();
    if (at === this.timerAt && this.timer !== undefined) return;
    if (this.timer !== undefined) this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = at;
    if (at === undefined) return;
    const delay = Math.max(0, at - this.opts.clock.now());
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerAt = undefined;
      const tick = () => this.feed({ type: 'tick', now: this.opts.clock.now() });
      if (this.opts.clock.defer) this.opts.clock.defer(tick);
      else tick();
    }, delay);
  }

  /** A copy of the counters. */
  counters(): CoreCounters {
    const r = this.opts.receiver.counters;
    return {
      sent: this.sent,
      sentByType: { ...this.sentByType },
      received: r.received,
      accepted: r.accepted,
      unauthenticated: r.unauthenticated,
      previousKey: r.previousKey,
      rejected: { ...r.rejected },
    };
  }

  /** True once the stop has finished (nothing more is sent). */
  get stopped(): boolean {
    return this.stoppedFlag;
  }
}
