/**
 * The heartbeat concern's interface: {@link Heartbeat} decides which router of the pair holds the VIPs.
 *
 * The daemon computes the heartbeat settings from its configuration (settings.ts) and runs the engine —
 * receiver, failover state machine, UDP sockets, link monitor — in a heartbeat process of its own
 * (supervisor.ts forks child.ts), under real-time scheduling, so that probes, LB applies and garbage
 * collection in the daemon cannot delay keepalives or deadlines. `heartbeat.isolation = off` runs the engine
 * on the daemon's main thread instead: for tests and labs only, not for production (a stall of the main
 * thread then reads as death to the peer).
 *
 * Events:
 * - 'transition' ({@link HeartbeatTransition}): `to === 'active'` → claim the VIPs now; leaving 'active'
 *   → release them.
 * - 'reannounce' ({ reason, evidence }): re-announce every VIP now (split brain survived, peer let go).
 * - 'peer-config-mismatch' ({ peer, ours, theirs }): the peer's LB config hash differs from ours.
 */
import { EventEmitter } from 'node:events';
import type { HeartbeatIsolation, LvsModel, NodeName } from '../config/model.js';
import type { Log } from '../lib/log.js';
import { HeartbeatEngine } from './engine.js';
import type { FaultSource } from './fsm.js';
import type { HeartbeatCommand } from './ipc.js';
import type { SysfsReader } from './links.js';
import { detectNode, type HeartbeatSettings, heartbeatSettings } from './settings.js';
import { type HeartbeatStatus, type HeartbeatTransition, idleStatus } from './status.js';
import { type ForkFn, HeartbeatSupervisor } from './supervisor.js';
import { localAddresses } from './udp.js';

export type { DropReason, PathName } from './codec.js';
export { configHashOf, DROP_REASONS } from './codec.js';
export type { FaultSource, Transition, TransitionReason } from './fsm.js';
export { keygen, readKeyFile } from './keys.js';
export { detectNode, type HeartbeatSettings, heartbeatSettings } from './settings.js';
export { ROUTER_STATES, type RouterState } from './state.js';
export type { HeartbeatStatus, HeartbeatTransition, HeartbeatTransitionReason } from './status.js';
export type { HeartbeatIsolation };

/** What a {@link Heartbeat} is built from. */
export interface HeartbeatOptions {
  /** The configuration; only its heartbeat settings are used (and sent to the heartbeat process). */
  model: LvsModel;
  /** `--node`: overrides who-am-I detection. */
  node?: NodeName;
  log: Log;
  /** Short hash of the LB config (sent to the peer; a mismatch is reported). */
  configHash: string;
  /** For tests: this host's addresses (default: os.networkInterfaces()). */
  localAddresses?: string[];
  /** For tests, isolation `off` only: sysfs reader for the link monitor. */
  readSysfs?: SysfsReader;
  /** For tests: how the heartbeat process is started (default: node's fork). */
  fork?: ForkFn;
}

/**
 * The heartbeat of this router (see the file header): start it, feed it operator orders and faults, read
 * its status; it emits the transitions the daemon acts on.
 */
export class Heartbeat extends EventEmitter {
  private engine: HeartbeatEngine | undefined;
  private supervisor: HeartbeatSupervisor | undefined;
  private settings: HeartbeatSettings | undefined;
  private configHash: string;

  constructor(private readonly opts: HeartbeatOptions) {
    super();
    this.configHash = opts.configHash;
  }

  /** Where the engine runs: `process` (the heartbeat process) or `off` (this thread). */
  get isolation(): HeartbeatIsolation {
    return this.opts.model.heartbeat.isolation;
  }

  /** The heartbeat process's pid (undefined before start and with isolation `off`). */
  get pid(): number | undefined {
    return this.supervisor?.pid;
  }

  /**
   * Works out which router this is, opens the sockets and starts listening (one deadtime before claiming
   * anything). Rejects, saying why, when this host is neither router or the engine cannot start.
   */
  async start(): Promise<void> {
    if (this.settings) throw new Error('heartbeat: already started');
    const { model, log } = this.opts;
    const node = detectNode(model, this.opts.localAddresses ?? localAddresses(), this.opts.node);
    const settings = heartbeatSettings(model, node, this.configHash);
    this.settings = settings;
    const forward = (from: EventEmitter) => {
      from.on('transition', (t: HeartbeatTransition) => this.emit('transition', t));
      from.on('reannounce', (r) => this.emit('reannounce', r));
      from.on('peer-config-mismatch', (m) => this.emit('peer-config-mismatch', m));
    };
    if (model.heartbeat.isolation === 'off') {
      const e = new HeartbeatEngine({
        settings,
        log,
        ...(this.opts.readSysfs ? { readSysfs: this.opts.readSysfs } : {}),
      });
      this.engine = e;
      forward(e);
      if (this.pendingHold?.cmd === 'hold') e.setHold(true, this.pendingHold.detail);
      await e.start();
      return;
    }
    const s = new HeartbeatSupervisor({
      settings,
      log,
      ...(this.opts.fork ? { fork: this.opts.fork } : {}),
    });
    this.supervisor = s;
    forward(s);
    await s.start();
    if (this.pendingHold) s.send(this.pendingHold);
  }

  /**
   * Stops. graceful: if active, farewell on every path and wait (≤ handoverTimeoutMs) for the peer to
   * confirm active before leaving active (VIPs released on the 'transition' out of active).
   */
  async stop(options: { graceful: boolean }): Promise<void> {
    if (this.engine) return this.engine.stop(options);
    return this.supervisor?.stop(options);
  }

  /** Carries out `c`: sent to the heartbeat process, or done by the engine on this thread. */
  private command(c: HeartbeatCommand): void {
    const e = this.engine;
    if (!e) {
      this.supervisor?.send(c);
      return;
    }
    switch (c.cmd) {
      case 'takeover':
        e.requestTakeover();
        break;
      case 'release':
        e.requestRelease();
        break;
      case 'fault':
        e.setFault(c.source, c.on, c.detail);
        break;
      case 'hold':
        e.setHold(c.on, c.detail);
        break;
      case 'reconfigure':
        e.reconfigure(c.settings);
        break;
      case 'config-hash':
        e.setConfigHash(c.hash);
        break;
      case 'stop':
        void e.stop({ graceful: c.graceful });
        break;
    }
  }

  /** `pulsectl takeover`: become active (asking the active peer to hand over). */
  requestTakeover(): void {
    this.command({ cmd: 'takeover' });
  }

  /** `pulsectl release`: hand the VIPs to a healthy standby peer. */
  requestRelease(): void {
    this.command({ cmd: 'release' });
  }

  /**
   * Holds this router's voluntary claims (preemption, `pulsectl takeover`) and tells the peer not to release
   * to it, while `on`: a connection resync is pending (docs/sync.md). Never stops a crash takeover. Set
   * before start, it is in force from the engine's first step (the heartbeat process gets it right after
   * its start, before it can have heard a peer twice).
   */
  setHold(on: boolean, detail: string): void {
    this.pendingHold = on ? { cmd: 'hold', on, detail } : undefined;
    if (this.engine || this.supervisor) this.command({ cmd: 'hold', on, detail });
  }
  private pendingHold: HeartbeatCommand | undefined;

  /** A link fault (monitor_links) or LB fault (hard_shutdown: the LB table cannot be applied) on or off. */
  setFault(source: FaultSource, on: boolean, detail: string): void {
    this.command({ cmd: 'fault', source, on, detail });
  }

  /**
   * Reload: timers, preempt, keys and link interfaces change in place, with no state change. Addresses,
   * port and priorities need a restart; so does switching `heartbeat.isolation`. Only the new heartbeat
   * settings reach the heartbeat process. A model without this router's settings is refused (logged).
   */
  reconfigure(model: LvsModel): void {
    if (model.heartbeat.isolation !== this.opts.model.heartbeat.isolation)
      this.opts.log.warn('heartbeat.isolation changed: takes effect at the next restart', { op: 'reload' });
    const node = this.settings?.node;
    if (!node) return;
    let settings: HeartbeatSettings;
    try {
      settings = heartbeatSettings(model, node, this.configHash);
    } catch (err) {
      this.opts.log.error('reload: heartbeat not reconfigured', {
        op: 'reload',
        error: (err as Error).message,
      });
      return;
    }
    this.settings = settings;
    this.command({ cmd: 'reconfigure', settings });
  }

  /** A new LB config hash, sent to the peer from the next message on. */
  setConfigHash(hash: string): void {
    this.configHash = hash;
    if (this.settings) this.settings = { ...this.settings, configHash: hash };
    this.command({ cmd: 'config-hash', hash });
  }

  /**
   * The status now. From the heartbeat process: its last snapshot (at most 5 keepalives old, 250 ms at
   * most), "last heard" ages brought up to date. Before start: `starting`, nothing heard.
   */
  status(): HeartbeatStatus {
    if (this.engine) return this.engine.status();
    return this.supervisor?.status() ?? idleStatus(this.settings?.node ?? this.opts.node ?? 'primary');
  }
}
