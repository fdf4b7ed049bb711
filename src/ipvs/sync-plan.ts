/**
 * Connection sync, the pure core (docs/sync.md): from the model, this router and the LB backend, what the
 * sync runs — the kernel's IPVS sync daemon (ipvsadm backend) or conntrackd (nftables backend) — with every
 * value checked; the role recipe of conntrack-tools' primary-backup.sh; `ipvsadm -L --daemon` and
 * `conntrackd -s` parsers; the returning router's resync rule; the restart back-off. No I/O, no clock.
 */
import type { LvsModel, NodeName } from '../config/model';
import { addressFamily, canonicalIP } from '../lib/addr';

/** The kernel's IPVS sync defaults (ip_vs_sync.c): group 224.0.0.81, port 8848. */
export const IPVS_SYNC_GROUP = '224.0.0.81';
/** UDP port of the IPVS sync messages when none is configured. */
export const IPVS_SYNC_PORT = 8848;
/** conntrackd's defaults (conntrackd.conf(5)): multicast group 225.0.0.50, port 3780. */
export const CONNTRACKD_GROUP = '225.0.0.50';
/** UDP port of conntrackd's sync messages when none is configured. */
export const CONNTRACKD_PORT = 3780;

/** Which mechanism carries the connections: the kernel's IPVS sync daemon, conntrackd, or none. */
export type SyncMechanism = 'ipvs' | 'conntrackd' | 'none';

/** The IPVS sync daemon's settings (ipvsadm --start-daemon) and the sysctls written in our namespace. */
export interface IpvsSyncConfig {
  iface: string;
  syncid: number;
  group?: string;
  port?: number;
  ttl: number;
  maxlen: number;
  /** `net.ipv4.vs.NAME` → value, written with `sysctl -w` before the daemons start. */
  sysctls: Record<string, string>;
}

/** What conntrackd.conf says (written by conntrackd-conf.ts). */
export interface ConntrackdConfig {
  mode: 'ftfw' | 'notrack';
  family: 4 | 6;
  channel:
    | { kind: 'udp'; self: string; peer: string; port: number; iface: string }
    | { kind: 'multicast'; group: string; self: string; port: number; iface: string };
  /** Layer-4 protocols synced. */
  protocols: ('TCP' | 'UDP')[];
  /** Flows from or to these addresses are not synced (the routers' own traffic: probes, heartbeats…). */
  ignore: string[];
}

/** What to run, or why nothing runs (`reason`, shown in status). */
export interface SyncPlan {
  mechanism: SyncMechanism;
  /** Why the mechanism is `none` (sync off, backend none), or the configuration problem that stops it. */
  reason?: string;
  /** The problem is an error (a fault), not a choice. */
  error?: boolean;
  ipvs?: IpvsSyncConfig;
  conntrackd?: ConntrackdConfig;
  /** A returning router's resync wait before a voluntary takeover, ms. */
  resyncTimeoutMs: number;
  /** IPVS only: the backup daemon has heard every live connection once after this long, ms. */
  refreshWindowMs: number;
}

/** This router's and its peer's addresses on the sync path (the private one, else the public one). */
export function syncAddresses(model: LvsModel, node: NodeName): { self: string; peer?: string } {
  const me = node === 'primary' ? model.primary : model.backup;
  const other = node === 'primary' ? model.backup : model.primary;
  const self = me?.privateAddress ?? me?.address ?? model.primary.address;
  const peer = other ? (other.privateAddress ?? other.address) : undefined;
  return peer !== undefined ? { self, peer } : { self };
}

/** An interface name the kernel and conntrackd's lexer both take: a letter, then letters, digits, `._-`. */
export function validIfname(name: string): boolean {
  return /^[A-Za-z][A-Za-z0-9._-]{0,14}$/.test(name);
}

/**
 * The sync plan. `interfaceOf` finds the interface that holds an address on this host (for an unset
 * `sync_daemon.interface`). A plan that cannot run says why in `reason` with `error: true`.
 */
export function syncPlan(
  model: LvsModel,
  node: NodeName,
  backend: 'ipvsadm' | 'nftables' | 'none' | 'uninitialised',
  interfaceOf: (address: string) => string | undefined,
): SyncPlan {
  const sd = model.syncDaemon;
  const base = {
    resyncTimeoutMs: sd.resyncTimeoutMs,
    // One refresh period, plus the kernel's flush of a partly filled message (2 s) and its 1 s check.
    refreshWindowMs: sd.refreshPeriodS * 1000 + 3000,
  };
  const none = (reason: string, error = false): SyncPlan => ({
    mechanism: 'none',
    reason,
    ...(error ? { error } : {}),
    ...base,
  });
  if (!sd.enabled) return none('connection sync is off (syncdaemon = 0)');
  if (backend === 'none' || backend === 'uninitialised')
    return none(`LB backend ${backend}: nothing to sync`);
  const addrs = syncAddresses(model, node);
  const iface = sd.interface ?? interfaceOf(addrs.self);
  if (!iface) return none(`no interface holds ${addrs.self} (set sync_daemon.interface)`, true);
  if (!validIfname(iface)) return none(`sync interface '${iface}' is not a valid interface name`, true);
  if (backend === 'ipvsadm') {
    const ipvs: IpvsSyncConfig = {
      iface,
      syncid: sd.id,
      ttl: sd.ttl,
      maxlen: sd.maxlen,
      sysctls: {
        sync_version: String(sd.version),
        sync_threshold: `${sd.threshold} ${sd.period}`,
        sync_refresh_period: String(sd.refreshPeriodS),
        sync_persist_mode: String(sd.persistMode),
        // Both daemons run on both routers (docs/sync.md): backup_only would turn the director off.
        backup_only: '0',
      },
    };
    if (sd.mcastGroup) ipvs.group = sd.mcastGroup;
    if (sd.port !== undefined) ipvs.port = sd.port;
    return { mechanism: 'ipvs', ipvs, ...base };
  }
  const family = addressFamily(addrs.self);
  if (family === undefined) return none(`sync address '${addrs.self}' is not an address`, true);
  const port = sd.port ?? CONNTRACKD_PORT;
  let channel: ConntrackdConfig['channel'];
  if (sd.transport === 'udp') {
    if (!addrs.peer) return none('conntrackd over UDP needs a backup router to send to', true);
    if (addressFamily(addrs.peer) !== family)
      return none(`sync addresses ${addrs.self} and ${addrs.peer} are of different families`, true);
    channel = { kind: 'udp', self: addrs.self, peer: addrs.peer, port, iface };
  } else {
    if (family !== 4)
      return none('conntrackd multicast is IPv4 only here: use sync_daemon.transport udp', true);
    const group = sd.mcastGroup ?? CONNTRACKD_GROUP;
    if (addressFamily(group) !== 4) return none(`multicast group ${group} is not IPv4`, true);
    channel = { kind: 'multicast', group, self: addrs.self, port, iface };
  }
  const services = model.virtualServers.filter((v) => v.active);
  const protocols: ('TCP' | 'UDP')[] = ['TCP'];
  if (services.some((v) => v.protocol === 'udp' || v.fwmark !== undefined)) protocols.push('UDP');
  const own = [
    model.primary.address,
    model.primary.privateAddress,
    model.backup?.address,
    model.backup?.privateAddress,
    model.natRouter?.address,
    ...model.virtualServers.map((v) => v.vip.address),
  ];
  const ignore = [
    ...new Set(
      [family === 4 ? '127.0.0.1' : '::1', ...own]
        .filter((a): a is string => !!a && addressFamily(a) === family)
        .map((a) => canonicalIP(a) ?? a),
    ),
  ];
  return {
    mechanism: 'conntrackd',
    conntrackd: { mode: sd.mode, family, channel, protocols, ignore },
    ...base,
  };
}

/** `ipvsadm --start-daemon STATE …` for one of the two daemons. */
export function ipvsDaemonArgs(c: IpvsSyncConfig, state: 'master' | 'backup'): string[] {
  const a = ['--start-daemon', state, '--mcast-interface', c.iface, '--syncid', String(c.syncid)];
  a.push('--sync-maxlen', String(c.maxlen));
  if (c.group) a.push('--mcast-group', c.group);
  if (c.port !== undefined) a.push('--mcast-port', String(c.port));
  a.push('--mcast-ttl', String(c.ttl));
  return a;
}

/** One running IPVS sync daemon as `ipvsadm -L --daemon` prints it. */
export interface IpvsDaemonState {
  iface: string;
  syncid: number;
  /** Printed by ipvsadm ≥ 1.29 on kernels that report them. */
  maxlen?: number;
  group?: string;
  port?: number;
  ttl?: number;
}

/**
 * Parses `ipvsadm -L --daemon`: `master sync daemon (mcast=eth1, syncid=7[, maxlen=80, group=…, port=…,
 * ttl=…])`, one line per running daemon; lines it does not understand are ignored.
 */
export function parseIpvsDaemons(text: string): { master?: IpvsDaemonState; backup?: IpvsDaemonState } {
  const out: { master?: IpvsDaemonState; backup?: IpvsDaemonState } = {};
  for (const line of text.split('\n')) {
    const m = /^(master|backup) sync daemon \((.*)\)\s*$/.exec(line.trim());
    if (!m) continue;
    const f = new Map<string, string>();
    for (const part of m[2]!.split(',')) {
      const [k, v] = part.split('=').map((x) => x.trim());
      if (k && v !== undefined) f.set(k, v);
    }
    const iface = f.get('mcast');
    const syncid = Number(f.get('syncid'));
    if (!iface || !Number.isInteger(syncid)) continue;
    const st: IpvsDaemonState = { iface, syncid };
    const num = (k: string) =>
      f.has(k) && Number.isInteger(Number(f.get(k))) ? Number(f.get(k)) : undefined;
    const maxlen = num('maxlen');
    if (maxlen !== undefined) st.maxlen = maxlen;
    const group = f.get('group');
    if (group) st.group = canonicalIP(group) ?? group;
    const port = num('port');
    if (port !== undefined) st.port = port;
    const ttl = num('ttl');
    if (ttl !== undefined) st.ttl = ttl;
    out[m[1] as 'master' | 'backup'] = st;
  }
  return out;
}

/**
 * Whether a running daemon is the one `c` asks for. Fields ipvsadm does not print are taken as equal; a
 * backup's maxlen is the kernel's clamp of ours (≥ 1024), so it is not compared.
 */
export function ipvsDaemonMatches(
  running: IpvsDaemonState | undefined,
  c: IpvsSyncConfig,
  state: 'master' | 'backup',
): boolean {
  if (!running) return false;
  if (running.iface !== c.iface || running.syncid !== c.syncid) return false;
  if (state === 'master' && running.maxlen !== undefined && running.maxlen !== c.maxlen) return false;
  const group = c.group ?? IPVS_SYNC_GROUP;
  if (running.group !== undefined && running.group !== (canonicalIP(group) ?? group)) return false;
  if (running.port !== undefined && running.port !== (c.port ?? IPVS_SYNC_PORT)) return false;
  if (running.ttl !== undefined && running.ttl !== c.ttl) return false;
  return true;
}

/**
 * Counts the IPVS connection entries by origin from `/proc/net/ip_vs_conn_sync` (the `Origin` column:
 * `Local` = scheduled here, `Sync` = learnt from the peer's master), and the synced entries' expiry times
 * by connection (to see updates arrive: a refreshed entry's expiry jumps up).
 */
export function parseIpvsConnSync(text: string): {
  local: number;
  synced: number;
  expires: Map<string, number>;
} {
  let local = 0;
  let synced = 0;
  const expires = new Map<string, number>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    // Pro FromIP FPrt ToIP TPrt DestIP DPrt State Origin Expires
    if (f.length < 10 || f[0] === 'Pro') continue;
    if (f[8] === 'Local') local++;
    else if (f[8] === 'Sync') {
      synced++;
      expires.set(f.slice(0, 7).join(' '), Number(f[9]));
    }
  }
  return { local, synced, expires };
}

/** What `conntrackd -s` says: the entries in each cache and the sync traffic. */
export interface ConntrackdStats {
  /** This router's own flows (its kernel table, filtered). */
  internal?: number;
  /** The peer's flows, kept to be committed at a takeover. */
  external?: number;
  /** Entries the peer's messages created, updated or destroyed in the external cache so far. */
  externalChanges?: number;
  bytesSent?: number;
  bytesRecv?: number;
  pktsSent?: number;
  pktsRecv?: number;
  sendErrors?: number;
  recvErrors?: number;
  lostMsgs?: number;
}

/** Parses `conntrackd -s` (conntrack-tools 1.4): caches, then the channel's traffic; unknown lines ignored. */
export function parseConntrackdStats(text: string): ConntrackdStats {
  const out: ConntrackdStats = {};
  let cache: 'internal' | 'external' | undefined;
  let channel = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const c = /^cache (internal|external):/.exec(line);
    if (c) {
      cache = c[1] as 'internal' | 'external';
      channel = false;
      continue;
    }
    if (/traffic \(active device=/.test(line)) {
      channel = true;
      cache = undefined;
      continue;
    }
    const cur = /^current active connections:\s+(\d+)/.exec(line);
    if (cur && cache) {
      out[cache] = Number(cur[1]);
      continue;
    }
    const ch = /^connections (created|updated|destroyed):\s+(\d+)/.exec(line);
    if (ch && cache === 'external') {
      out.externalChanges = (out.externalChanges ?? 0) + Number(ch[2]);
      continue;
    }
    if (channel) {
      const b = /^(\d+) Bytes sent\s+(\d+) Bytes recv/.exec(line);
      if (b) {
        out.bytesSent = Number(b[1]);
        out.bytesRecv = Number(b[2]);
      }
      const p = /^(\d+) Pckts sent\s+(\d+) Pckts recv/.exec(line);
      if (p) {
        out.pktsSent = Number(p[1]);
        out.pktsRecv = Number(p[2]);
      }
      const e = /^(\d+) Error send\s+(\d+) Error recv/.exec(line);
      if (e) {
        out.sendErrors = Number(e[1]);
        out.recvErrors = Number(e[2]);
      }
    }
    const lost = /(\d+) Lost msgs/.exec(line);
    if (lost) out.lostMsgs = Number(lost[1]);
  }
  return out;
}

/**
 * The conntrack-tools primary-backup recipe (doc/sync/primary-backup.sh), as conntrackd flags in order:
 * - becoming active: `-c` commits the external cache (the peer's flows) to the kernel — run BEFORE the VIPs
 *   are claimed (see commitFirst) — then `-f` flushes both caches, `-R` resyncs the internal cache with
 *   the kernel and `-B` sends it to the peer in bulk;
 * - becoming standby: `-t` shortens the kernel's timers (a former active's flows are zombies now) and `-n`
 *   asks the peer for a bulk resync.
 */
export const CONNTRACKD_RECIPE = {
  commitFirst: ['-c'],
  afterActive: ['-f', '-R', '-B'],
  standby: ['-t', '-n'],
} as const;

/**
 * The returning router's resync rule (conntrackd): done once a sync packet has come in since the `-n`
 * request and the external cache has not changed for `quietMs` — the peer sends its whole cache at once,
 * and FTFW has no end-of-bulk marker — or after `timeoutMs` (timed out). Pure: fed with `conntrackd -s`
 * samples and their times.
 */
export class ResyncTracker {
  private lastCount: number | undefined;
  private lastChange = 0;
  private recvAtRequest: number | undefined;
  private heard = false;
  private outcome: 'done' | 'timed-out' | undefined;

  constructor(
    readonly requestedAt: number,
    private readonly timeoutMs: number,
    private readonly quietMs = 500,
  ) {
    this.lastChange = requestedAt;
  }

  /** One `conntrackd -s` sample taken at `now`; returns the outcome once decided. */
  sample(now: number, s: ConntrackdStats): 'done' | 'timed-out' | undefined {
    if (this.outcome) return this.outcome;
    const recv = s.pktsRecv ?? 0;
    if (this.recvAtRequest === undefined) this.recvAtRequest = recv;
    else if (recv > this.recvAtRequest) this.heard = true;
    const count = s.external ?? 0;
    if (count !== this.lastCount) {
      this.lastCount = count;
      this.lastChange = now;
    }
    if (this.heard && now - this.lastChange >= this.quietMs) this.outcome = 'done';
    else if (now - this.requestedAt >= this.timeoutMs) this.outcome = 'timed-out';
    return this.outcome;
  }

  /** The decision so far (undefined while pending). */
  get result(): 'done' | 'timed-out' | undefined {
    return this.outcome;
  }

  /** Entries in the external cache at the last sample. */
  get entries(): number {
    return this.lastCount ?? 0;
  }
}

/** Restart back-off of a supervised daemon: 0.5 s doubling to 30 s; reset after 60 s of running. */
export function restartDelayMs(failuresInARow: number): number {
  return Math.min(30_000, 500 * 2 ** Math.max(0, failuresInARow - 1));
}
