/**
 * The `Takeover` orchestrator: claim and release the floating addresses (VIPs) of an LVS router pair.
 *
 * The daemon calls `claim()` when the heartbeat makes this router active and `release()` when it stops
 * being active; `reconcile()` at start and periodically makes the interfaces agree with the role.
 *
 * Pre-staged for speed (`open()`): one AF_PACKET socket per device is opened, every frame is built in
 * advance and a claim is rehearsed on stand-ins (so its code is compiled). `claim()` then sends the first
 * gratuitous ARP / unsolicited NA of every VIP back to back, synchronously, before anything else; adds the
 * addresses with rtnetlink (still in the same tick: no process spawned); and leaves the rest of the
 * announcement bursts to timers.
 *
 * Only the addresses the config names are ever added or removed; any other address is never touched.
 */
import { readFileSync } from 'node:fs';
import type { LvsModel } from '../config/model';
import { type Log, nullLog } from '../lib/log';
import { formatMac } from './addr';
import { type AnnounceSchedule, Announcer, type Timers } from './announcer';
import { arpFrames } from './arp';
import { type HookExec, Hooks } from './hooks';
import { type AddressSpec, type AddressTable, IpRoute } from './iproute';
import { NetlinkAddresses } from './netlink';
import { MemoryAddressTable, nullSocket } from './rehearsal';
import { unsolicitedNa } from './ndp';
import { type FrameSocket, openPacketSocket } from './rawsocket';
import { connectedDevice, findAddress, floatingAddresses, type InterfaceInfo, type Vip } from './vips';

/** One VIP in `status()`. */
export interface VipStatus {
  address: string;
  device: string;
  prefixLength: number;
  label?: string;
  /** On its interface, as last seen by claim/release/reconcile. */
  present: boolean;
  /** Announcement schedule running (burst or refresh). */
  announcing: boolean;
}

/** What `status()` reports: role, VIPs, frame counters, the last claim's timings. */
export interface TakeoverStatus {
  active: boolean;
  vips: VipStatus[];
  /** Frames (ARP and NA) sent since open(). */
  garpSent: number;
  garpErrors: number;
  /** Last claim: decision → all addresses on their interfaces, ms. */
  lastClaimMs?: number;
  /** Last claim: decision → first frame of every VIP handed to the kernel, ms. */
  lastFirstFramesMs?: number;
}

/** The VIPs a reconcile added back (active) or removed (standby). */
export interface ReconcileResult {
  added: string[];
  removed: string[];
}

/** The I/O the takeover uses; every field has a real default and can be replaced in tests. */
export interface TakeoverEdges {
  addresses: AddressTable;
  openSocket: (device: string) => FrameSocket;
  hookExec?: HookExec;
  timers: Timers;
  /** Monotonic milliseconds (fractional). */
  now: () => number;
  /** Reads /proc/sys/net/ipv4/ip_forward; returns its text or throws. */
  readIpForward: () => string;
}

/** Options of {@link Takeover}. */
export interface TakeoverOptions {
  model: LvsModel;
  log: Log;
  edges?: Partial<TakeoverEdges>;
  /** Skip the dress rehearsal in open() (set for the rehearsal itself and for tests that count calls). */
  noRehearsal?: boolean;
}

interface Held extends Vip {
  device: string;
  /** Pre-built frames; empty while the device's raw socket could not be opened (retried on use). */
  frames: Buffer[];
  form: LvsModel['announce']['form'];
  present: boolean;
  /** Prefix length found on the interface when it differs from the configured one. */
  foundPrefix?: number;
}

/** The real address table: rtnetlink for add/del (no process spawned), `ip` when netlink is unavailable. */
function defaultAddressTable(log: Log): AddressTable {
  try {
    return new NetlinkAddresses(new IpRoute());
  } catch (err) {
    log.warn('rtnetlink unavailable, adding addresses with ip(8)', { op: 'open', error: String(err) });
    return new IpRoute();
  }
}

function withDefaults(edges: Partial<TakeoverEdges> | undefined, log: Log): TakeoverEdges {
  return {
    addresses: edges?.addresses ?? defaultAddressTable(log),
    openSocket: edges?.openSocket ?? openPacketSocket,
    ...(edges?.hookExec ? { hookExec: edges.hookExec } : {}),
    timers: edges?.timers ?? {
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
    },
    now: edges?.now ?? (() => performance.now()),
    readIpForward: edges?.readIpForward ?? (() => readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8')),
  };
}

function scheduleOf(model: LvsModel): AnnounceSchedule {
  const a = model.announce;
  return {
    count: a.count,
    intervalMs: a.intervalMs,
    repeatDelayMs: a.repeatDelayMs,
    repeatCount: a.repeatCount,
    refreshMs: a.refreshMs,
  };
}

/** Claims and releases this LVS's floating addresses. */
export class Takeover {
  private model: LvsModel;
  private readonly log: Log;
  private readonly edges: TakeoverEdges;
  private readonly announcer: Announcer;
  private readonly hooks: Hooks;
  private readonly sockets = new Map<string, FrameSocket>();
  private held: Held[] = [];
  private byAddress = new Map<string, Held>();
  private active = false;
  private announcing = new AbortController();
  private opened = false;
  private framesSent = 0;
  private frameErrors = 0;
  private lastClaimMs?: number;
  private lastFirstFramesMs?: number;
  private readonly noRehearsal: boolean;
  /** Bumped by every claim() and release(): a reconcile that started before one of them is stale. */
  private roleEpoch = 0;

  private get vips(): Held[] {
    return this.held;
  }

  private set vips(list: Held[]) {
    this.held = list;
    this.byAddress = new Map(list.map((v) => [v.address, v]));
  }

  constructor(opts: TakeoverOptions) {
    this.model = opts.model;
    this.log = opts.log.child({ component: 'takeover' });
    this.edges = withDefaults(opts.edges, this.log);
    this.noRehearsal = !!opts.noRehearsal;
    this.announcer = new Announcer({
      schedule: scheduleOf(this.model),
      send: (key) => this.sendFrames(this.byAddress.get(key)),
      timers: this.edges.timers,
      log: this.log,
    });
    this.hooks = new Hooks({
      hooks: this.model.hooks,
      log: this.log,
      ...(this.edges.hookExec ? { exec: this.edges.hookExec } : {}),
    });
  }

  /**
   * Resolves each VIP's device (config, else the interface whose connected subnet contains it, else the
   * route to it), opens one raw socket per device, builds every frame, and records which VIPs are present.
   * In NAT mode, warns when net.ipv4.ip_forward is off.
   *
   * @throws Error naming the VIP when no device can be found or a socket cannot be opened.
   */
  async open(): Promise<void> {
    this.checkForwarding(this.model);
    const interfaces = await this.edges.addresses.list();
    this.vips = await this.prepare(this.model, interfaces);
    if (!this.noRehearsal) await this.rehearse(interfaces);
    this.opened = true;
    this.log.info('takeover ready', {
      op: 'open',
      vips: this.vips.map((v) => `${v.address}/${v.prefixLength} ${v.label ?? v.device}`),
      present: this.vips.filter((v) => v.present).map((v) => v.address),
    });
  }

  /**
   * Becomes the holder of every VIP: the first frame for every VIP is sent synchronously, before this
   * function returns its promise; then the addresses are added in parallel (an address already there is
   * left alone), then the bursts continue on timers. Runs `active_cmd` and `notify_cmd active REASON`
   * afterwards without waiting for them.
   */
  async claim(reason: string): Promise<void> {
    this.assertOpen('claim');
    const t0 = this.edges.now();
    this.roleEpoch++;
    this.active = true;
    // First frames of all VIPs back to back, before any other work; then the schedules.
    const sent = this.vips.map((v) => this.trySend(v, 'claim'));
    const tFrames = this.edges.now();
    this.announcing.abort();
    this.announcing = new AbortController();
    this.vips.forEach((v, i) => {
      this.announcer.start(v.address, this.announcing.signal, { firstSent: sent[i] });
    });
    this.lastFirstFramesMs = tFrames - t0;
    // With the rtnetlink edge every add completes inside this call, in this same tick.
    const adding = this.vips.map((v) => this.ensurePresent(v));
    const tIssued = this.edges.now();
    const results = await Promise.allSettled(adding);
    this.lastClaimMs = this.edges.now() - t0;
    const failed = results.flatMap((r, i) =>
      r.status === 'rejected' ? [`${this.vips[i]?.address}: ${r.reason}`] : [],
    );
    this.log.info('claimed VIPs', {
      op: 'claim',
      reason,
      vips: this.vips.map((v) => v.address),
      firstFramesMs: round(this.lastFirstFramesMs),
      // Synchronous part (frames + rtnetlink adds) vs. until the promise settled (includes whatever else
      // ran in the tick after claim() returned, and any stall of the process).
      syncMs: round(tIssued - t0),
      claimMs: round(this.lastClaimMs),
      ...(failed.length ? { failed } : {}),
    });
    if (failed.length) this.log.error('could not add some VIPs', { op: 'claim', reason, failed });
    void this.hooks.transition('active', reason);
  }

  /**
   * Stops announcing and removes exactly our VIPs (wherever they are configured, except `lo`). Runs
   * `inactive_cmd` and `notify_cmd inactive REASON` afterwards without waiting for them.
   */
  async release(reason: string): Promise<void> {
    this.assertOpen('release');
    const t0 = this.edges.now();
    this.roleEpoch++;
    this.active = false;
    this.announcing.abort();
    this.announcer.stopAll();
    let interfaces: InterfaceInfo[] | undefined;
    try {
      interfaces = await this.edges.addresses.list();
    } catch (err) {
      this.log.warn('cannot list addresses; deleting by configuration only', {
        op: 'release',
        error: String(err),
      });
    }
    const removed: string[] = [];
    const failed: string[] = [];
    await Promise.all(
      this.vips.map(async (v) => {
        try {
          if (await this.removeEverywhere(v, interfaces)) removed.push(v.address);
        } catch (err) {
          failed.push(`${v.address}: ${err}`);
        }
      }),
    );
    this.log.info('released VIPs', { op: 'release', reason, removed, ms: round(this.edges.now() - t0) });
    if (failed.length) this.log.error('could not remove some VIPs', { op: 'release', reason, failed });
    void this.hooks.transition('inactive', reason);
  }

  /** Sends an immediate burst for every VIP (e.g. after surviving a split brain). No-op while standby. */
  reannounce(): void {
    if (!this.active) return;
    for (const v of this.vips) this.announcer.start(v.address, this.announcing.signal);
    this.log.info('re-announcing VIPs', { op: 'reannounce', vips: this.vips.map((v) => v.address) });
  }

  /**
   * Makes the interfaces agree with the role: while standby (`active` false) a VIP found on an interface
   * is removed (logged); while active a missing VIP is added again and re-announced.
   */
  async reconcile(active: boolean): Promise<ReconcileResult> {
    this.assertOpen('reconcile');
    if (this.active !== active) {
      this.active = active;
      if (!active) {
        this.announcing.abort();
        this.announcer.stopAll();
      }
    }
    const epoch = this.roleEpoch;
    const interfaces = await this.edges.addresses.list();
    const added: string[] = [];
    const removed: string[] = [];
    // A claim() or release() while the list was being read makes it stale: acting on it could remove a VIP
    // just claimed (or re-add one just released). The next reconcile starts afresh.
    const stale = (): boolean => {
      if (epoch === this.roleEpoch) return false;
      this.log.debug('reconcile skipped: the role changed while it ran', { op: 'reconcile', active });
      return true;
    };
    if (stale()) return { added, removed };
    await Promise.all(
      this.vips.map(async (v) => {
        if (stale()) return;
        const found = findAddress(v.address, interfaces).filter((a) => a.device !== 'lo');
        const onDevice = found.find((a) => a.device === v.device);
        if (active) {
          v.present = !!onDevice;
          if (onDevice) return;
          this.log.warn('VIP missing while active: adding it again', {
            op: 'reconcile',
            vip: v.address,
            device: v.device,
          });
          await this.ensurePresent(v);
          this.announcer.start(v.address, this.announcing.signal);
          added.push(v.address);
        } else if (found.length > 0) {
          this.log.warn('VIP held while standby: removing it', {
            op: 'reconcile',
            vip: v.address,
            devices: found.map((a) => `${a.device} ${a.address}/${a.prefixLength}`),
          });
          if (await this.removeEverywhere(v, interfaces)) removed.push(v.address);
        } else {
          v.present = false;
        }
      }),
    );
    if (added.length || removed.length)
      this.log.info('reconciled', { op: 'reconcile', active, added, removed });
    return { added, removed };
  }

  /**
   * Applies a new model: VIPs no longer configured are removed (if present) and no longer announced; new
   * VIPs are claimed if active; a VIP whose device, label or mask changed is moved. Announce schedule and
   * hooks follow the new model.
   */
  async reconfigure(model: LvsModel): Promise<void> {
    this.assertOpen('reconfigure');
    this.checkForwarding(model);
    const interfaces = await this.edges.addresses.list();
    const next = await this.prepare(model, interfaces);
    const key = (v: Held): string => `${v.address} ${v.device} ${v.prefixLength} ${v.label ?? ''}`;
    const nextKeys = new Set(next.map(key));
    const oldKeys = new Set(this.vips.map(key));
    const dropped = this.vips.filter((v) => !nextKeys.has(key(v)));
    const fresh = next.filter((v) => !oldKeys.has(key(v)));
    this.model = model;
    this.announcer.setSchedule(scheduleOf(model));
    this.hooks.setHooks(model.hooks);
    for (const v of dropped) this.announcer.stop(v.address);
    await Promise.all(
      dropped.map(async (v) => {
        try {
          await this.removeFrom(v, v.device, interfaces);
        } catch (err) {
          this.log.error('could not remove a dropped VIP', {
            op: 'reconfigure',
            vip: v.address,
            error: String(err),
          });
        }
      }),
    );
    // Keep present/frames state of unchanged VIPs; take the new list.
    const oldByKey = new Map(this.vips.map((v) => [key(v), v]));
    this.vips = next.map((v) => {
      const old = oldByKey.get(key(v));
      return old ? { ...v, present: v.present || old.present } : v;
    });
    if (this.active) {
      for (const v of fresh) {
        const held = this.vips.find((h) => key(h) === key(v))!;
        this.announcer.start(held.address, this.announcing.signal);
      }
      await Promise.all(fresh.map((v) => this.ensurePresent(this.vips.find((h) => key(h) === key(v))!)));
    }
    this.closeUnusedSockets();
    this.log.info('reconfigured', {
      op: 'reconfigure',
      dropped: dropped.map((v) => v.address),
      added: fresh.map((v) => v.address),
      active: this.active,
    });
  }

  /** Stops announcing and closes the raw sockets. Addresses are left as they are. */
  async close(): Promise<void> {
    this.announcing.abort();
    this.announcer.stopAll();
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
    if (this.edges.addresses instanceof NetlinkAddresses) this.edges.addresses.close();
    this.opened = false;
    await this.hooks.idle();
  }

  /** A snapshot for `pulsectl status` and metrics. */
  status(): TakeoverStatus {
    return {
      active: this.active,
      vips: this.vips.map((v) => ({
        address: v.address,
        device: v.device,
        prefixLength: v.prefixLength,
        ...(v.label ? { label: v.label } : {}),
        present: v.present,
        announcing: this.announcer.isRunning(v.address),
      })),
      garpSent: this.framesSent,
      garpErrors: this.frameErrors,
      ...(this.lastClaimMs !== undefined ? { lastClaimMs: round(this.lastClaimMs) } : {}),
      ...(this.lastFirstFramesMs !== undefined ? { lastFirstFramesMs: round(this.lastFirstFramesMs) } : {}),
    };
  }

  /** Resolves when queued hooks have run (tests, graceful shutdown). */
  hooksIdle(): Promise<void> {
    return this.hooks.idle();
  }

  // ——— internals ———

  /**
   * Runs claim → reannounce → reconcile → release once on stand-ins (see rehearsal.ts) so the first real
   * claim runs compiled code. Nothing real is touched: in-memory addresses, frames dropped, no hooks, timers
   * that never fire.
   */
  private async rehearse(interfaces: InterfaceInfo[]): Promise<void> {
    const t0 = this.edges.now();
    const macs = new Map([...this.sockets].map(([d, s]) => [d, s.mac]));
    const stand = new Takeover({
      model: { ...this.model, hooks: { timeoutMs: this.model.hooks.timeoutMs } },
      log: nullLog,
      noRehearsal: true,
      edges: {
        addresses: new MemoryAddressTable(interfaces),
        openSocket: (d) => nullSocket(d, macs.get(d) ?? new Uint8Array(6)),
        timers: { setTimeout: () => undefined, clearTimeout: () => {} },
        now: this.edges.now,
        readIpForward: () => '1',
        hookExec: async () => ({ code: 0, signal: null, stdout: '', stderr: '', timedOut: false }),
      },
    });
    try {
      for (let i = 0; i < 2; i++) {
        await stand.open();
        await stand.claim('rehearsal');
        stand.reannounce();
        await stand.reconcile(true);
        await stand.release('rehearsal');
        await stand.reconcile(false);
        await stand.close();
      }
      this.log.debug('takeover rehearsed', { op: 'open', ms: round(this.edges.now() - t0) });
    } catch (err) {
      this.log.debug('takeover rehearsal failed (harmless)', { op: 'open', error: String(err) });
    }
  }

  private assertOpen(op: string): void {
    if (!this.opened) throw new Error(`takeover.${op}(): call open() first`);
  }

  /** Sends a VIP's frames now; false (logged) when that failed, so the schedule sends again at once. */
  private trySend(v: Held, op: string): boolean {
    try {
      this.sendFrames(v);
      return true;
    } catch (err) {
      this.log.warn('announcement failed', { op, vip: v.address, error: String(err) });
      return false;
    }
  }

  private sendFrames(v: Held | undefined): void {
    if (!v) return;
    if (v.frames.length === 0) this.buildFrames(v); // socket could not be opened earlier: try again
    const s = this.sockets.get(v.device);
    if (!s) throw new Error(`no raw socket on ${v.device}`);
    for (const f of v.frames) {
      try {
        s.send(f);
        this.framesSent++;
      } catch (err) {
        this.frameErrors++;
        throw err;
      }
    }
  }

  /** Opens (or reuses) the device's raw socket and builds the VIP's frames; throws naming the VIP. */
  private buildFrames(v: Held): void {
    const socket = this.socketFor(v.device, v);
    v.frames =
      v.family === 4
        ? arpFrames(v.form, socket.mac, v.address)
        : [unsolicitedNa(socket.mac, v.address, { router: v.source === 'nat_router' })];
    for (const f of v.frames) socket.warm(f);
  }

  private checkForwarding(model: LvsModel): void {
    if (model.network !== 'nat') return;
    let text: string;
    try {
      text = this.edges.readIpForward().trim();
    } catch (err) {
      this.log.warn('cannot read net.ipv4.ip_forward', { op: 'check', error: String(err) });
      return;
    }
    if (text !== '1') {
      this.log.warn(
        'NAT mode but net.ipv4.ip_forward is off: replies from the real servers will not be forwarded. ' +
          'Set net.ipv4.ip_forward = 1 (sysctl -w, and in /etc/sysctl.d/ to keep it)',
        { op: 'check', sysctl: 'net.ipv4.ip_forward', value: text },
      );
    }
  }

  /** Resolves devices, opens sockets, builds frames for a model. */
  private async prepare(model: LvsModel, interfaces: InterfaceInfo[]): Promise<Held[]> {
    const { vips, warnings } = floatingAddresses(model);
    for (const w of warnings) this.log.warn(w, { op: 'config' });
    const out: Held[] = [];
    for (const v of vips) {
      const device = v.device ?? (await this.pickDevice(v, interfaces));
      const held: Held = { ...v, device, frames: [], form: model.announce.form, present: false };
      try {
        this.buildFrames(held);
      } catch (err) {
        // A missing or broken interface must not stop the other VIPs: logged, retried on every send.
        this.log.error('cannot prepare announcements for VIP', {
          op: 'open',
          vip: v.address,
          interface: device,
          error: (err as Error).message,
        });
      }
      const found = findAddress(v.address, interfaces).find((a) => a.device === device);
      held.present = !!found;
      if (found && found.prefixLength !== v.prefixLength) held.foundPrefix = found.prefixLength;
      out.push(held);
      if (found && found.prefixLength !== v.prefixLength) {
        this.log.warn('VIP present with a different mask; left as it is', {
          op: 'open',
          vip: v.address,
          device,
          configured: v.prefixLength,
          found: found.prefixLength,
        });
      }
    }
    return out;
  }

  private async pickDevice(v: Vip, interfaces: InterfaceInfo[]): Promise<string> {
    const connected = connectedDevice(v.address, interfaces);
    if (connected) return connected;
    const already = findAddress(v.address, interfaces).find((a) => a.device !== 'lo');
    if (already) return already.device;
    const routed = await this.edges.addresses.routeDevice(v.address);
    if (routed) return routed;
    throw new Error(
      `${v.source}: no interface for VIP ${v.address}: none has a connected subnet containing it and no route ` +
        `leads to it; name the device in the config (e.g. "${v.address} eth0:1")`,
    );
  }

  private socketFor(device: string, v: Vip): FrameSocket {
    let s = this.sockets.get(device);
    if (!s) {
      try {
        s = this.edges.openSocket(device);
      } catch (err) {
        throw new Error(`${v.source}: VIP ${v.address}: ${(err as Error).message}`);
      }
      this.sockets.set(device, s);
      this.log.debug('raw socket open', { op: 'open', interface: device, mac: formatMac(s.mac) });
    }
    return s;
  }

  private closeUnusedSockets(): void {
    const used = new Set(this.vips.map((v) => v.device));
    for (const [device, s] of this.sockets) {
      if (used.has(device)) continue;
      s.close();
      this.sockets.delete(device);
    }
  }

  private spec(v: Held, device = v.device, prefixLength = v.prefixLength): AddressSpec {
    return {
      address: v.address,
      family: v.family,
      prefixLength,
      device,
      ...(v.label && v.family === 4 && device === v.device ? { label: v.label } : {}),
    };
  }

  private async ensurePresent(v: Held): Promise<void> {
    if (v.present && v.foundPrefix !== undefined) return; // there with another mask: left alone (warned)
    const r = await this.edges.addresses.add(this.spec(v));
    v.present = true;
    if (r === 'added') this.log.info('VIP added', { op: 'add', vip: v.address, device: v.label ?? v.device });
  }

  /** Removes `v` from every non-lo device it is on (per `interfaces`, or its own device if unknown). */
  private async removeEverywhere(v: Held, interfaces: InterfaceInfo[] | undefined): Promise<boolean> {
    if (!interfaces) {
      const r = await this.edges.addresses.del(this.spec(v, v.device, v.foundPrefix ?? v.prefixLength));
      v.present = false;
      return r === 'removed';
    }
    const found = findAddress(v.address, interfaces).filter((a) => a.device !== 'lo');
    let any = false;
    for (const a of found) {
      const r = await this.edges.addresses.del(this.spec(v, a.device, a.prefixLength));
      if (r === 'removed') {
        any = true;
        this.log.info('VIP removed', { op: 'del', vip: v.address, device: a.label ?? a.device });
      }
    }
    v.present = false;
    v.foundPrefix = undefined;
    return any;
  }

  private async removeFrom(v: Held, device: string, interfaces: InterfaceInfo[]): Promise<void> {
    for (const a of findAddress(v.address, interfaces).filter((x) => x.device === device)) {
      const r = await this.edges.addresses.del(this.spec(v, a.device, a.prefixLength));
      if (r === 'removed')
        this.log.info('VIP removed', { op: 'del', vip: v.address, device: a.label ?? a.device });
    }
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
