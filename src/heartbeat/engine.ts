/**
 * HeartbeatEngine: the heartbeat in the current thread — the pure core (receiver + failover state machine)
 * wired to UDP sockets, the monotonic clock and the link monitor. index.ts's Heartbeat runs it directly or,
 * with `heartbeat.worker`, inside a worker thread (worker.ts).
 *
 * Events: 'transition', 'reannounce', 'peer-config-mismatch' (see index.ts).
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { LvsModel, NodeName } from '../config/model.js';
import type { Log } from '../lib/log.js';
import { canonicalAddress, type DropReason, type KeyRing, type PathName } from './codec.js';
import { type Clock, HeartbeatCore } from './core.js';
import { FailoverFsm, type FaultSource, type RouterState, type Transition } from './fsm.js';
import { detectNode, fsmConfigFrom, routersFor } from './identity.js';
import { readKeyFile } from './keys.js';
import { LinkMonitor, type SysfsReader } from './links.js';
import { Receiver, zeroRejected } from './receiver.js';
import { setThreadRealtime } from './sched.js';
import { localAddresses, type UnicastPath, UdpTransport } from './udp.js';

/** The role reported to the daemon (a router state; 'stopped' is internal). */
export type HeartbeatRole = Exclude<RouterState, 'stopped'>;

export interface HeartbeatTransition {
  from: HeartbeatRole;
  to: HeartbeatRole;
  reason: string;
  evidence: string;
}

export interface HeartbeatOptions {
  model: LvsModel;
  /** `--node`: overrides who-am-I detection. */
  node?: NodeName;
  log: Log;
  /** Short hash of the LB config (sent to the peer; a mismatch is reported). */
  configHash: string;
  /** For tests: this host's addresses (default: os.networkInterfaces()). */
  localAddresses?: string[];
  /** For tests: sysfs reader for the link monitor. */
  readSysfs?: SysfsReader;
}

export interface HeartbeatStatus {
  role: HeartbeatRole;
  node: NodeName;
  bootId: string;
  peer: {
    /** The peer's public address ('' when no backup router is configured). */
    address: string;
    /** Milliseconds since the peer was last heard, per path (null = never). */
    lastHeardMs: Partial<Record<PathName, number | null>>;
    /** The peer's last announced state (absent until heard). */
    state?: string;
    configHash?: string;
    configMismatch: boolean;
  };
  auth: 'hmac' | 'none';
  faults: Partial<Record<FaultSource, string>>;
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
  lastTransitions: Transition[];
}

const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  defer: (fn) => setImmediate(fn),
};

/** Auth mode and keys from the model: HMAC when a key file is set and auth is not 'none'. */
function loadKeys(model: LvsModel): { auth: 'hmac' | 'none'; keys: KeyRing } {
  const hb = model.heartbeat;
  if (hb.auth === 'none' || !hb.keyFile) return { auth: 'none', keys: {} };
  const keys: KeyRing = { current: readKeyFile(hb.keyFile) };
  if (hb.previousKeyFile) keys.previous = readKeyFile(hb.previousKeyFile);
  return { auth: 'hmac', keys };
}

function linkInterfaces(model: LvsModel): string[] {
  if (model.linkInterfaces.length) return model.linkInterfaces;
  const s = new Set<string>();
  for (const v of model.virtualServers) if (v.vip.device) s.add(v.vip.device);
  if (model.natRouter?.device) s.add(model.natRouter.device);
  return [...s];
}

export class HeartbeatEngine extends EventEmitter {
  private model: LvsModel;
  private readonly log: Log;
  private configHash: string;
  private nodeName: NodeName | undefined;
  private core: HeartbeatCore | undefined;
  private udp: UdpTransport | undefined;
  private links: LinkMonitor | undefined;
  private auth: 'hmac' | 'none' = 'none';
  private readonly bootId = randomBytes(8).toString('hex');

  constructor(private readonly opts: HeartbeatOptions) {
    super();
    this.model = opts.model;
    this.log = opts.log;
    this.configHash = opts.configHash;
  }

  /** Opens the sockets and starts listening (one deadtime before claiming anything). */
  async start(): Promise<void> {
    if (this.core) throw new Error('heartbeat: already started');
    const model = this.model;
    const node = detectNode(model, this.opts.localAddresses ?? localAddresses(), this.opts.node);
    this.nodeName = node;
    const { self, peer } = routersFor(model, node);
    const { auth, keys } = loadKeys(model);
    this.auth = auth;
    if (auth === 'none')
      this.log.warn(
        'HEARTBEATS ARE NOT AUTHENTICATED: no heartbeat_key_file (or auth none). Anyone who can send UDP to ' +
          `port ${model.heartbeat.port} from the peer's address can force a failover. Run: pulsectl keygen FILE`,
        { op: 'start', auth: 'none' },
      );
    if (model.heartbeat.piranhaCompat)
      this.log.warn('Piranha-compatible 4-byte heartbeats enabled: they are unauthenticated', {
        op: 'start',
      });

    const fsmCfg = fsmConfigFrom(model, node, this.configHash);
    const fsm = new FailoverFsm(fsmCfg, this.log);
    const selfAddresses = [self.address, ...(self.privateAddress ? [self.privateAddress] : [])];
    const receiver = new Receiver({
      auth,
      keys,
      bootId: this.bootId,
      selfAddresses,
      selfId: canonicalAddress(self.address),
      peer: peer
        ? {
            address: peer.address,
            ...(fsmCfg.peer?.privateAddress ? { privateAddress: peer.privateAddress } : {}),
          }
        : { address: self.address },
      unconfirmedGraceMs: model.heartbeat.deadtimeMs,
      piranhaCompat: model.heartbeat.piranhaCompat,
    });

    const unicast: UnicastPath[] = [];
    if (peer) {
      unicast.push({ path: 'public', localAddress: self.address, peerAddress: peer.address });
      if (fsmCfg.peer?.privateAddress && self.privateAddress)
        unicast.push({
          path: 'private',
          localAddress: self.privateAddress,
          peerAddress: peer.privateAddress!,
        });
    }
    const mc = model.heartbeat.multicast;
    let core: HeartbeatCore | undefined;
    this.udp = await UdpTransport.open({
      port: model.heartbeat.port,
      unicast,
      ...(peer && mc
        ? {
            multicast: {
              group: mc.group,
              localAddress: self.address,
              ttl: mc.ttl,
              ...(mc.interface ? { interface: mc.interface } : {}),
            },
          }
        : {}),
      onMessage: (path, buf, from) => core?.receive(path, buf, from),
      log: this.log,
    });
    core = new HeartbeatCore({
      fsm,
      receiver,
      auth,
      keys,
      bootId: this.bootId,
      selfAddress: canonicalAddress(self.address),
      paths: fsmCfg.paths,
      piranhaCompat: model.heartbeat.piranhaCompat,
      clock: realClock,
      transport: this.udp,
      log: this.log,
    });
    this.core = core;
    core.on('transition', (t: Transition) => {
      if (t.to === 'stopped') return;
      const out: HeartbeatTransition = {
        from: t.from as HeartbeatRole,
        to: t.to,
        reason: t.reason,
        evidence: t.evidence,
      };
      this.emit('transition', out);
    });
    core.on('reannounce', (r) => this.emit('reannounce', r));
    core.on('peer-config-mismatch', (m: { ours: string; theirs: string }) =>
      this.emit('peer-config-mismatch', { peer: peer?.address ?? null, ...m }),
    );
    this.log.info('heartbeat starting', {
      op: 'start',
      node,
      self: self.address,
      peer: peer?.address,
      paths: fsmCfg.paths.join('+'),
      keepalive_ms: model.heartbeat.keepaliveMs,
      deadtime_ms: model.heartbeat.deadtimeMs,
      auth,
      boot_id: this.bootId,
    });
    this.applyRealtime(model.heartbeat.rtPriority);
    this.startLinks();
    core.start();
  }

  /** SCHED_RR for the thread running this engine (the worker thread in worker mode). */
  private applyRealtime(priority: number): void {
    if (priority <= 0) return;
    const r = setThreadRealtime(priority);
    if (!r.ok) this.log.warn(`heartbeat: ${r.detail}; running without real-time scheduling`, { op: 'sched' });
    else
      this.log.info(`heartbeat: ${r.detail}`, {
        op: 'sched',
        ...(this.model.heartbeat.isolation === 'off'
          ? { note: 'whole main thread is real-time; heartbeat.worker confines it' }
          : {}),
      });
  }

  private startLinks(): void {
    const m = this.model;
    if (!m.monitorLinks) return;
    const ifaces = linkInterfaces(m);
    if (!ifaces.length) {
      this.log.warn('monitor_links on but no interfaces to watch (set link interfaces)', { op: 'links' });
      return;
    }
    this.links = new LinkMonitor({
      interfaces: ifaces,
      intervalMs: Math.max(10, Math.min(100, m.heartbeat.keepaliveMs)),
      ...(this.opts.readSysfs ? { read: this.opts.readSysfs } : {}),
    });
    this.links.on('change', (c: { on: boolean; detail: string }) => this.setFault('link', c.on, c.detail));
    this.links.start();
  }

  /**
   * Stops. graceful: if active, farewell on every path and wait (≤ handoverTimeoutMs) for the peer to
   * confirm active before leaving active (VIPs released on the 'transition' out of active).
   */
  async stop(options: { graceful: boolean }): Promise<void> {
    const core = this.core;
    if (!core) return;
    this.links?.stop();
    if (!core.stopped) {
      const done = new Promise<void>((resolve) => core.once('stopped', () => resolve()));
      core.feed({ type: 'stop', now: performance.now(), graceful: options.graceful });
      let guard: NodeJS.Timeout | undefined;
      await Promise.race([
        done,
        new Promise<void>((r) => {
          guard = setTimeout(r, this.model.heartbeat.handoverTimeoutMs + 1000);
        }),
      ]);
      if (guard) clearTimeout(guard);
    }
    // Let the farewell leave the socket before closing it.
    await new Promise((r) => setImmediate(r));
    this.udp?.close();
  }

  /** `pulsectl takeover`: become active (asking the active peer to hand over). */
  requestTakeover(): void {
    this.core?.feed({ type: 'takeover', now: performance.now() });
  }

  /** `pulsectl release`: hand the VIPs to a healthy standby peer. */
  requestRelease(): void {
    this.core?.feed({ type: 'release', now: performance.now() });
  }

  /** A link or child fault on/off (monitor_links, hard_shutdown). */
  setFault(source: FaultSource, on: boolean, detail: string): void {
    this.core?.feed({ type: 'fault', now: performance.now(), source, on, detail });
  }

  /** Reload: timers, preempt, keys change in place; no state change. Address/port changes need a restart. */
  reconfigure(model: LvsModel): void {
    const old = this.model;
    this.model = model;
    const core = this.core;
    if (!core || !this.nodeName) return;
    const a = routersFor(old, this.nodeName);
    const b = routersFor(model, this.nodeName);
    if (
      old.heartbeat.port !== model.heartbeat.port ||
      JSON.stringify(a) !== JSON.stringify(b) ||
      JSON.stringify(old.heartbeat.multicast) !== JSON.stringify(model.heartbeat.multicast)
    )
      this.log.warn('heartbeat addresses/port/priorities changed: takes effect at the next restart', {
        op: 'reload',
      });
    const hb = model.heartbeat;
    core.fsm.reconfigure({
      keepaliveMs: hb.keepaliveMs,
      deadtimeMs: hb.deadtimeMs,
      preempt: hb.preempt,
      preemptDelayMs: hb.preemptDelayMs,
      handoverTimeoutMs: hb.handoverTimeoutMs,
    });
    try {
      const { auth, keys } = loadKeys(model);
      if (auth === 'none' && this.auth === 'hmac')
        this.log.warn('reload would drop heartbeat authentication: refused, keeping the current keys', {
          op: 'reload',
        });
      else {
        this.auth = auth;
        core.setAuth(auth, keys, hb.piranhaCompat);
      }
    } catch (err) {
      this.log.error('reload: heartbeat keys not reloaded', { op: 'reload', error: (err as Error).message });
    }
    core.receiver.update({ unconfirmedGraceMs: hb.deadtimeMs });
    this.links?.reconfigure(linkInterfaces(model), Math.max(10, Math.min(100, hb.keepaliveMs)));
    if (!this.links && model.monitorLinks) this.startLinks();
    // Re-arm timers at the new intervals.
    core.feed({ type: 'tick', now: performance.now() });
  }

  setConfigHash(hash: string): void {
    this.configHash = hash;
    this.core?.fsm.reconfigure({ configHash: hash });
  }

  status(): HeartbeatStatus {
    const core = this.core;
    const now = performance.now();
    const lastHeardMs: Partial<Record<PathName, number | null>> = {};
    if (core)
      for (const p of core.fsm.config.paths) {
        const t = core.fsm.peer.lastHeard[p];
        lastHeardMs[p] = t === undefined ? null : Math.round(now - t);
      }
    const c = core?.counters();
    const state = core?.fsm.state ?? 'starting';
    return {
      role: state === 'stopped' ? 'stopping' : state,
      node: this.nodeName ?? this.opts.node ?? 'primary',
      bootId: this.bootId,
      peer: {
        address: core?.fsm.config.peer?.address ?? '',
        lastHeardMs,
        ...(core?.fsm.peer.state ? { state: core.fsm.peer.state } : {}),
        ...(core?.fsm.peer.configHash ? { configHash: core.fsm.peer.configHash } : {}),
        configMismatch: core?.fsm.configMismatch() ?? false,
      },
      auth: this.auth,
      faults: core?.fsm.activeFaults() ?? {},
      counters: {
        sent: c?.sent ?? 0,
        received: c?.received ?? 0,
        accepted: c?.accepted ?? 0,
        unauthenticated: c?.unauthenticated ?? 0,
        previousKey: c?.previousKey ?? 0,
        sendErrors: { ...(this.udp?.sendErrors ?? {}) },
        rejected: c?.rejected ?? zeroRejected(),
        keepaliveLateMaxMs: Math.round((core?.fsm.keepaliveLateMaxMs ?? 0) * 10) / 10,
        ownStallsExcused: core?.fsm.ownStallsExcused ?? 0,
      },
      lastTransitions: core ? [...core.fsm.transitions] : [],
    };
  }
}
