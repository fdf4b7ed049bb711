/**
 * `pulsectl status --json`: the stable, documented status schema (docs/status-json.md), and its
 * human rendering (like `ipvsadm -Ln`, with each real server's state, weight and last probe).
 * Fields are only ever added, never renamed or removed, within schema version 1.
 */
import type { RouterState } from '../heartbeat/index.js';
import type { SyncStatus } from '../ipvs/sync.js';

/** One real server in `pulsectl status --json`. */
export interface RealServerStatus {
  name: string;
  address: string;
  port: number;
  /** Weight in the LB table now (0 when quiesced or drained; configured weight otherwise). */
  weight: number;
  configured_weight: number;
  state: 'up' | 'down' | 'drained';
  forwarding: 'nat' | 'direct' | 'tunnel';
  last_probe?: { ok: boolean; detail: string; ms: number; at: string };
}

/** One virtual server in `pulsectl status --json`, with its real servers. */
export interface VirtualServerStatus {
  name: string;
  address: string;
  port: number;
  protocol: 'tcp' | 'udp';
  fwmark?: number;
  scheduler: string;
  persistent: number;
  sorry_server_in: boolean;
  real_servers: RealServerStatus[];
}

/** One role transition kept for `pulsectl status` (the last 50). */
export interface TransitionRecord {
  at: string;
  from: RouterState;
  to: RouterState;
  reason: string;
  evidence: string;
}

/** The connection sync in `pulsectl status --json` (docs/status-json.md, docs/sync.md). */
export interface SyncStatusJson {
  enabled: boolean;
  mechanism: 'ipvs' | 'conntrackd' | 'none';
  state: 'off' | 'starting' | 'running' | 'fault';
  role: 'master' | 'backup' | 'master+backup' | 'none';
  detail?: string;
  pid?: number;
  restarts: number;
  entries?: { internal?: number; external?: number; local?: number; synced?: number };
  /** Age of the last update from the peer, ms; null = none yet. */
  last_update_ms?: number | null;
  resync: { state: 'pending' | 'done' | 'timed-out' | 'not-needed'; ms?: number; entries?: number };
  last_commit?: { ok: boolean; ms: number; at: string };
  hold?: string;
}

/** ConnSync's status in the JSON document's spelling. */
export function syncStatusJson(s: SyncStatus): SyncStatusJson {
  const out: SyncStatusJson = {
    enabled: s.enabled,
    mechanism: s.mechanism,
    state: s.state,
    role: s.role,
    restarts: s.restarts,
    resync: { ...s.resync },
  };
  if (s.detail !== undefined) out.detail = s.detail;
  if (s.pid !== undefined) out.pid = s.pid;
  if (s.entries) out.entries = { ...s.entries };
  if (s.lastUpdateMs !== undefined) out.last_update_ms = s.lastUpdateMs;
  if (s.lastCommit) out.last_commit = { ...s.lastCommit };
  if (s.hold !== undefined) out.hold = s.hold;
  return out;
}

/** The whole `pulsectl status --json` document, schema 1 (docs/status-json.md). */
export interface StatusJson {
  schema: 1;
  role: RouterState;
  node: 'primary' | 'backup';
  since: string;
  config: { path: string; hash: string; loaded_at: string };
  auth: 'hmac' | 'none';
  warnings: string[];
  peer: {
    address: string;
    state?: RouterState;
    last_heard_ms: Record<string, number | null>;
    config_mismatch: boolean;
    /** The peer's connection resync is pending: it is not released to (added later: optional). */
    resync_pending?: boolean;
  };
  vips: { address: string; prefix: number; device?: string; present: boolean }[];
  lb: { backend: string; last_apply_ms?: number; apply_errors: number; foreign_entries: number };
  /** Heartbeat counters: messages sent/accepted, drops by reason, worst keepalive lateness since start. */
  heartbeat: {
    sent: number;
    received: number;
    rejected: Record<string, number>;
    keepalive_late_max_ms: number;
    /** Silences not counted against the peer because this router itself was stalled (added later: optional). */
    own_stalls_excused?: number;
    faults: Record<string, string>;
    /** Why this router holds its voluntary claims (a connection resync pending); added later: optional. */
    hold?: string;
  };
  /** Connection sync (added later: optional). */
  sync?: SyncStatusJson;
  transitions: TransitionRecord[];
  virtual_servers: VirtualServerStatus[];
}

const FWD: Record<string, string> = { nat: 'Masq', direct: 'Route', tunnel: 'Tunnel' };

function ago(ms: number | null): string {
  if (ms === null) return 'never';
  return ms < 10000 ? `${Math.round(ms)} ms ago` : `${(ms / 1000).toFixed(1)} s ago`;
}

/** The `Sync:` line of `pulsectl status`. */
export function formatSync(y: SyncStatusJson, peerResyncing = false): string {
  if (!y.enabled) return 'Sync: off';
  if (y.mechanism === 'none')
    return `Sync: ${y.state === 'fault' ? 'FAULT' : 'off'}${y.detail ? ` (${y.detail})` : ''}`;
  const what = y.mechanism === 'ipvs' ? 'IPVS sync daemon' : `conntrackd${y.pid ? ` (pid ${y.pid})` : ''}`;
  const parts = [`${what} ${y.state === 'fault' ? 'FAULT' : y.state} as ${y.role}`];
  if (y.detail) parts.push(y.detail);
  const e = y.entries;
  if (e) {
    const n: string[] = [];
    if (e.internal !== undefined) n.push(`${e.internal} ours`);
    if (e.external !== undefined) n.push(`${e.external} from the peer`);
    if (e.local !== undefined) n.push(`${e.local} local`);
    if (e.synced !== undefined) n.push(`${e.synced} synced`);
    if (n.length) parts.push(`entries ${n.join(', ')}`);
  }
  if (y.last_update_ms !== undefined) parts.push(`last update ${ago(y.last_update_ms)}`);
  if (y.resync.state !== 'not-needed')
    parts.push(`resync ${y.resync.state}${y.resync.ms !== undefined ? ` in ${y.resync.ms} ms` : ''}`);
  if (y.last_commit) parts.push(`last commit ${y.last_commit.ok ? 'ok' : 'FAILED'} ${y.last_commit.ms} ms`);
  if (y.restarts) parts.push(`${y.restarts} restarts`);
  if (y.hold) parts.push(`HOLDING voluntary takeovers: ${y.hold}`);
  if (peerResyncing) parts.push('peer resyncing (not released to)');
  return `Sync: ${parts.join('; ')}`;
}

/** Renders status for a terminal. */
export function formatStatus(s: StatusJson): string {
  const lines: string[] = [];
  lines.push(`Role: ${s.role} (${s.node}) since ${s.since}`);
  lines.push(`Auth: ${s.auth === 'hmac' ? 'HMAC-SHA256' : 'NONE — heartbeats are unauthenticated'}`);
  for (const w of s.warnings) lines.push(`WARNING: ${w}`);
  const heard = Object.entries(s.peer.last_heard_ms)
    .map(([p, ms]) => `${p} ${ago(ms)}`)
    .join(', ');
  lines.push(
    `Peer: ${s.peer.address} ${s.peer.state ?? 'unknown'}; heard ${heard || 'never'}${s.peer.config_mismatch ? '; LB CONFIG DIFFERS FROM OURS' : ''}`,
  );
  lines.push(
    `VIPs: ${s.vips.map((v) => `${v.address}/${v.prefix}${v.device ? ` ${v.device}` : ''}${v.present ? '' : ' (absent)'}`).join(', ') || 'none'}`,
  );
  if (s.sync) lines.push(formatSync(s.sync, s.peer.resync_pending === true));
  lines.push('');
  lines.push(`IP Virtual Server table (backend ${s.lb.backend}, apply errors ${s.lb.apply_errors})`);
  lines.push('Prot LocalAddress:Port Scheduler Flags');
  lines.push('  -> RemoteAddress:Port           Forward Weight State    Last probe');
  for (const v of s.virtual_servers) {
    const svc =
      v.fwmark !== undefined ? `FWM  ${v.fwmark}` : `${v.protocol.toUpperCase()}  ${v.address}:${v.port}`;
    lines.push(
      `${svc} ${v.scheduler}${v.persistent ? ` persistent ${v.persistent}` : ''}${v.sorry_server_in ? ' [sorry server in]' : ''}`,
    );
    for (const r of v.real_servers) {
      const probe = r.last_probe
        ? `${r.last_probe.ok ? 'ok' : 'FAIL'} ${r.last_probe.detail} (${r.last_probe.ms} ms)`
        : '-';
      lines.push(
        `  -> ${`${r.address}:${r.port}`.padEnd(28)} ${(FWD[r.forwarding] ?? r.forwarding).padEnd(7)} ${String(r.weight).padEnd(6)} ${r.state.padEnd(8)} ${probe}`,
      );
    }
  }
  if (s.transitions.length) {
    lines.push('');
    lines.push('Recent transitions:');
    for (const t of s.transitions.slice(-10))
      lines.push(`  ${t.at} ${t.from} -> ${t.to}: ${t.evidence || t.reason}`);
  }
  return lines.join('\n');
}
