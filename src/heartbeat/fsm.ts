/**
 * The failover state machine: decides which router holds the VIPs. PURE — no sockets, no clock.
 * Inputs are events carrying `now` (ms on a monotonic clock); outputs say what to send and which
 * transitions happened; {@link FailoverFsm.nextWakeup} says when the machine wants a `tick`.
 *
 * Rules (docs/protocol.md has the full text):
 * - start: listen one deadtime before claiming; take over at once if the peer says standby/fault/stopping
 *   or says farewell; go standby at once if the peer says active;
 * - only a confirmed peer boot (one that echoed our boot id) is heard as a state or an order; an
 *   unconfirmed one is only a sign of life: a farewell, standby or claim captured earlier and replayed at
 *   our start changes nothing (the live peer confirms within two round trips: the handshake is answered
 *   at once);
 * - crash: every path silent for deadtime → take over;
 * - graceful stop / release: farewell on every path each keepalive; the peer takes over at once; we leave
 *   active only when the peer confirms active (bounded by handoverTimeoutMs);
 * - preempt (off by default): a strictly higher-priority standby asks for the VIPs after preemptDelayMs;
 * - split brain: an active hearing an active applies one rule (priority, then lower address); the loser
 *   releases, the survivor re-announces every VIP;
 * - faults (link, LB): an active hands over if the peer is healthy; a faulted standby never takes over;
 * - hold (a returning router's connection resync, docs/sync.md): no preemption and no takeover request
 *   while it lasts, and the peer hands over to us by release only once it is gone; a hold never stops a
 *   takeover from a dead, faulted, stopping or farewelling peer.
 */
import type { NodeName } from '../config/model.js';
import type { Log } from '../lib/log.js';
import { addressToBytes, type HeartbeatMessage, type MessageType, type PathName } from './codec.js';
import type { RouterState } from './state.js';

/** The state machine's own state: a {@link RouterState}, or `stopped`, final after a stop (never reported). */
export type FsmState = RouterState | 'stopped';

/** Why a transition happened: a metric label. */
export type TransitionReason =
  | 'start-no-peer'
  | 'start-peer-active'
  | 'start-peer-inactive'
  | 'start-election'
  | 'peer-dead'
  | 'peer-farewell'
  | 'peer-inactive'
  | 'election'
  | 'split-brain'
  | 'handover'
  | 'handover-timeout'
  | 'takeover-request'
  | 'fault'
  | 'fault-cleared'
  | 'stop';

/** One state change, as logged and emitted. `evidence` is the human sentence with the figures. */
export interface Transition {
  from: FsmState;
  to: FsmState;
  reason: TransitionReason;
  evidence: string;
  /** Monotonic time of the decision, ms. */
  at: number;
}

/**
 * What faults a router: `link` = a monitored link is down (monitor_links), `lb` = its LB table cannot be
 * applied (hard_shutdown).
 */
export type FaultSource = 'link' | 'lb';

/** One input to {@link FailoverFsm.step}: time passing, a peer message, or an order from the daemon. */
export type FsmInput =
  | { type: 'start'; now: number }
  | { type: 'tick'; now: number }
  | {
      type: 'message';
      now: number;
      path: PathName;
      msg: HeartbeatMessage;
      /**
       * The message's boot id has echoed ours (receiver.ts). An unconfirmed one may be a capture replayed
       * at our start: it counts as a sign of life only, never as the peer's state or an order.
       */
      confirmed: boolean;
      /** A new boot id or its confirmation: send at once, so the boot handshake takes hops, not keepalives. */
      handshake?: boolean;
    }
  | { type: 'piranha'; now: number; path: PathName; running: boolean }
  | { type: 'fault'; now: number; source: FaultSource; on: boolean; detail: string }
  /** Hold voluntary claims (preemption, takeover requests) while `on`: a connection resync is pending. */
  | { type: 'hold'; now: number; on: boolean; detail: string }
  | { type: 'takeover'; now: number }
  | { type: 'release'; now: number }
  | { type: 'stop'; now: number; graceful: boolean };

/** What one step asks its caller to do (send, report), in order. */
export type FsmOutput =
  /** Send this message type now on every path (the caller fills in fields from {@link FailoverFsm.wire}). */
  | { type: 'send'; message: MessageType }
  | { type: 'transition'; transition: Transition }
  /** Re-announce every VIP now (gratuitous ARP / NA): split brain survived. */
  | { type: 'reannounce'; reason: string; evidence: string }
  | { type: 'config-mismatch'; ours: string; theirs: string }
  /** The stop finished: close sockets. */
  | { type: 'stopped' };

/** The state machine's settings (settings.ts builds them from the heartbeat settings). */
export interface FsmConfig {
  node: NodeName;
  self: { address: string; priority: number };
  /** Undefined: no backup router (backup_active = 0): we are active at once. */
  peer?: { address: string; privateAddress?: string; priority: number };
  /** Paths in use (for evidence strings), e.g. ['public', 'private']. */
  paths: PathName[];
  keepaliveMs: number;
  deadtimeMs: number;
  preempt: boolean;
  preemptDelayMs: number;
  handoverTimeoutMs: number;
  configHash: string;
}

/** What we know of the peer. */
export interface PeerView {
  lastHeard: Partial<Record<PathName, number>>;
  state?: RouterState;
  priority?: number;
  linkFault: boolean;
  lbFault: boolean;
  /** The peer says its connection resync is pending (it holds its claims; we do not release to it). */
  resyncPending: boolean;
  configHash?: string;
  /** Last message type heard. */
  lastType?: MessageType;
  /** Piranha peer (4-byte heartbeats). */
  piranha: boolean;
}

interface Handover {
  target: 'standby' | 'fault' | 'stopping';
  since: number;
  until: number;
  why: string;
}

/**
 * Election: true if `a` beats `b` (higher priority, then the lower address). Deterministic and the same on
 * both routers.
 */
export function wins(
  a: { address: string; priority: number },
  b: { address: string; priority: number },
): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  return Buffer.compare(addressToBytes(a.address), addressToBytes(b.address)) < 0;
}

const fmt = (ms: number) => `${Math.round(ms)} ms`;

/**
 * The failover state machine (rules in the header above): feed it {@link FsmInput}s with `step`, do what
 * the returned {@link FsmOutput}s say, and call `step({ type: 'tick' })` at {@link FailoverFsm.nextWakeup}.
 */
export class FailoverFsm {
  private cfg: FsmConfig;
  private st: FsmState = 'starting';
  private startedAt = 0;
  private started = false;
  private nextKeepaliveAt: number | undefined;
  private faults: Record<FaultSource, string | undefined> = { link: undefined, lb: undefined };
  /** Why voluntary claims are held (a connection resync pending), or undefined. */
  private holdDetail: string | undefined;
  private holdLogged = false;
  private handover: Handover | undefined;
  private preemptSince: number | undefined;
  private takeoverUntil: number | undefined;
  private released = false;
  private splitBrain = false;
  private mismatchReported: string | undefined;
  private faultIgnoredLogged = false;
  readonly peer: PeerView = {
    lastHeard: {},
    linkFault: false,
    lbFault: false,
    resyncPending: false,
    piranha: false,
  };
  readonly transitions: Transition[] = [];
  /** Worst lateness of a keepalive send behind its schedule, ms (event-loop stalls show here). */
  keepaliveLateMaxMs = 0;
  /**
   * Our own stall: when a keepalive tick of ours comes more than one interval late, we were not running,
   * so the silence we measure across that time says nothing about the peer (on a shared or virtual machine
   * the peer stalled with us). The peer then gets a fresh deadtime from when we resumed — once per silence,
   * so a real crash is still decided at most one deadtime later even if we keep stalling.
   */
  private resumedAt: number | undefined;
  /** How many times a silence was excused by a stall of our own (status). */
  ownStallsExcused = 0;

  constructor(
    cfg: FsmConfig,
    private readonly log: Log,
  ) {
    this.cfg = { ...cfg };
  }

  /** The current state. */
  get state(): FsmState {
    return this.st;
  }

  /** The settings in force (after reconfigure). */
  get config(): Readonly<FsmConfig> {
    return this.cfg;
  }

  /** Timers and config hash change in place; the state does not. */
  reconfigure(patch: Partial<FsmConfig>): void {
    this.cfg = { ...this.cfg, ...patch };
    if (this.nextKeepaliveAt !== undefined && patch.keepaliveMs !== undefined)
      this.nextKeepaliveAt = Math.min(this.nextKeepaliveAt, this.lastTickBase() + patch.keepaliveMs);
  }

  private lastTickBase(): number {
    return this.nextKeepaliveAt === undefined ? 0 : this.nextKeepaliveAt - this.cfg.keepaliveMs;
  }

  /** Faults currently on, e.g. { link: 'eth1 down' }. */
  activeFaults(): Partial<Record<FaultSource, string>> {
    const out: Partial<Record<FaultSource, string>> = {};
    if (this.faults.link !== undefined) out.link = this.faults.link;
    if (this.faults.lb !== undefined) out.lb = this.faults.lb;
    return out;
  }

  /** Why voluntary claims are held now (a pending connection resync), or undefined. */
  activeHold(): string | undefined {
    return this.holdDetail;
  }

  private faulted(): boolean {
    return this.faults.link !== undefined || this.faults.lb !== undefined;
  }

  /** The state and flags to put on the wire now. */
  wire(): {
    state: RouterState;
    priority: number;
    flags: { linkFault: boolean; lbFault: boolean; preempt: boolean; resyncPending?: boolean };
  } {
    let state: RouterState;
    switch (this.st) {
      case 'active':
        state = this.handover ? (this.handover.target === 'stopping' ? 'stopping' : 'standby') : 'active';
        if (this.handover?.target === 'fault') state = 'fault';
        break;
      case 'stopped':
        state = 'stopping';
        break;
      default:
        state = this.st;
    }
    return {
      state,
      priority: this.cfg.self.priority,
      flags: {
        linkFault: this.faults.link !== undefined,
        lbFault: this.faults.lb !== undefined,
        preempt: this.cfg.preempt && this.preemptSince !== undefined,
        ...(this.holdDetail !== undefined && state !== 'active' ? { resyncPending: true } : {}),
      },
    };
  }

  /** When the machine next wants a `tick` (monotonic ms), or undefined when stopped. */
  nextWakeup(): number | undefined {
    if (!this.started || this.st === 'stopped') return undefined;
    const c: number[] = [];
    if (this.nextKeepaliveAt !== undefined) c.push(this.nextKeepaliveAt);
    if (this.st === 'starting') c.push(this.startedAt + this.cfg.deadtimeMs);
    if (this.cfg.peer && (this.st === 'standby' || this.st === 'starting')) {
      const d = this.peerDeadline();
      if (d !== undefined) c.push(d);
    }
    if (this.handover) c.push(this.handover.until);
    if (this.preemptSince !== undefined && !this.preemptAsked)
      c.push(this.preemptSince + this.cfg.preemptDelayMs);
    if (this.takeoverUntil !== undefined) c.push(this.takeoverUntil);
    return c.length ? Math.min(...c) : undefined;
  }

  private lastHeardAny(): number | undefined {
    let m: number | undefined;
    for (const v of Object.values(this.peer.lastHeard))
      if (v !== undefined && (m === undefined || v > m)) m = v;
    return m;
  }

  /** Start of the silence window: the last packet, or our resumption after a stall of our own. */
  private silenceFrom(): number | undefined {
    const l = this.lastHeardAny();
    if (l === undefined) return undefined;
    return this.resumedAt !== undefined && this.resumedAt > l ? this.resumedAt : l;
  }

  private peerDeadline(): number | undefined {
    const l = this.silenceFrom();
    return l === undefined ? undefined : l + this.cfg.deadtimeMs;
  }

  /** The peer is alive when any path was heard within deadtime (counted from our resumption after a stall). */
  peerAlive(now: number): boolean {
    const l = this.silenceFrom();
    return l !== undefined && now - l < this.cfg.deadtimeMs;
  }

  private peerHealthy(now: number): boolean {
    return (
      this.peerAlive(now) &&
      this.peer.state === 'standby' &&
      !this.peer.linkFault &&
      !this.peer.lbFault &&
      !this.peer.resyncPending
    );
  }

  private peerName(): string {
    return this.cfg.peer?.address ?? '(none)';
  }

  private silenceEvidence(now: number): string {
    const l = this.lastHeardAny();
    const paths = this.cfg.paths.join('+');
    if (l === undefined)
      return `peer ${this.peerName()} not heard since start (${fmt(now - this.startedAt)}) on ${paths}`;
    const from = this.silenceFrom()!;
    const excused = from > l ? ` (${fmt(now - from)} since our own stall ended)` : '';
    return `peer ${this.peerName()} silent for ${fmt(now - l)} on ${paths}${excused}`;
  }

  private electionEvidence(): string {
    const p = this.cfg.peer;
    if (!p) return 'no peer';
    const peerPrio = this.peer.priority ?? p.priority;
    const me = this.cfg.self;
    return me.priority !== peerPrio
      ? `priority ${me.priority} vs peer ${peerPrio}`
      : `equal priority ${me.priority}, address ${me.address} vs ${p.address}`;
  }

  private weWin(): boolean {
    const p = this.cfg.peer;
    if (!p) return true;
    return wins(this.cfg.self, { address: p.address, priority: this.peer.priority ?? p.priority });
  }

  private go(
    out: FsmOutput[],
    to: RouterState,
    reason: TransitionReason,
    evidence: string,
    now: number,
  ): void {
    const from = this.st;
    if (from === to) return;
    this.st = to;
    const t: Transition = { from, to, reason, evidence, at: now };
    this.transitions.push(t);
    if (this.transitions.length > 50) this.transitions.shift();
    if (to !== 'active') this.splitBrain = false;
    if (to === 'active') {
      this.released = false;
      this.preemptSince = undefined;
      this.preemptAsked = false;
      this.takeoverUntil = undefined;
    }
    this.log.info(`${from} -> ${to}: ${evidence}`, { op: 'transition', from, to, reason, evidence });
    out.push({ type: 'transition', transition: t });
    if (to === 'active') out.push({ type: 'send', message: 'claim' });
    else if (to === 'stopping') out.push({ type: 'send', message: 'farewell' });
    else out.push({ type: 'send', message: 'keepalive' });
  }

  /** Feeds one input; returns what to do. */
  step(input: FsmInput): FsmOutput[] {
    const out: FsmOutput[] = [];
    if (this.st === 'stopped') return out;
    const now = input.now;
    switch (input.type) {
      case 'start':
        this.onStart(out, now);
        break;
      case 'tick':
        this.onTick(out, now);
        break;
      case 'message':
        if (input.confirmed) this.onMessage(out, now, input.path, input.msg);
        else this.onUnconfirmed(out, now, input.path);
        if (input.handshake && this.started) out.push({ type: 'send', message: this.periodicType(now) });
        break;
      case 'piranha':
        this.onPiranha(out, now, input.path, input.running);
        break;
      case 'fault':
        this.onFault(out, now, input.source, input.on, input.detail);
        break;
      case 'hold':
        this.onHold(out, input.on, input.detail);
        break;
      case 'takeover':
        this.onTakeoverRequest(out, now);
        break;
      case 'release':
        this.onRelease(out, now);
        break;
      case 'stop':
        this.onStop(out, now, input.graceful);
        break;
    }
    if (this.started && (this.st as FsmState) !== 'stopped') this.evaluate(out, now);
    return out;
  }

  private onStart(out: FsmOutput[], now: number): void {
    if (this.started) return;
    this.started = true;
    this.startedAt = now;
    this.nextKeepaliveAt = now + this.cfg.keepaliveMs;
    out.push({ type: 'send', message: 'keepalive' });
    if (!this.cfg.peer) {
      if (this.faulted()) this.go(out, 'fault', 'fault', this.faultEvidence(), now);
      else this.go(out, 'active', 'start-no-peer', 'no backup router configured: active at once', now);
    }
  }

  private faultEvidence(): string {
    const f = this.activeFaults();
    return Object.entries(f)
      .map(([k, v]) => `${k} fault: ${v}`)
      .join('; ');
  }

  private onTick(out: FsmOutput[], now: number): void {
    if (this.nextKeepaliveAt !== undefined && now >= this.nextKeepaliveAt) {
      const late = now - this.nextKeepaliveAt;
      if (late > this.keepaliveLateMaxMs) this.keepaliveLateMaxMs = late;
      if (late > this.cfg.keepaliveMs && this.resumedAt === undefined) {
        const l = this.lastHeardAny();
        // Only when the stall hid part of a live silence window; an already dead peer stays dead.
        if (l !== undefined && now - l < this.cfg.deadtimeMs + late) {
          this.resumedAt = now;
          this.ownStallsExcused++;
          this.log.debug(`own stall of ${fmt(late)}: peer ${this.peerName()} gets a fresh deadtime`, {
            op: 'stall',
            late_ms: Math.round(late * 10) / 10,
          });
        }
      }
      out.push({ type: 'send', message: this.periodicType(now) });
      this.nextKeepaliveAt += this.cfg.keepaliveMs;
      if (this.nextKeepaliveAt <= now) this.nextKeepaliveAt = now + this.cfg.keepaliveMs;
    }
    if (this.handover && now >= this.handover.until) {
      const h = this.handover;
      this.handover = undefined;
      if (h.target === 'stopping') {
        this.go(
          out,
          'stopping',
          'handover-timeout',
          `peer ${this.peerName()} did not confirm active within ${fmt(now - h.since)}: releasing anyway`,
          now,
        );
        this.finishStop(out, now);
      } else {
        this.log.warn(
          `handover (${h.why}) not confirmed by peer ${this.peerName()} within ${fmt(now - h.since)}: staying active`,
          { op: 'handover', result: 'timeout' },
        );
      }
    }
    if (this.takeoverUntil !== undefined && now >= this.takeoverUntil) {
      this.takeoverUntil = undefined;
      this.log.warn(`takeover request not granted by peer ${this.peerName()}`, {
        op: 'takeover',
        result: 'timeout',
      });
    }
  }

  /** The message type sent on each keepalive tick. */
  private periodicType(now: number): MessageType {
    if (this.handover || this.st === 'stopping') return 'farewell';
    if (
      this.st === 'standby' &&
      (this.takeoverUntil !== undefined || (this.preemptAsked && this.preemptDue(now)))
    )
      return 'claim';
    return 'keepalive';
  }

  private preemptDue(now: number): boolean {
    return this.preemptSince !== undefined && now >= this.preemptSince + this.cfg.preemptDelayMs;
  }

  private onMessage(out: FsmOutput[], now: number, path: PathName, msg: HeartbeatMessage): void {
    const p = this.peer;
    this.noteReturn(out, now);
    this.prevType = p.lastType;
    this.prevState = p.state;
    p.lastHeard[path] = now;
    this.resumedAt = undefined;
    p.state = msg.state;
    p.priority = msg.priority;
    p.linkFault = msg.flags.linkFault;
    p.lbFault = msg.flags.lbFault;
    p.resyncPending = msg.flags.resyncPending === true;
    p.lastType = msg.type;
    p.piranha = false;
    if (msg.configHash !== p.configHash) {
      p.configHash = msg.configHash;
    }
    this.checkConfig(out);
    if (!this.started) return;
    this.reactToPeer(out, now, msg.type, msg.state, msg.flags.preempt);
  }

  /**
   * A message of a peer boot that has not echoed ours yet: it may be a capture replayed at our start, so
   * only its arrival counts (the peer's path is alive), not its state, type, priority or flags.
   */
  private onUnconfirmed(out: FsmOutput[], now: number, path: PathName): void {
    this.noteReturn(out, now);
    this.peer.lastHeard[path] = now;
    this.resumedAt = undefined;
  }

  /**
   * An active that hears the peer again after a silence of deadtime or more re-announces: the peer has
   * probably taken the VIPs meanwhile (partition) and may already have let go before we saw it active.
   */
  private noteReturn(out: FsmOutput[], now: number): void {
    if (this.st !== 'active' || this.handover) return;
    const l = this.lastHeardAny();
    if (l === undefined || now - l < this.cfg.deadtimeMs) return;
    const ev = `peer ${this.peerName()} back after ${fmt(now - l)} of silence: re-announcing`;
    this.log.info(ev, { op: 'reannounce', reason: 'peer-returned' });
    out.push({ type: 'reannounce', reason: 'peer-returned', evidence: ev });
  }

  private onPiranha(out: FsmOutput[], now: number, path: PathName, running: boolean): void {
    const p = this.peer;
    this.noteReturn(out, now);
    p.lastHeard[path] = now;
    this.resumedAt = undefined;
    // Piranha activates on STOPPED while inactive; doing the same converges (a healthy Piranha primary that
    // also activates wins the split brain) and covers a Piranha that is down for LINKFAIL/CHILDFAIL.
    p.state = running ? 'active' : 'stopping';
    p.linkFault = false;
    p.lbFault = false;
    p.resyncPending = false;
    p.lastType = 'keepalive';
    p.piranha = true;
    if (!this.started) return;
    this.reactToPeer(out, now, 'keepalive', p.state, false);
  }

  private checkConfig(out: FsmOutput[]): void {
    const theirs = this.peer.configHash;
    if (theirs === undefined || theirs === this.cfg.configHash) {
      this.mismatchReported = undefined;
      return;
    }
    const key = `${this.cfg.configHash}/${theirs}`;
    if (this.mismatchReported === key) return;
    this.mismatchReported = key;
    this.log.warn(
      `peer ${this.peerName()} runs a different LB config (hash ${theirs}, ours ${this.cfg.configHash})`,
      {
        op: 'config-mismatch',
        ours: this.cfg.configHash,
        theirs,
      },
    );
    out.push({ type: 'config-mismatch', ours: this.cfg.configHash, theirs });
  }

  /** True when the peer's config hash differs from ours. */
  configMismatch(): boolean {
    return this.peer.configHash !== undefined && this.peer.configHash !== this.cfg.configHash;
  }

  /** Immediate reactions to a peer message (the standing rules are in evaluate()). */
  private reactToPeer(
    out: FsmOutput[],
    now: number,
    type: MessageType,
    state: RouterState,
    preempt: boolean,
  ): void {
    const peer = this.peerName();
    switch (this.st) {
      case 'starting':
      case 'standby': {
        if (type === 'farewell' && !this.faulted()) {
          this.go(out, 'active', 'peer-farewell', `peer ${peer} said farewell (${state}): taking over`, now);
        } else if (state === 'active' && this.st === 'starting') {
          this.go(out, 'standby', 'start-peer-active', `peer ${peer} is active: standing by`, now);
        }
        break;
      }
      case 'active': {
        if (state === 'active') {
          if (this.handover) {
            const h = this.handover;
            this.handover = undefined;
            this.go(
              out,
              h.target,
              'handover',
              `peer ${peer} confirmed active ${fmt(now - h.since)} after our farewell (${h.why})`,
              now,
            );
            if (h.target === 'stopping') this.finishStop(out, now);
          } else if (this.weWin()) {
            if (!this.splitBrain) {
              this.splitBrain = true;
              const ev = `split brain: peer ${peer} is active too; we stay (${this.electionEvidence()})`;
              this.log.warn(ev, { op: 'split-brain', result: 'survivor' });
              out.push({ type: 'reannounce', reason: 'split-brain', evidence: ev });
              out.push({ type: 'send', message: 'claim' });
            }
          } else {
            this.go(
              out,
              this.faulted() ? 'fault' : 'standby',
              'split-brain',
              `split brain: peer ${peer} is active too and wins (${this.electionEvidence()}): releasing`,
              now,
            );
            // Tell the survivor we let go (it re-announces even if it never saw us active).
            out.push({ type: 'send', message: 'farewell' });
          }
        } else {
          if (this.splitBrain) {
            this.splitBrain = false;
            const ev = `split brain resolved: peer ${peer} now ${state}`;
            this.log.info(ev, { op: 'split-brain', result: 'resolved' });
            out.push({ type: 'reannounce', reason: 'split-brain-resolved', evidence: ev });
          }
          // A farewell from a peer that held the VIPs (it says standby: it let go; or we saw it active):
          // not from a standby that merely stops.
          const peerHeldVips = state === 'standby' || this.prevState === 'active';
          if (type === 'farewell' && this.prevType !== 'farewell' && peerHeldVips && !this.handover) {
            const ev = `peer ${peer} let go (${state}): re-announcing`;
            this.log.info(ev, { op: 'reannounce', reason: 'peer-released' });
            out.push({ type: 'reannounce', reason: 'peer-released', evidence: ev });
          }
          if (type === 'claim' && state === 'standby' && !this.handover && this.peerHealthy(now)) {
            this.startHandover(
              out,
              now,
              'standby',
              preempt ? 'preempted by higher-priority peer' : 'peer requested takeover',
            );
          }
        }
        break;
      }
      default:
        break;
    }
  }

  /** Standing rules, checked after every input. */
  private evaluate(out: FsmOutput[], now: number): void {
    const peer = this.peerName();
    for (let guard = 0; guard < 4; guard++) {
      const before = this.st;
      switch (this.st) {
        case 'starting': {
          if (this.peerAlive(now) && this.peer.state !== undefined && this.peer.state !== 'starting') {
            if (this.peer.state === 'active') {
              this.go(out, 'standby', 'start-peer-active', `peer ${peer} is active: standing by`, now);
            } else if (this.faulted()) {
              this.go(out, 'fault', 'fault', this.faultEvidence(), now);
            } else {
              this.go(
                out,
                'active',
                'start-peer-inactive',
                `peer ${peer} says ${this.peer.state}: taking over`,
                now,
              );
            }
          } else if (now >= this.startedAt + this.cfg.deadtimeMs) {
            if (this.faulted()) this.go(out, 'fault', 'fault', this.faultEvidence(), now);
            else if (!this.peerAlive(now))
              this.go(out, 'active', 'peer-dead', `${this.silenceEvidence(now)}: taking over`, now);
            else if (this.weWin())
              this.go(
                out,
                'active',
                'start-election',
                `both starting; we win (${this.electionEvidence()})`,
                now,
              );
            else
              this.go(
                out,
                'standby',
                'start-election',
                `both starting; peer wins (${this.electionEvidence()})`,
                now,
              );
          }
          break;
        }
        case 'standby': {
          if (this.faulted()) {
            this.go(out, 'fault', 'fault', this.faultEvidence(), now);
          } else if (!this.peerAlive(now)) {
            this.go(out, 'active', 'peer-dead', `${this.silenceEvidence(now)}: taking over`, now);
          } else if (this.peer.state === 'fault' || this.peer.state === 'stopping') {
            this.go(out, 'active', 'peer-inactive', `peer ${peer} says ${this.peer.state}: taking over`, now);
          } else if (this.peer.state === 'standby' && !this.released && this.weWin()) {
            this.go(out, 'active', 'election', `both standby; we win (${this.electionEvidence()})`, now);
          } else if (this.peer.state === 'standby' && this.takeoverUntil !== undefined) {
            this.go(out, 'active', 'takeover-request', `takeover requested; peer ${peer} is standby`, now);
          } else {
            this.updatePreempt(out, now);
          }
          break;
        }
        case 'active': {
          if (this.faulted() && !this.handover && this.peerHealthy(now)) {
            this.startHandover(out, now, 'fault', this.faultEvidence());
          } else if (this.faulted() && !this.handover && !this.faultIgnoredLogged) {
            this.faultIgnoredLogged = true;
            this.log.warn(`${this.faultEvidence()}; peer ${peer} not healthy: staying active`, {
              op: 'fault',
            });
          }
          if (this.handover && this.handover.target !== 'stopping' && !this.peerAlive(now)) {
            this.log.warn(`handover cancelled: ${this.silenceEvidence(now)}`, {
              op: 'handover',
              result: 'peer-dead',
            });
            this.handover = undefined;
          }
          break;
        }
        case 'fault': {
          if (!this.faulted())
            this.go(out, 'standby', 'fault-cleared', 'all faults cleared: standing by', now);
          break;
        }
        default:
          break;
      }
      if (this.st === before) break;
    }
  }

  private updatePreempt(out: FsmOutput[], now: number): void {
    const p = this.cfg.peer;
    const cond =
      this.cfg.preempt &&
      !this.released &&
      p !== undefined &&
      this.peer.state === 'active' &&
      this.cfg.self.priority > (this.peer.priority ?? p.priority);
    if (!cond) {
      this.preemptSince = undefined;
      this.preemptAsked = false;
      return;
    }
    if (this.preemptSince === undefined) this.preemptSince = now;
    else if (this.holdDetail !== undefined) {
      // The delay runs on; the claim waits for the resync (evaluated again when the hold clears).
      if (this.preemptDue(now) && !this.holdLogged) {
        this.holdLogged = true;
        this.log.info(`preempt held: ${this.holdDetail}`, { op: 'preempt', result: 'held' });
      }
    } else if (this.preemptDue(now) && this.peer.lastType !== 'farewell') {
      // Ask once per keepalive; periodicType() keeps asking.
      if (!this.preemptAsked) {
        this.preemptAsked = true;
        this.log.info(`preempt: asking peer ${this.peerName()} for the VIPs (${this.electionEvidence()})`, {
          op: 'preempt',
        });
        out.push({ type: 'send', message: 'claim' });
      }
    }
  }
  private preemptAsked = false;
  /** The peer's message type before the current one (a farewell comes on every path: react once). */
  private prevType: MessageType | undefined;
  private prevState: RouterState | undefined;

  private startHandover(out: FsmOutput[], now: number, target: Handover['target'], why: string): void {
    this.handover = { target, since: now, until: now + this.cfg.handoverTimeoutMs, why };
    this.faultIgnoredLogged = false;
    this.log.info(`handing over to peer ${this.peerName()}: ${why}`, { op: 'handover', target });
    out.push({ type: 'send', message: 'farewell' });
  }

  private onFault(out: FsmOutput[], now: number, source: FaultSource, on: boolean, detail: string): void {
    const was = this.faults[source];
    this.faults[source] = on ? detail : undefined;
    if ((was !== undefined) !== on) {
      this.faultIgnoredLogged = false;
      this.log.info(`${source} fault ${on ? 'on' : 'off'}: ${detail}`, { op: 'fault', source, on });
      // Tell the peer now, not at the next keepalive.
      if (this.started) out.push({ type: 'send', message: 'keepalive' });
    }
    if (!on && this.handover?.target === 'fault' && !this.faulted()) {
      this.handover = undefined;
      this.log.info('fault cleared during handover: staying active', { op: 'handover', result: 'cancelled' });
    }
    void now;
  }

  private onHold(out: FsmOutput[], on: boolean, detail: string): void {
    const was = this.holdDetail !== undefined;
    this.holdDetail = on ? detail : undefined;
    if (was === on) return;
    this.holdLogged = false;
    this.log.info(`hold ${on ? 'on' : 'off'}: ${detail}`, { op: 'hold', on });
    // The peer learns it from the next message: send one now.
    if (this.started) out.push({ type: 'send', message: 'keepalive' });
  }

  private onTakeoverRequest(out: FsmOutput[], now: number): void {
    if (this.st !== 'standby' && this.st !== 'starting') {
      this.log.info(`takeover request ignored in state ${this.st}`, { op: 'takeover' });
      return;
    }
    if (this.faulted()) {
      this.log.warn(`takeover request refused: ${this.faultEvidence()}`, { op: 'takeover' });
      return;
    }
    if (this.holdDetail !== undefined && this.peerAlive(now) && this.peer.state === 'active') {
      this.log.warn(`takeover request refused: ${this.holdDetail}`, { op: 'takeover', result: 'held' });
      return;
    }
    if (!this.peerAlive(now) || this.peer.state !== 'active') {
      this.go(
        out,
        'active',
        'takeover-request',
        `takeover requested; peer ${this.peerName()} not active`,
        now,
      );
      return;
    }
    this.released = false;
    this.takeoverUntil = now + this.cfg.handoverTimeoutMs;
    this.log.info(`takeover requested: asking peer ${this.peerName()} to hand over`, { op: 'takeover' });
    out.push({ type: 'send', message: 'claim' });
  }

  private onRelease(out: FsmOutput[], now: number): void {
    if (this.st !== 'active') {
      this.log.info(`release request ignored in state ${this.st}`, { op: 'release' });
      return;
    }
    if (!this.peerHealthy(now)) {
      const why = this.peer.resyncPending ? 'is resyncing its connections' : 'is not a healthy standby';
      this.log.warn(`release refused: peer ${this.peerName()} ${why}`, { op: 'release' });
      return;
    }
    this.released = true;
    if (!this.handover) this.startHandover(out, now, 'standby', 'release requested');
  }

  private onStop(out: FsmOutput[], now: number, graceful: boolean): void {
    if (!this.started) {
      this.st = 'stopped';
      out.push({ type: 'stopped' });
      return;
    }
    if (this.st === 'active' && graceful && this.cfg.peer && this.peerAlive(now)) {
      if (this.handover) this.handover.target = 'stopping';
      else this.startHandover(out, now, 'stopping', 'graceful stop');
      return;
    }
    this.handover = undefined;
    this.go(out, 'stopping', 'stop', graceful ? 'graceful stop: no peer to hand over to' : 'stop', now);
    this.finishStop(out, now);
  }

  private finishStop(out: FsmOutput[], now: number): void {
    const t: Transition = { from: 'stopping', to: 'stopped', reason: 'stop', evidence: 'stopped', at: now };
    this.st = 'stopped';
    this.transitions.push(t);
    out.push({ type: 'transition', transition: t });
    out.push({ type: 'stopped' });
  }
}
