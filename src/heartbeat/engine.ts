/**
 * HeartbeatEngine: the heartbeat in the current thread — the pure core (receiver + failover state machine)
 * wired to UDP sockets, the monotonic clock, the key files and the link monitor. It runs from the heartbeat
 * settings alone (settings.ts). In production it runs in the heartbeat process (child.ts); with
 * `heartbeat.isolation = off` (tests, labs) on the daemon's main thread.
 *
 * Events: 'transition' (HeartbeatTransition), 'reannounce' ({ reason, evidence }), 'peer-config-mismatch'
 * ({ peer, ours, theirs }).
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Log } from '../lib/log.js';
import { canonicalAddress, type KeyRing, type PathName } from './codec.js';
import { type Clock, HeartbeatCore } from './core.js';
import { FailoverFsm, type FaultSource, type Transition } from './fsm.js';
import { readKeyFile } from './keys.js';
import { LinkMonitor, type SysfsReader } from './links.js';
import { Receiver, zeroRejected } from './receiver.js';
import { setThreadRealtime } from './sched.js';
import { fsmConfigFrom, type HeartbeatSettings } from './settings.js';
import type { HeartbeatStatus, HeartbeatTransition } from './status.js';
import { type UnicastPath, UdpTransport } from './udp.js';

/** What an engine runs from. */
export interface EngineOptions {
  settings: HeartbeatSettings;
  log: Log;
  /** For tests: sysfs reader for the link monitor. */
  readSysfs?: SysfsReader;
}

const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  defer: (fn) => setImmediate(fn),
};

/** Reads the key files the settings name (throws, naming the file, when one cannot be used). */
function loadKeys(s: HeartbeatSettings): { auth: 'hmac' | 'none'; keys: KeyRing } {
  if (s.auth === 'none' || !s.keyFile) return { auth: 'none', keys: {} };
  const keys: KeyRing = { current: readKeyFile(s.keyFile) };
  if (s.previousKeyFile) keys.previous = readKeyFile(s.previousKeyFile);
  return { auth: 'hmac', keys };
}

/** Link poll interval: the keepalive, within 10–100 ms. */
const linkPollMs = (s: HeartbeatSettings) => Math.max(10, Math.min(100, s.keepaliveMs));

/** The heartbeat's sockets, timers and state machine in this thread (see the file header). */
export class HeartbeatEngine extends EventEmitter {
  private settings: HeartbeatSettings;
  private readonly log: Log;
  private core: HeartbeatCore | undefined;
  private udp: UdpTransport | undefined;
  private links: LinkMonitor | undefined;
  private auth: 'hmac' | 'none' = 'none';
  /** Piranha's 4-byte heartbeats accepted (they carry no MAC): enabled only at start, never by a reload. */
  private piranhaCompat = false;
  private readonly bootId = randomBytes(8).toString('hex');

  constructor(private readonly opts: EngineOptions) {
    super();
    this.settings = opts.settings;
    this.log = opts.log;
  }

  /** Reads the keys, opens the sockets and starts listening (one deadtime before claiming anything). */
  async start(): Promise<void> {
    if (this.core) throw new Error('heartbeat: already started');
    const s = this.settings;
    const { self, peer } = s;
    const { auth, keys } = loadKeys(s);
    this.auth = auth;
    this.piranhaCompat = s.piranhaCompat;
    if (auth === 'none')
      this.log.warn(
        'HEARTBEATS ARE NOT AUTHENTICATED: no heartbeat_key_file (or auth none). Anyone who can send UDP to ' +
          `port ${s.port} from the peer's address can force a failover. Run: pulsectl keygen FILE`,
        { op: 'start', auth: 'none' },
      );
    if (s.piranhaCompat)
      this.log.warn('Piranha-compatible 4-byte heartbeats enabled: they are unauthenticated', {
        op: 'start',
      });

    const fsmCfg = fsmConfigFrom(s);
    const fsm = new FailoverFsm(fsmCfg, this.log);
    const privatePath = s.paths.includes('private');
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
            ...(privatePath && peer.privateAddress ? { privateAddress: peer.privateAddress } : {}),
          }
        : { address: self.address },
      unconfirmedGraceMs: s.deadtimeMs,
      piranhaCompat: s.piranhaCompat,
    });

    const unicast: UnicastPath[] = [];
    if (peer) {
      unicast.push({ path: 'public', localAddress: self.address, peerAddress: peer.address });
      if (privatePath && self.privateAddress && peer.privateAddress)
        unicast.push({
          path: 'private',
          localAddress: self.privateAddress,
          peerAddress: peer.privateAddress,
        });
    }
    const mc = s.multicast;
    let core: HeartbeatCore | undefined;
    this.udp = await UdpTransport.open({
      port: s.port,
      unicast,
      ...(mc
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
      piranhaCompat: s.piranhaCompat,
      clock: realClock,
      transport: this.udp,
      log: this.log,
    });
    this.core = core;
    core.on('transition', (t: Transition) => {
      // 'stopped' is the state machine's own final state: the daemon saw 'stopping' already.
      if (t.to === 'stopped' || t.from === 'stopped') return;
      const out: HeartbeatTransition = { from: t.from, to: t.to, reason: t.reason, evidence: t.evidence };
      this.emit('transition', out);
    });
    core.on('reannounce', (r) => this.emit('reannounce', r));
    core.on('peer-config-mismatch', (m: { ours: string; theirs: string }) =>
      this.emit('peer-config-mismatch', { peer: peer?.address ?? null, ...m }),
    );
    this.log.info('heartbeat starting', {
      op: 'start',
      node: s.node,
      self: self.address,
      peer: peer?.address,
      paths: fsmCfg.paths.join('+'),
      keepalive_ms: s.keepaliveMs,
      deadtime_ms: s.deadtimeMs,
      auth,
      boot_id: this.bootId,
    });
    this.applyRealtime(s.rtPriority);
    this.startLinks();
    core.start();
    if (this.hold) core.feed({ type: 'hold', now: performance.now(), ...this.hold });
  }

  /** SCHED_RR for the thread running this engine (the heartbeat process's main thread in production). */
  private applyRealtime(priority: number): void {
    if (priority <= 0) return;
    const r = setThreadRealtime(priority);
    if (!r.ok) this.log.warn(`heartbeat: ${r.detail}; running without real-time scheduling`, { op: 'sched' });
    else this.log.info(`heartbeat: ${r.detail}`, { op: 'sched' });
  }

  private startLinks(): void {
    const s = this.settings;
    if (!s.monitorLinks) return;
    if (!s.linkInterfaces.length) {
      this.log.warn('monitor_links on but no interfaces to watch (set link interfaces)', { op: 'links' });
      return;
    }
    this.links = new LinkMonitor({
      interfaces: s.linkInterfaces,
      intervalMs: linkPollMs(s),
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
          guard = setTimeout(r, this.settings.handoverTimeoutMs + 1000);
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

  /** A link or LB fault on/off (monitor_links, hard_shutdown). */
  setFault(source: FaultSource, on: boolean, detail: string): void {
    this.core?.feed({ type: 'fault', now: performance.now(), source, on, detail });
  }

  /** Hold voluntary claims while a connection resync is pending (kept across start: applied at once). */
  setHold(on: boolean, detail: string): void {
    this.hold = on ? { on, detail } : undefined;
    this.core?.feed({ type: 'hold', now: performance.now(), on, detail });
  }
  private hold: { on: true; detail: string } | undefined;

  /**
   * Reload: timers, preempt, keys and link interfaces change in place, with no state change. Addresses,
   * port, priorities and multicast need a restart (logged).
   */
  reconfigure(settings: HeartbeatSettings): void {
    const old = this.settings;
    this.settings = settings;
    const core = this.core;
    if (!core) return;
    const where = (x: HeartbeatSettings) => JSON.stringify([x.node, x.port, x.self, x.peer, x.multicast]);
    if (where(old) !== where(settings))
      this.log.warn('heartbeat addresses/port/priorities changed: takes effect at the next restart', {
        op: 'reload',
      });
    core.fsm.reconfigure({
      keepaliveMs: settings.keepaliveMs,
      deadtimeMs: settings.deadtimeMs,
      preempt: settings.preempt,
      preemptDelayMs: settings.preemptDelayMs,
      handoverTimeoutMs: settings.handoverTimeoutMs,
      configHash: settings.configHash,
    });
    try {
      const { auth, keys } = loadKeys(settings);
      if (auth === 'none' && this.auth === 'hmac')
        this.log.warn('reload would drop heartbeat authentication: refused, keeping the current keys', {
          op: 'reload',
        });
      // Turning piranha_compat on accepts unauthenticated 4-byte heartbeats: as weakening as auth none.
      else if (settings.piranhaCompat && !this.piranhaCompat && this.auth === 'hmac')
        this.log.warn(
          'reload would accept unauthenticated Piranha heartbeats (piranha_compat): refused, keeping the ' +
            'current authentication; restart the daemon to enable it',
          { op: 'reload' },
        );
      else {
        this.auth = auth;
        this.piranhaCompat = settings.piranhaCompat;
        core.setAuth(auth, keys, settings.piranhaCompat);
      }
    } catch (err) {
      this.log.error('reload: heartbeat keys not reloaded', { op: 'reload', error: (err as Error).message });
    }
    core.receiver.update({ unconfirmedGraceMs: settings.deadtimeMs });
    this.links?.reconfigure(settings.linkInterfaces, linkPollMs(settings));
    if (!this.links && settings.monitorLinks) this.startLinks();
    // Re-arm timers at the new intervals.
    core.feed({ type: 'tick', now: performance.now() });
  }

  /** A new LB config hash, sent to the peer from the next message on. */
  setConfigHash(hash: string): void {
    this.settings = { ...this.settings, configHash: hash };
    this.core?.fsm.reconfigure({ configHash: hash });
  }

  /** The status now (an idle one before start). */
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
      node: this.settings.node,
      bootId: this.bootId,
      peer: {
        address: core?.fsm.config.peer?.address ?? '',
        lastHeardMs,
        ...(core?.fsm.peer.state ? { state: core.fsm.peer.state } : {}),
        ...(core?.fsm.peer.configHash ? { configHash: core.fsm.peer.configHash } : {}),
        configMismatch: core?.fsm.configMismatch() ?? false,
        ...(core?.fsm.peer.resyncPending ? { resyncPending: true } : {}),
      },
      auth: this.auth,
      faults: core?.fsm.activeFaults() ?? {},
      ...(core?.fsm.activeHold() !== undefined ? { hold: core.fsm.activeHold() } : {}),
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
