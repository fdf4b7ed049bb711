/**
 * `pulsectl status --json`: the stable, documented status schema (docs/status-json.md), and its
 * human rendering (like `ipvsadm -Ln`, with each real server's state, weight and last probe).
 * Fields are only ever added, never renamed or removed, within schema version 1.
 */
import type { RouterState } from '../heartbeat/index.js';

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
  };
  transitions: TransitionRecord[];
  virtual_servers: VirtualServerStatus[];
}

const FWD: Record<string, string> = { nat: 'Masq', direct: 'Route', tunnel: 'Tunnel' };

function ago(ms: number | null): string {
  if (ms === null) return 'never';
  return ms < 10000 ? `${Math.round(ms)} ms ago` : `${(ms / 1000).toFixed(1)} s ago`;
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
