/**
 * Shipped defaults: one named constant each, used by the key table (keys.ts) and so by every front end
 * (lvs.cf, YAML, JSON). Where a default differs from Piranha's, docs/config-defaults.md says why.
 */

/** Heartbeat UDP port: Piranha's 539. */
export const HEARTBEAT_PORT = 539;
/**
 * Interval between heartbeats, ms. Piranha: 2 s (its GUI wrote 6 s). Provisional: the heartbeat work may
 * tune it; with DEADTIME_MS it aims at ≤ 150 ms client-visible failover after a crash.
 */
export const KEEPALIVE_MS = 20;
/**
 * Silence on every path for this long = peer dead, ms. Piranha: 5 s (GUI 18 s). 120 ms: the 10-minute soak
 * (10,000 probes, 4 busy loops, GC pressure) saw one 103 ms gap in 59,568 heartbeats and flapped at 100 ms;
 * 120 ms keeps a 17 ms margin over it and a crash failover still under 150 ms (~100 ms measured at 100).
 */
export const DEADTIME_MS = 120;
/**
 * The heartbeat runs in a child process of its own (own event loop and heap) under SCHED_RR priority 10 by
 * default: measured on the 2-core lab, probes, LB applies and GC in the daemon otherwise delayed keepalives
 * into false failovers under load (docs/config-defaults.md). Piranha: a separate process, normal scheduling.
 */
export const HEARTBEAT_ISOLATION: 'process' | 'off' = 'process';
/** SCHED_RR priority of the heartbeat process (keepalived's vrrp_rt_priority); 0 = normal scheduling. */
export const RT_PRIORITY = 10;
/** Graceful handover: wait at most this long for the peer to confirm it is active, ms. */
export const HANDOVER_TIMEOUT_MS = 1000;
/** Multicast TTL for the optional multicast heartbeat path (link-local by default). */
export const MULTICAST_TTL = 1;
/** Election priorities (higher wins). */
export const PRIMARY_PRIORITY = 200;
export const BACKUP_PRIORITY = 100;

/** Gratuitous ARP / NA: first burst of ARP_COUNT frames ARP_INTERVAL_MS apart, the first immediately. */
export const ARP_COUNT = 3;
export const ARP_INTERVAL_MS = 100;
/** A second burst ARP_REPEAT_DELAY_MS after the first, of ARP_REPEAT_COUNT frames. */
export const ARP_REPEAT_DELAY_MS = 1000;
export const ARP_REPEAT_COUNT = 2;
/** Periodic re-announce while active (0 = off, as Piranha). */
export const ARP_REFRESH_MS = 0;
export const ARP_FORM = 'both' as const;

/** Real-server probe: timeout per probe, ms (Piranha `timeout` 10 s; GUI 6 s). */
export const PROBE_TIMEOUT_MS = 500;
/** Probe interval, ms (Piranha: equal to timeout). Unset = equal to the timeout, as Piranha. */
export const PROBE_INTERVAL_MS = 500;
/** Failures in a row to take a real server out (Piranha: 1). */
export const PROBE_FALL = 1;
/** Successes in a row to put it back (Piranha: reentry/timeout = 180/10 = 18). */
export const PROBE_RISE = 2;
/** Random spread of probe start, ms. */
export const PROBE_JITTER_MS = 0;
/** Piranha nanny's default probe for port 80 without send/expect. */
export const HTTP_DEFAULT_SEND = 'GET / HTTP/1.0\r\n\r\n';
export const HTTP_DEFAULT_EXPECT = 'HTTP';

/** Failover-service (fos) probe timeout, ms. */
export const FOS_TIMEOUT_MS = PROBE_TIMEOUT_MS;

/** Hook programs (active_cmd, inactive_cmd, notify_cmd) are killed after this long, ms. */
export const HOOK_TIMEOUT_MS = 5000;

/** Piranha's values kept as defaults. */
export const VIRTUAL_PORT = 80;
export const SCHEDULER = 'wlc' as const;
export const NETWORK = 'nat' as const;
export const IPVSADM_PATH = '/sbin/ipvsadm';
export const REAL_SERVER_WEIGHT = 1;
/** The metrics endpoint: loopback, the port docs/metrics.md names (an empty value turns it off). */
export const METRICS_LISTEN = '127.0.0.1:9539';

/**
 * Connection sync (docs/sync.md has the figures). The IPVS sync daemon's multicast TTL: link-local, as the
 * kernel's own default.
 */
export const SYNCD_TTL = 1;
/**
 * Largest IPVS sync message, bytes: room for two IPv4 connections (8-byte header + 2 × 36). The kernel sends
 * a message only when the next connection does not fit, or 2 s after its first one (IPVS_SYNC_FLUSH_TIME);
 * its own default (MTU − 28 = 1472: 40 connections) holds a quiet director's new connection up to 2–3 s.
 */
export const SYNCD_MAXLEN = 80;
/** IPVS sync protocol version 1 (IPv6, fwmark, timeouts): the kernel's default. */
export const SYNCD_VERSION = 1;
/** sync_threshold: the kernel's 3 (it counts only while SYNC_PERIOD > 0). */
export const SYNC_THRESHOLD = 3;
/**
 * sync_period 0: sync by time (SYNC_REFRESH_PERIOD_S) instead of every 50th packet (the kernel's): a
 * connection is then synced when it becomes ESTABLISHED, at every state change and once per refresh
 * period while it carries packets, whatever its packet rate.
 */
export const SYNC_PERIOD = 0;
/** sync_refresh_period, seconds (kernel: 0 = off): a live connection is re-sent every second. */
export const SYNC_REFRESH_PERIOD_S = 1;
/** sync_persist_mode 0: every connection is synced (the kernel's default). */
export const SYNC_PERSIST_MODE = 0;
/** conntrackd: FTFW (acknowledged, resent on loss), the conntrack-tools recommendation. */
export const SYNCD_MODE = 'ftfw' as const;
/** conntrackd: unicast UDP to the peer over the private path (the heartbeat's path). */
export const SYNCD_TRANSPORT = 'udp' as const;
/** A returning router waits at most this long for its connection resync before a voluntary takeover, ms. */
export const SYNC_RESYNC_TIMEOUT_MS = 5000;
/** Debian's conntrackd. */
export const CONNTRACKD_PATH = '/usr/sbin/conntrackd';
