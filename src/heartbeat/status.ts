/**
 * What the heartbeat reports to the daemon: its status and its transitions. Plain data, the same from the
 * heartbeat process (over IPC) as from an engine on the main thread. Pure.
 */
import type { NodeName } from '../config/model.js';
import type { DropReason, PathName } from './codec.js';
import type { FaultSource, Transition, TransitionReason } from './fsm.js';
import { zeroRejected } from './receiver.js';
import type { RouterState } from './state.js';

/**
 * Why a reported transition happened: the state machine's reasons, and `worker-exit` (the heartbeat
 * process died outside a stop; the supervisor leaves active so the VIPs are released).
 */
export type HeartbeatTransitionReason = TransitionReason | 'worker-exit';

/** A state change, as the daemon receives it: `to === 'active'` → claim the VIPs; leaving active → release. */
export interface HeartbeatTransition {
  from: RouterState;
  to: RouterState;
  reason: HeartbeatTransitionReason;
  /** The sentence with the figures behind the decision. */
  evidence: string;
}

/** The heartbeat's status (`pulsectl status`, metrics). */
export interface HeartbeatStatus {
  /** This router's state now (the status JSON's `role`). */
  role: RouterState;
  node: NodeName;
  bootId: string;
  peer: {
    /** The peer's public address ('' when no backup router is configured). */
    address: string;
    /** Milliseconds since the peer was last heard, per path (null = never). */
    lastHeardMs: Partial<Record<PathName, number | null>>;
    /** The peer's last announced state (absent until heard). */
    state?: RouterState;
    /** The peer's LB config hash (absent until heard). */
    configHash?: string;
    /** The peer's config hash differs from ours. */
    configMismatch: boolean;
    /** The peer says its connection resync is pending (we do not release to it). Absent = false. */
    resyncPending?: boolean;
  };
  auth: 'hmac' | 'none';
  /** Faults on now, with their detail: `{ lb: 'apply failed: …' }`. */
  faults: Partial<Record<FaultSource, string>>;
  /** Why this router holds its voluntary claims (a connection resync pending), when it does. */
  hold?: string;
  counters: {
    sent: number;
    received: number;
    accepted: number;
    unauthenticated: number;
    previousKey: number;
    sendErrors: Record<string, number>;
    rejected: Record<DropReason, number>;
    /** Worst lateness of a keepalive behind schedule since start, ms. */
    keepaliveLateMaxMs: number;
    /** Silences excused because we ourselves were stalled (fsm.ts, `resumedAt`). */
    ownStallsExcused: number;
  };
  /** The state machine's recent transitions, oldest first. */
  lastTransitions: Transition[];
}

/** The status of a heartbeat that has not started: `starting`, nothing heard, nothing sent. */
export function idleStatus(node: NodeName, bootId = ''): HeartbeatStatus {
  return {
    role: 'starting',
    node,
    bootId,
    peer: { address: '', lastHeardMs: {}, configMismatch: false },
    auth: 'none',
    faults: {},
    counters: {
      sent: 0,
      received: 0,
      accepted: 0,
      unauthenticated: 0,
      previousKey: 0,
      sendErrors: {},
      rejected: zeroRejected(),
      keepaliveLateMaxMs: 0,
      ownStallsExcused: 0,
    },
    lastTransitions: [],
  };
}

/** A status snapshot `ageMs` later: every "last heard" age brought up to date. */
export function agedStatus(s: HeartbeatStatus, ageMs: number): HeartbeatStatus {
  const lastHeardMs: HeartbeatStatus['peer']['lastHeardMs'] = {};
  for (const [p, v] of Object.entries(s.peer.lastHeardMs))
    lastHeardMs[p as PathName] = v === null || v === undefined ? null : v + Math.round(ageMs);
  return { ...s, peer: { ...s.peer, lastHeardMs } };
}
