/**
 * The heartbeat receiver: every packet that arrives goes through here before the state machine sees it.
 * Pure (no sockets, no clock: `now` is passed in). Each packet is accepted or dropped with a typed
 * {@link DropReason}, and every reason is counted.
 *
 * Replay defence (see docs/protocol.md):
 * - per peer boot id and per path, the sequence number must increase strictly;
 * - a peer boot id that has been superseded (the peer restarted) is refused for the rest of our run;
 * - a new peer boot id counts only once it echoes OUR boot id (proof it is live, not a capture from before
 *   we started); until then it is accepted for at most one deadtime after its first packet, and marked
 *   unconfirmed: the state machine takes it as a sign of life only, never as a state or an order
 *   (a replayed farewell, standby or claim is thus powerless; issue 17).
 */
import {
  type DropReason,
  DROP_REASONS,
  decode,
  decodePiranha,
  type HeartbeatKey,
  type HeartbeatMessage,
  type KeyRing,
  MESSAGE_LENGTH,
  PIRANHA_LENGTH,
  type PathName,
  canonicalAddress,
  ZERO_ID,
} from './codec.js';

/** What a {@link Receiver} checks packets against. */
export interface ReceiverOptions {
  auth: 'hmac' | 'none';
  keys: KeyRing;
  /** Our boot id (16 hex digits): a live peer echoes it. */
  bootId: string;
  /** Our own addresses (public, private): packets from them are our own (multicast loopback). */
  selfAddresses: string[];
  /** Our public router address: the sender id of our own packets. */
  selfId: string;
  /** The configured peer: its public address (= its sender id) and its private address if any. */
  peer: { address: string; privateAddress?: string };
  /** Grace for a peer boot id that has not echoed our boot id yet, ms (= deadtime). */
  unconfirmedGraceMs: number;
  /** Accept Piranha's 4-byte heartbeat from the peer's addresses (unauthenticated). */
  piranhaCompat: boolean;
}

/** An accepted packet. */
export type Accepted =
  | {
      kind: 'message';
      msg: HeartbeatMessage;
      path: PathName;
      authenticated: boolean;
      oldKey: boolean;
      /** Its boot id has echoed ours: a live peer, not a capture from before our start. */
      confirmed: boolean;
      /** The first packet of a boot id, or the one that confirmed it: answer at once (handshake). */
      handshake: boolean;
    }
  | { kind: 'piranha'; running: boolean; path: PathName };

/** A packet's verdict: accepted, or dropped with its typed reason. */
export type ReceiveResult =
  | { ok: true; accepted: Accepted }
  | { ok: false; reason: DropReason; detail?: string };

/** Packets received, accepted and dropped by reason since start. */
export interface ReceiverCounters {
  received: number;
  accepted: number;
  /** Accepted without authentication (auth none, or Piranha compat). */
  unauthenticated: number;
  /** Accepted with the previous key (rotation window in use). */
  previousKey: number;
  rejected: Record<DropReason, number>;
}

interface BootRecord {
  firstSeen: number;
  confirmed: boolean;
  superseded: boolean;
  lastSeq: Partial<Record<PathName, number>>;
}

const MAX_BOOTS = 64;

/** Creates a zeroed rejection counter for every reason. */
export function zeroRejected(): Record<DropReason, number> {
  const r = {} as Record<DropReason, number>;
  for (const k of DROP_REASONS) r[k] = 0;
  return r;
}

/**
 * The receiver (see the file header): {@link Receiver.receive} judges each packet, keeping the replay
 * state per peer boot id and path and counting every drop by reason.
 */
export class Receiver {
  /** Live counters (status, metrics). */
  readonly counters: ReceiverCounters = {
    received: 0,
    accepted: 0,
    unauthenticated: 0,
    previousKey: 0,
    rejected: zeroRejected(),
  };
  private opts: ReceiverOptions;
  private peerSources = new Map<string, 'public' | 'private'>();
  private selfSources = new Set<string>();
  private peerId: string;
  private boots = new Map<string, BootRecord>();
  private currentBoot: string | undefined;
  private lastAcceptedBoot: string | undefined;
  /** The newest key id the peer advertised in its last authenticated message. */
  peerNewestKeyId = 0;

  constructor(opts: ReceiverOptions) {
    this.opts = opts;
    this.peerId = canonicalAddress(opts.peer.address);
    this.setAddresses(opts);
  }

  private setAddresses(opts: ReceiverOptions): void {
    this.peerSources.clear();
    this.selfSources.clear();
    this.peerSources.set(canonicalAddress(opts.peer.address), 'public');
    if (opts.peer.privateAddress) this.peerSources.set(canonicalAddress(opts.peer.privateAddress), 'private');
    for (const a of opts.selfAddresses) this.selfSources.add(canonicalAddress(a));
  }

  /** Replaces keys / grace / compat (config reload). Replay state is kept. */
  update(
    patch: Partial<Pick<ReceiverOptions, 'keys' | 'auth' | 'unconfirmedGraceMs' | 'piranhaCompat'>>,
  ): void {
    this.opts = { ...this.opts, ...patch };
  }

  /** The peer boot id we echo in our messages: the confirmed one, else the last accepted, else zero. */
  echoBootId(): string {
    return this.currentBoot ?? this.lastAcceptedBoot ?? ZERO_ID;
  }

  private drop(reason: DropReason, detail?: string): ReceiveResult {
    this.counters.rejected[reason]++;
    return detail === undefined ? { ok: false, reason } : { ok: false, reason, detail };
  }

  private canon(address: string): string | undefined {
    if (this.peerSources.has(address) || this.selfSources.has(address)) return address;
    try {
      return canonicalAddress(address);
    } catch {
      return undefined;
    }
  }

  /**
   * Judges one packet that arrived on `path` from source address `from` at monotonic time `now` (ms).
   * Never throws; on drop, nothing but the counters changes.
   */
  receive(buf: Buffer, from: string, path: PathName, now: number): ReceiveResult {
    this.counters.received++;
    const src = this.canon(from);
    if (src !== undefined && this.selfSources.has(src)) return this.drop('self');
    const srcPath = src === undefined ? undefined : this.peerSources.get(src);
    if (srcPath === undefined) return this.drop('not-peer', `source ${from}`);
    if (path !== 'multicast' && srcPath !== path)
      return this.drop('wrong-path', `${srcPath} address on ${path}`);

    if (buf.length === PIRANHA_LENGTH && this.opts.piranhaCompat) {
      const p = decodePiranha(buf);
      if (!p.ok) return this.drop(p.reason, p.detail);
      this.counters.accepted++;
      this.counters.unauthenticated++;
      return { ok: true, accepted: { kind: 'piranha', running: p.running, path } };
    }
    if (buf.length !== MESSAGE_LENGTH) return this.drop('wrong-length', `${buf.length} bytes`);
    const d = decode(buf, this.opts.auth, this.opts.keys);
    if (!d.ok) return this.drop(d.reason, d.detail);
    const msg = d.msg;
    if (msg.sender === this.opts.selfId) return this.drop('self');
    if (msg.sender !== this.peerId) return this.drop('not-peer', `sender id ${msg.sender}`);
    if (msg.path !== path) return this.drop('wrong-path', `says ${msg.path}, came on ${path}`);

    // Replay defence.
    let rec = this.boots.get(msg.bootId);
    const isNew = rec === undefined;
    const echoesUs = msg.echoBootId === this.opts.bootId;
    if (rec?.superseded) return this.drop('replay', `superseded boot ${msg.bootId}`);
    if (rec) {
      const last = rec.lastSeq[path];
      if (last !== undefined && msg.seq <= last) return this.drop('replay', `seq ${msg.seq} <= ${last}`);
      if (!rec.confirmed && !echoesUs && now - rec.firstSeen >= this.opts.unconfirmedGraceMs)
        return this.drop('unconfirmed-boot', `boot ${msg.bootId} never echoed ours`);
    } else {
      rec = { firstSeen: now, confirmed: false, superseded: false, lastSeq: {} };
      this.remember(msg.bootId, rec);
    }
    rec.lastSeq[path] = msg.seq;
    let confirmedNow = false;
    if (echoesUs && !rec.confirmed) {
      rec.confirmed = true;
      confirmedNow = true;
      if (this.currentBoot !== undefined && this.currentBoot !== msg.bootId) {
        const old = this.boots.get(this.currentBoot);
        if (old) old.superseded = true;
      }
      this.currentBoot = msg.bootId;
    }
    this.lastAcceptedBoot = msg.bootId;
    this.counters.accepted++;
    const authenticated = d.key !== undefined;
    if (!authenticated) this.counters.unauthenticated++;
    const oldKey = d.key !== undefined && d.key === this.opts.keys.previous;
    if (oldKey) this.counters.previousKey++;
    if (authenticated) this.peerNewestKeyId = msg.newestKeyId;
    return {
      ok: true,
      accepted: {
        kind: 'message',
        msg,
        path,
        authenticated,
        oldKey,
        confirmed: rec.confirmed,
        handshake: isNew || confirmedNow,
      },
    };
  }

  private remember(bootId: string, rec: BootRecord): void {
    if (this.boots.size >= MAX_BOOTS) {
      // Forget the oldest superseded/unconfirmed record (never the current one).
      for (const [k, v] of this.boots) {
        if (k !== this.currentBoot && (v.superseded || !v.confirmed)) {
          // A superseded boot must stay refused: keep superseded ones unless nothing else can go.
          if (!v.superseded) {
            this.boots.delete(k);
            break;
          }
        }
      }
      if (this.boots.size >= MAX_BOOTS) {
        for (const k of this.boots.keys()) {
          if (k !== this.currentBoot) {
            this.boots.delete(k);
            break;
          }
        }
      }
    }
    this.boots.set(bootId, rec);
  }

  /** A copy of the replay state, for tests that prove a drop changed nothing. */
  snapshot(): string {
    return JSON.stringify({
      boots: [...this.boots.entries()],
      current: this.currentBoot,
      last: this.lastAcceptedBoot,
      keyId: this.peerNewestKeyId,
    });
  }
}

/** Which key to sign with: the previous one during a rotation until the peer shows it holds our newest. */
export function chooseSendKey(keys: KeyRing, peerNewestKeyId: number): HeartbeatKey | undefined {
  if (!keys.current) return undefined;
  if (keys.previous && peerNewestKeyId !== keys.current.id) return keys.previous;
  return keys.current;
}
