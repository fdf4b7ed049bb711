/**
 * The parts the daemon wires together, as one small options interface: each is made by a factory, and the
 * default factories build the real ones (heartbeat, takeover, LB table, nanny pool, reply routing, logger,
 * sd_notify). A unit test passes fakes instead and drives role changes and reloads without root, sockets
 * or a kernel table (test/unit/daemon/daemon.test.ts).
 *
 * Each part's type is the slice of the real class the daemon calls (a `Pick`), so a rename in a component
 * breaks the typecheck here rather than a fake in a test. Events are subscribed with `on`, as the real
 * EventEmitters do.
 */
import { Heartbeat } from '../heartbeat';
import { ConnSync, LbTable, ReplyRouting } from '../ipvs';
import type { Log } from '../lib/log';
import { NannyPool } from '../nanny';
import { Takeover } from '../takeover';
import { createLogger, type DaemonLogger, type LoggerOptions } from './logging';
import { type Notifier, systemdNotifier } from './sdnotify';

/** Subscribing to a part's events (`transition`, `fault`, `weight`, …), as an EventEmitter does. */
export interface EventSource {
  // biome-ignore lint/suspicious/noExplicitAny: the listener's payload type is the event's (EventEmitter's own signature)
  on(event: string, listener: (...args: any[]) => void): unknown;
}

/** What the daemon uses of the heartbeat ({@link Heartbeat}): events `transition`, `reannounce`, `peer-config-mismatch`. */
export type HeartbeatPart = EventSource &
  Pick<
    Heartbeat,
    | 'start'
    | 'stop'
    | 'status'
    | 'setFault'
    | 'requestTakeover'
    | 'requestRelease'
    | 'reconfigure'
    | 'setConfigHash'
    | 'setHold'
  >;

/** What the daemon uses of the VIP takeover ({@link Takeover}). */
export type TakeoverPart = Pick<
  Takeover,
  'open' | 'claim' | 'release' | 'reannounce' | 'reconcile' | 'reconfigure' | 'close' | 'status'
>;

/** What the daemon uses of the LB table ({@link LbTable}): event `fault`. */
export type LbTablePart = EventSource &
  Pick<
    LbTable,
    'init' | 'setWeight' | 'onRole' | 'reconcile' | 'reconfigure' | 'clear' | 'status' | 'takeApplyStats'
  >;

/** What the daemon uses of the nanny pool ({@link NannyPool}): event `weight`. */
export type NannyPoolPart = EventSource &
  Pick<
    NannyPool,
    'start' | 'stop' | 'ready' | 'initialWeights' | 'drain' | 'enable' | 'reconfigure' | 'status'
  >;

/** What the daemon uses of connection sync ({@link ConnSync}): events `hold`, `fault`, `resync`. */
export type ConnSyncPart = EventSource &
  Pick<
    ConnSync,
    | 'start'
    | 'stop'
    | 'onRole'
    | 'commitBeforeClaim'
    | 'commit'
    | 'reconcile'
    | 'reconfigure'
    | 'status'
    | 'hold'
  >;

/** What the daemon uses of reply routing ({@link ReplyRouting}). */
export type ReplyRoutingPart = Pick<ReplyRouting, 'install' | 'remove'>;

/** What the daemon uses of its logger ({@link DaemonLogger}). */
export type DaemonLog = Log & Pick<DaemonLogger, 'setLevel' | 'close'>;

/** The factories of the daemon's parts. Every one has a real default ({@link realParts}). */
export interface DaemonParts {
  heartbeat(o: ConstructorParameters<typeof Heartbeat>[0]): HeartbeatPart;
  takeover(o: ConstructorParameters<typeof Takeover>[0]): TakeoverPart;
  lbTable(o: ConstructorParameters<typeof LbTable>[0]): LbTablePart;
  nannyPool(o: ConstructorParameters<typeof NannyPool>[0]): NannyPoolPart;
  replyRouting(log: Log): ReplyRoutingPart;
  connSync(o: ConstructorParameters<typeof ConnSync>[0]): ConnSyncPart;
  logger(o: LoggerOptions): DaemonLog;
  /** sd_notify (a no-op without $NOTIFY_SOCKET). */
  notifier(): Notifier;
}

/** The real parts: what `pulse` runs. */
export const realParts: DaemonParts = {
  heartbeat: (o) => new Heartbeat(o),
  takeover: (o) => new Takeover(o),
  lbTable: (o) => new LbTable(o),
  nannyPool: (o) => new NannyPool(o),
  replyRouting: (log) => new ReplyRouting(log),
  connSync: (o) => new ConnSync(o),
  logger: (o) => createLogger(o),
  notifier: () => systemdNotifier(),
};
