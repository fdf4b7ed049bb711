/**
 * The one typed model of a whole LVS: redundancy (routers, heartbeat, timers), virtual servers and real
 * servers. Both front ends (lvs.cf and YAML/JSON) produce exactly this; every other concern reads only this.
 *
 * Times are milliseconds (lvs.cf seconds, possibly fractional, are converted by the parser).
 * Addresses are canonical strings (IPv4 dotted quad or compressed IPv6).
 */

/** Transport protocol of a virtual server (ipvsadm -t / -u). */
export type Protocol = 'tcp' | 'udp';
/** Piranha's `network`: the forwarding method of real servers (ipvsadm -m / -g / -i). */
export type Forwarding = 'nat' | 'direct' | 'tunnel';
/** Every IPVS scheduler name the config accepts (ipvsadm -s), in the kernel's spelling. */
export const SCHEDULERS = [
  'rr',
  'wrr',
  'lc',
  'wlc',
  'lblc',
  'lblcr',
  'dh',
  'sh',
  'sed',
  'nq',
  'mh',
  'fo',
  'ovf',
  'twos',
] as const;
/** One IPVS scheduler name. */
export type Scheduler = (typeof SCHEDULERS)[number];
/** Which of the two routers of lvs.cf this one is. */
export type NodeName = 'primary' | 'backup';
/** Log levels, most severe first. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
/** Which LB table backend runs: `auto` = IPVS where the kernel has it, else nftables. */
export type LbBackend = 'auto' | 'ipvsadm' | 'nftables' | 'none';

/** A floating address as lvs.cf writes it: `198.18.0.10 eth0:1` → address, device eth0, label eth0:1. */
export interface FloatingAddress {
  address: string;
  /** Interface the address goes on (`eth0`); undefined = let the takeover pick the one routing to it. */
  device?: string;
  /** iproute2 label (`eth0:1`), kept for operators used to Piranha's aliases. */
  label?: string;
  /** Prefix length (from vip_nmask / nat_nmask); default 32 for IPv4, 128 for IPv6. */
  prefixLength: number;
}

/** One router of the pair: its addresses (heartbeat paths) and election priority. */
export interface RouterConfig {
  /** Public address (lvs.cf `primary` / `backup`): heartbeat path 1 and who-am-I detection. */
  address: string;
  /** Private address (lvs.cf `primary_private` / `backup_private`): heartbeat path 2 when set. */
  privateAddress?: string;
  /** Election priority, higher wins; default primary 200, backup 100. Ties go to the lower address. */
  priority: number;
}

/** The optional multicast heartbeat path: group, interface, TTL. */
export interface MulticastConfig {
  group: string;
  /** Interface name to join on and send from. */
  interface?: string;
  ttl: number;
}

/** Heartbeat and failover settings: port, timers, authentication, election rules, isolation. */
export interface HeartbeatConfig {
  /** UDP port (lvs.cf heartbeat_port), default 539 as Piranha. */
  port: number;
  /** Interval between keepalives, ms. */
  keepaliveMs: number;
  /** Silence on every path for this long = peer dead, ms. */
  deadtimeMs: number;
  /** Authentication: `hmac` needs keyFile; `none` is unauthenticated (warned loudly). */
  auth: 'hmac' | 'none';
  /** Root-only file holding the shared key (lvs.cf heartbeat_key_file). */
  keyFile?: string;
  /** Previous key still accepted during a rotation window (heartbeat_key_file_old). */
  previousKeyFile?: string;
  /** Optional multicast path in addition to unicast. */
  multicast?: MulticastConfig;
  /** Speak Piranha's 4-byte heartbeat too (migration; unauthenticated). */
  piranhaCompat: boolean;
  /** Fail back to the higher priority router when it returns. Piranha never did; default off. */
  preempt: boolean;
  preemptDelayMs: number;
  /** Bounded wait for the peer to confirm active before dropping VIPs on a graceful handover, ms. */
  handoverTimeoutMs: number;
  /** SCHED_RR priority for the heartbeat thread (0 = off), like keepalived's vrrp_rt_priority. */
  rtPriority: number;
  /**
   * Where the send/receive/deadline logic runs: a heartbeat process of its own (default; as keepalived's
   * VRRP child), or 'off' (the daemon's main thread: for tests and labs, not for production).
   */
  isolation: HeartbeatIsolation;
}

/**
 * `heartbeat.isolation`: `process` (a heartbeat process of its own, the default) or `off` (the daemon's main
 * thread, for tests and labs only: a stall of the main thread then reads as death to the peer).
 */
export type HeartbeatIsolation = 'process' | 'off';

/** Gratuitous ARP / unsolicited NA announcement policy. */
export interface AnnounceConfig {
  /** Frames in the first burst (the first leaves immediately). */
  count: number;
  intervalMs: number;
  /** Second burst after this delay (0 = none). */
  repeatDelayMs: number;
  repeatCount: number;
  /** Periodic refresh while active (0 = off). */
  refreshMs: number;
  /** ARP form: request (most switches), reply (Piranha's send_arp), or both. */
  form: 'request' | 'reply' | 'both';
}

/** The health-check kinds a virtual server's monitor can run against each real server. */
export type ProbeKind = 'tcp' | 'send_expect' | 'program' | 'udp' | 'http' | 'https' | 'dns' | 'none';

/** How a virtual server's real servers are probed and weighted (Piranha's nanny settings and ours). */
export interface MonitorConfig {
  kind: ProbeKind;
  /** Piranha send/expect; escapes already expanded. `*` expect = anything. */
  send?: string;
  expect?: string;
  useRegex: boolean;
  /** Piranha send_program, with %h and %p placeholders. */
  sendProgram?: string;
  /** Per-probe timeout, ms (Piranha `timeout`). */
  timeoutMs: number;
  /** Interval between probes, ms (Piranha: equal to timeout). */
  intervalMs: number;
  /** Failures in a row to mark down (Piranha: 1). */
  fall: number;
  /** Successes in a row to mark up again (Piranha: reentry/timeout). */
  rise: number;
  /** Random spread of probe start, ms, so probes do not fire together. */
  jitterMs: number;
  /** Weight 0 instead of removal on failure. */
  quiesce: boolean;
  /** Dynamic weights: none, an HTTP agent URL on the real server, or a command printing the load average. */
  loadMonitor:
    | { kind: 'none' }
    | { kind: 'http'; url: string }
    | { kind: 'command'; command: string }
    | {
        kind: 'piranha';
        /** uptime | rup | ruptime as written in lvs.cf; run over rsh in Piranha, kept for reporting only. */
        method: string;
      };
  /** Slow start duration after a failure (Piranha doubled from weight/32 about every 20 s), ms; 0 = off. */
  slowStartMs: number;
  http?: {
    path: string;
    /** Expected status codes; empty = 2xx/3xx. */
    status: number[];
    bodyRegex?: string;
    host?: string;
    sni?: string;
    insecure: boolean;
    /**
     * Optional (nanny): reuse one kept-alive connection per real server between probes; absent = false, a
     * fresh connection per probe (see docs/nanny.md).
     */
    keepAlive?: boolean;
  };
  dns?: { name: string; type: 'A' | 'AAAA' | 'SOA' | 'NS' | 'TXT' };
  /** Source address to probe from. */
  sourceAddress?: string;
  /**
   * Optional (nanny, TCP connect probe): complete the three-way handshake, so the real server accepts the
   * connection before it is reset. Absent = false: SYN, SYN-ACK, reset (half-open, as HAProxy's checks);
   * the server's application never sees the probe. See docs/nanny.md.
   */
  tcpFullHandshake?: boolean;
  /**
   * Optional dynamic weight feedback (keepalived misc_dynamic style): `exit-code` for send_program (0 up at
   * the configured weight, 1 down, 2..255 up with weight code − 2), or `header`: an HTTP(S) response header
   * whose integer value sets the weight. Absent = none.
   */
  feedback?: { kind: 'exit-code' } | { kind: 'header'; name: string };
  /** Optional: how often load_monitor reads the load, ms (nanny default 5000). */
  loadIntervalMs?: number;
}

/** One real server of a virtual server: address, port, configured weight, forwarding. */
export interface RealServer {
  name: string;
  address: string;
  /** Port on the real server (defaults to the virtual's port). */
  port: number;
  /** Configured weight (Piranha default 1); 0 allowed (kept but receives nothing). */
  weight: number;
  active: boolean;
  /** Per-real-server forwarding override; defaults to the global `network`. */
  forwarding?: Forwarding;
}

/** One virtual service: its VIP, protocol/port or fwmark, scheduler, persistence, monitor and real servers. */
export interface VirtualServer {
  name: string;
  active: boolean;
  /** The VIP (with device/label/mask): a floating address the takeover owns. */
  vip: FloatingAddress;
  protocol: Protocol;
  port: number;
  /** When set the LB service is `-f fwmark` and `port` is not used by the LB table. */
  fwmark?: number;
  scheduler: Scheduler;
  /** Persistence timeout, seconds (0 = off). */
  persistentS: number;
  /** Persistence netmask (-M), e.g. 255.255.255.0. */
  pmask?: string;
  /** In only while no real server of this virtual is up. */
  sorryServer?: { address: string; port: number };
  monitor: MonitorConfig;
  realServers: RealServer[];
  /** lvs.cf client_monitor, parsed and reported only. */
  clientMonitor?: string;
}

/** Piranha failover service (`service = fos`): parsed and reported; not run. */
export interface FailoverService {
  name: string;
  active: boolean;
  vip: FloatingAddress;
  port: number;
  send?: string;
  expect?: string;
  timeoutMs: number;
  startCmd?: string;
  stopCmd?: string;
}

/** The whole configuration as the daemon reads it (both front ends produce exactly this). */
export interface LvsModel {
  serialNo: number;
  service: 'lvs' | 'fos';
  primary: RouterConfig;
  backup?: RouterConfig;
  /** lvs.cf backup_active: whether a backup router exists and runs. */
  backupActive: boolean;
  heartbeat: HeartbeatConfig;
  announce: AnnounceConfig;
  network: Forwarding;
  /** NAT mode: the real servers' gateway, floating with the VIPs. */
  natRouter?: FloatingAddress;
  monitorLinks: boolean;
  /** Interfaces watched when monitorLinks (default: the devices of VIPs and router addresses). */
  linkInterfaces: string[];
  /** Connection sync (docs/sync.md): the IPVS sync daemon, or conntrackd on the nftables backend. */
  syncDaemon: {
    enabled: boolean;
    /** Absent = the interface holding this router's private (else public) address. */
    interface?: string;
    /** --syncid, 0–255 (0 = any). */
    id: number;
    /** Multicast group; absent = 224.0.0.81 (IPVS) / 225.0.0.50 (conntrackd multicast). */
    mcastGroup?: string;
    /** UDP port; absent = 8848 (IPVS) / 3780 (conntrackd). */
    port?: number;
    /** Multicast TTL. */
    ttl: number;
    /** --sync-maxlen, bytes. */
    maxlen: number;
    /** sysctl sync_version (0 | 1). */
    version: number;
    /** sysctl sync_threshold: threshold and period (packets; period 0 = by time). */
    threshold: number;
    period: number;
    /** sysctl sync_refresh_period, seconds. */
    refreshPeriodS: number;
    /** sysctl sync_persist_mode (0 | 1). */
    persistMode: number;
    /** conntrackd protocol. */
    mode: 'ftfw' | 'notrack';
    /** conntrackd transport: unicast to the peer, or multicast. */
    transport: 'udp' | 'multicast';
    /** A returning router's wait for its resync before a voluntary takeover, ms. */
    resyncTimeoutMs: number;
    /** Path of conntrackd. */
    conntrackdPath: string;
  };
  /** ipvsadm --set tcp tcpfin udp, seconds (0 = leave the kernel's). */
  timeouts: { tcp: number; tcpfin: number; udp: number };
  /** A failed child (LB apply, nanny) makes the router hand over. */
  hardShutdown: boolean;
  hooks: { activeCmd?: string; inactiveCmd?: string; notifyCmd?: string; timeoutMs: number };
  lb: {
    backend: LbBackend;
    ipvsadmPath: string;
    /** Keep the LB table built on the standby too, so takeover only moves addresses. */
    hotStandby: boolean;
    /** On graceful stop: leave our entries in the kernel, or clear them. */
    onStop: 'keep' | 'clear';
  };
  logLevel: LogLevel;
  metrics: { listen: string };
  /** Piranha keys kept for round-trip and reporting: rsh_command, sync, heartbeat (unused by Piranha too). */
  legacy: {
    rshCommand?: string;
    sync?: number;
    heartbeat?: number;
    primaryShared?: string;
    backupShared?: string;
    reservationConflictAction?: string;
  };
  virtualServers: VirtualServer[];
  failoverServices: FailoverService[];
}

/** Where a config value came from, for `FILE:LINE:COL: message` errors. */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

/** One problem found in a config file, at its position: an error refuses the file, a warning does not. */
export interface ConfigDiagnostic extends SourcePos {
  severity: 'error' | 'warning';
  message: string;
}

/** Thrown (or collected) for a bad config; `diagnostics` holds every problem found, not just the first. */
export class ConfigError extends Error {
  constructor(readonly diagnostics: ConfigDiagnostic[]) {
    super(
      diagnostics
        .filter((d) => d.severity === 'error')
        .map((d) => `${d.file}:${d.line}:${d.col}: ${d.message}`)
        .join('\n'),
    );
    this.name = 'ConfigError';
  }
}
