/**
 * Prometheus metrics (prom-client), read from the components' status at scrape time so the hot paths
 * only bump plain counters. Served on loopback by default (metrics_listen, default 127.0.0.1:9539; an
 * empty value turns it off), within the connection and time limits of {@link METRICS_LIMITS}.
 * Every metric is documented in docs/metrics.md.
 */
import { createServer, type Server } from 'node:http';
import client from 'prom-client';
import { ROUTER_STATES } from '../heartbeat/state';
import type { SyncStatus } from '../ipvs/sync';

/** Where the metrics come from at scrape time (the daemon reads its parts' status). */
export interface MetricsSource {
  role(): string;
  authenticated(): boolean;
  transitions(): Record<string, number>;
  heartbeat(): {
    sent: number;
    received: number;
    rejected: Record<string, number>;
    peerLastSeenS: Record<string, number>;
  };
  realServers(): { vs: string; rs: string; address: string; up: boolean; weight: number }[];
  probeDurations(): number[];
  lbApply(): { seconds: number[]; errors: number };
  /** Connection sync (absent before the daemon started it). */
  sync?(): SyncStatus | undefined;
}

/** Every value of the `role` label of `lvs_pulse_role`. */
export const ROLES = ROUTER_STATES;

/** Builds a registry whose metrics are collected from `src` at scrape time. */
export function buildRegistry(src: MetricsSource): client.Registry {
  const reg = new client.Registry();
  new client.Gauge({
    name: 'lvs_pulse_role',
    help: 'Current role of this router (1 for the current role, 0 for the others).',
    labelNames: ['role'],
    registers: [reg],
    collect() {
      const r = src.role();
      for (const role of ROLES) this.set({ role }, role === r ? 1 : 0);
    },
  });
  new client.Gauge({
    name: 'lvs_pulse_heartbeat_authenticated',
    help: 'Whether heartbeats are authenticated with HMAC (0 = running unauthenticated).',
    registers: [reg],
    collect() {
      this.set(src.authenticated() ? 1 : 0);
    },
  });
  new client.Gauge({
    name: 'lvs_pulse_transitions_total',
    help: 'Role transitions by reason since start.',
    labelNames: ['reason'],
    registers: [reg],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(src.transitions())) this.set({ reason }, n);
    },
  });
  const hb = (name: string, help: string, pick: (h: ReturnType<MetricsSource['heartbeat']>) => number) =>
    new client.Gauge({
      name,
      help,
      registers: [reg],
      collect() {
        this.set(pick(src.heartbeat()));
      },
    });
  hb('lvs_pulse_heartbeats_sent_total', 'Heartbeat messages sent.', (h) => h.sent);
  hb('lvs_pulse_heartbeats_received_total', 'Heartbeat messages accepted.', (h) => h.received);
  new client.Gauge({
    name: 'lvs_pulse_heartbeats_rejected_total',
    help: 'Heartbeat messages dropped, by reason (wrong-length, unknown-version, malformed, bad-mac, replay, not-peer, wrong-path, self, unconfirmed-boot).',
    labelNames: ['reason'],
    registers: [reg],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(src.heartbeat().rejected)) this.set({ reason }, n);
    },
  });
  new client.Gauge({
    name: 'lvs_pulse_peer_last_seen_seconds',
    help: 'Seconds since the peer was last heard, per heartbeat path.',
    labelNames: ['path'],
    registers: [reg],
    collect() {
      this.reset();
      for (const [path, s] of Object.entries(src.heartbeat().peerLastSeenS)) this.set({ path }, s);
    },
  });
  new client.Gauge({
    name: 'lvs_pulse_real_server_up',
    help: 'Whether a real server passes its probe (1) or not (0).',
    labelNames: ['virtual', 'server', 'address'],
    registers: [reg],
    collect() {
      this.reset();
      for (const r of src.realServers())
        this.set({ virtual: r.vs, server: r.rs, address: r.address }, r.up ? 1 : 0);
    },
  });
  new client.Gauge({
    name: 'lvs_pulse_real_server_weight',
    help: 'Weight currently applied to a real server in the LB table.',
    labelNames: ['virtual', 'server', 'address'],
    registers: [reg],
    collect() {
      this.reset();
      for (const r of src.realServers())
        this.set({ virtual: r.vs, server: r.rs, address: r.address }, r.weight);
    },
  });
  const probe = new client.Histogram({
    name: 'lvs_pulse_probe_duration_seconds',
    help: 'Duration of real-server probes.',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
    registers: [reg],
  });
  const apply = new client.Histogram({
    name: 'lvs_pulse_lb_apply_duration_seconds',
    help: 'Duration of LB table applies (ipvsadm -R or nft -f transaction, with verification).',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [reg],
  });
  new client.Gauge({
    name: 'lvs_pulse_lb_apply_errors_total',
    help: 'LB table applies that failed or did not verify.',
    registers: [reg],
    collect() {
      // Drain new samples into the histograms at scrape time.
      for (const ms of src.probeDurations()) probe.observe(ms / 1000);
      const a = src.lbApply();
      for (const s of a.seconds) apply.observe(s);
      this.set(a.errors);
    },
  });
  if (src.sync) addSyncMetrics(reg, () => src.sync?.());
  return reg;
}

/** The connection sync's metrics (docs/metrics.md): read from ConnSync's status at scrape time. */
function addSyncMetrics(reg: client.Registry, sync: () => SyncStatus | undefined): void {
  const gauge = (
    name: string,
    help: string,
    labelNames: string[],
    fill: (g: client.Gauge, s: SyncStatus) => void,
  ) =>
    new client.Gauge({
      name,
      help,
      labelNames,
      registers: [reg],
      collect() {
        this.reset();
        const s = sync();
        if (s?.enabled) fill(this, s);
      },
    });
  gauge(
    'lvs_pulse_sync_up',
    'Connection sync running (1) or not (0), by mechanism (ipvs, conntrackd); absent while sync is off.',
    ['mechanism'],
    (g, s) => g.set({ mechanism: s.mechanism }, s.state === 'running' ? 1 : 0),
  );
  gauge(
    'lvs_pulse_sync_fault',
    'Connection sync cannot run (1): see pulsectl status; not a failover fault.',
    [],
    (g, s) => g.set(s.state === 'fault' ? 1 : 0),
  );
  gauge(
    'lvs_pulse_sync_restarts_total',
    'conntrackd restarts (IPVS: sync daemon repairs) since start.',
    [],
    (g, s) => g.set(s.restarts),
  );
  gauge(
    'lvs_pulse_sync_entries',
    'Synced entries by cache: internal (ours) and external (the peer’s) for conntrackd; local and synced for IPVS.',
    ['cache'],
    (g, s) => {
      for (const [cache, n] of Object.entries(s.entries ?? {})) if (n !== undefined) g.set({ cache }, n);
    },
  );
  gauge(
    'lvs_pulse_sync_last_update_seconds',
    'Seconds since the last update from the peer arrived (absent before the first).',
    [],
    (g, s) => {
      if (typeof s.lastUpdateMs === 'number') g.set(s.lastUpdateMs / 1000);
    },
  );
  gauge(
    'lvs_pulse_sync_resync_pending',
    'A returning router’s connection resync is pending (1): voluntary takeovers wait.',
    [],
    (g, s) => g.set(s.hold !== undefined ? 1 : 0),
  );
  gauge(
    'lvs_pulse_sync_last_commit_seconds',
    'Duration of the last commit of the peer’s flows to the kernel (conntrackd, at a takeover).',
    [],
    (g, s) => {
      if (s.lastCommit) g.set(s.lastCommit.ms / 1000);
    },
  );
}

/** Parses `host:port` / `[v6]:port`; refuses anything without an explicit port. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(listen) ?? /^([^:]+):(\d+)$/.exec(listen);
  if (!m) throw new Error(`metrics_listen must be HOST:PORT, got ${JSON.stringify(listen)}`);
  const port = Number(m[2]);
  if (port > 65535) throw new Error(`metrics_listen port out of range: ${port}`);
  return { host: m[1]!, port };
}

/**
 * Limits of the metrics endpoint (issue 17): it runs in the root daemon, whose descriptors the probes
 * need, so idle or slow clients must not be able to hold them. A Prometheus server scrapes with one
 * connection; a connection beyond the limit is closed at once, and one that sends no complete request in
 * time, or idles between requests, is closed by the server. The figures are in docs/metrics.md.
 */
export const METRICS_LIMITS = {
  /** Connections open at once; further ones are closed as soon as they are accepted. */
  maxConnections: 32,
  /** Time to receive a request's headers, ms. */
  headersTimeoutMs: 5000,
  /** Time to receive a whole request, ms. */
  requestTimeoutMs: 5000,
  /** Idle time allowed between two requests of a keep-alive connection, ms. */
  keepAliveTimeoutMs: 5000,
  /** Any connection without traffic for this long is closed, ms (covers one that never sends a byte). */
  idleTimeoutMs: 10000,
  /** How often the server checks the header and request timeouts, ms. */
  checkIntervalMs: 1000,
} as const;

/** Serves /metrics within {@link METRICS_LIMITS}. */
export async function serveMetrics(
  reg: client.Registry,
  listen: string,
  limits: Partial<typeof METRICS_LIMITS> = {},
): Promise<Server> {
  const l = { ...METRICS_LIMITS, ...limits };
  const { host, port } = parseListen(listen);
  const server = createServer(
    {
      headersTimeout: l.headersTimeoutMs,
      requestTimeout: l.requestTimeoutMs,
      keepAliveTimeout: l.keepAliveTimeoutMs,
      connectionsCheckingInterval: l.checkIntervalMs,
    },
    (req, res) => {
      if (req.method !== 'GET' || (req.url !== '/metrics' && req.url !== '/')) {
        res.writeHead(404).end();
        return;
      }
      reg.metrics().then(
        (text) => res.writeHead(200, { 'content-type': reg.contentType }).end(text),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    },
  );
  server.maxConnections = l.maxConnections;
  server.maxHeadersCount = 32;
  server.maxRequestsPerSocket = 100;
  // An idle socket (no byte sent at all, or a stalled response) is destroyed after idleTimeoutMs.
  server.setTimeout(l.idleTimeoutMs, (sock) => sock.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Accept errors (EMFILE under pressure) must not take the daemon down.
  server.on('error', () => {});
  server.on('clientError', (_err, sock) => sock.destroy());
  return server;
}
