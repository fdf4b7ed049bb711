/**
 * What the heartbeat needs from the configuration, computed once in the daemon: who this router is, the
 * addresses and paths, timers, key file paths, priorities, preempt, multicast, Piranha compatibility, the
 * link interfaces, the LB config hash and the real-time priority. The heartbeat process receives this one
 * small object — never the LvsModel with its virtual and real servers — at start and at each reload.
 * Pure: this host's addresses are passed in.
 */
import type { LvsModel, NodeName, RouterConfig } from '../config/model.js';
import { canonicalAddress, type PathName } from './codec.js';
import type { FsmConfig } from './fsm.js';

/** One router as the heartbeat sees it. */
export interface RouterEndpoint {
  /** Public router address (lvs.cf `primary` / `backup`), as configured. */
  address: string;
  /** Private router address (`primary_private` / `backup_private`), when configured. */
  privateAddress?: string;
  priority: number;
}

/** Everything the heartbeat engine runs from (plain data: it crosses the process boundary as it is). */
export interface HeartbeatSettings {
  /** Which router of the pair this is. */
  node: NodeName;
  self: RouterEndpoint;
  /** The peer; absent when no backup router runs (backup_active = 0): this router is active at once. */
  peer?: RouterEndpoint;
  /** UDP port of every path. */
  port: number;
  /** Paths in use: public with a peer, private when both routers have a private address, then multicast. */
  paths: PathName[];
  /** The multicast path (only with a peer). */
  multicast?: { group: string; interface?: string; ttl: number };
  keepaliveMs: number;
  deadtimeMs: number;
  preempt: boolean;
  preemptDelayMs: number;
  handoverTimeoutMs: number;
  /** `hmac` exactly when a key file is set and auth is not `none`. */
  auth: 'hmac' | 'none';
  /** The root-only key file (read by the engine, so a reload re-reads it); only with `hmac`. */
  keyFile?: string;
  /** The previous key, still accepted during a rotation; only with `hmac`. */
  previousKeyFile?: string;
  piranhaCompat: boolean;
  /** SCHED_RR priority of the heartbeat (0 = normal scheduling). */
  rtPriority: number;
  /** Watch the link interfaces (monitor_links). */
  monitorLinks: boolean;
  /** Interfaces the link monitor watches: the configured ones, else every VIP's and the NAT router's device. */
  linkInterfaces: string[];
  /** Short hash of the LB configuration, sent to the peer. */
  configHash: string;
}

/**
 * Like Piranha: the router whose local addresses include `primary` (or `primary_private`) is the primary;
 * `backup`/`backup_private` the backup. `override` (`--node`) wins. Throws, saying why, when neither matches.
 */
export function detectNode(model: LvsModel, localAddresses: string[], override?: NodeName): NodeName {
  if (override) return override;
  const local = new Set<string>();
  for (const a of localAddresses) {
    try {
      local.add(canonicalAddress(a));
    } catch {
      // not an address (e.g. a zone-only string): ignore
    }
  }
  const has = (r?: RouterConfig) =>
    r !== undefined &&
    (local.has(canonicalAddress(r.address)) ||
      (r.privateAddress !== undefined && local.has(canonicalAddress(r.privateAddress))));
  if (has(model.primary)) return 'primary';
  if (has(model.backup)) return 'backup';
  const want = [
    model.primary.address,
    model.primary.privateAddress,
    model.backup?.address,
    model.backup?.privateAddress,
  ]
    .filter(Boolean)
    .join(', ');
  throw new Error(
    `heartbeat: none of this host's addresses (${[...local].join(', ') || 'none'}) is a router address (${want}); ` +
      'set --node primary|backup',
  );
}

const endpoint = (r: RouterConfig): RouterEndpoint => ({
  address: r.address,
  ...(r.privateAddress ? { privateAddress: r.privateAddress } : {}),
  priority: r.priority,
});

/** The routers as seen from `node`: self and peer (no peer when no backup runs). Throws when `node` has no router. */
function routersFor(model: LvsModel, node: NodeName): { self: RouterEndpoint; peer?: RouterEndpoint } {
  const peerActive = model.backupActive && model.backup !== undefined;
  if (node === 'primary')
    return peerActive
      ? { self: endpoint(model.primary), peer: endpoint(model.backup!) }
      : { self: endpoint(model.primary) };
  if (!model.backup) throw new Error('heartbeat: --node backup but the config has no backup router');
  return { self: endpoint(model.backup), peer: endpoint(model.primary) };
}

/** The interfaces to watch: the configured list, else every VIP's device and the NAT router's. */
function linkInterfaces(model: LvsModel): string[] {
  if (model.linkInterfaces.length) return [...model.linkInterfaces];
  const s = new Set<string>();
  for (const v of model.virtualServers) if (v.vip.device) s.add(v.vip.device);
  if (model.natRouter?.device) s.add(model.natRouter.device);
  return [...s];
}

/**
 * The heartbeat settings of router `node` under `model`, with the LB config hash `configHash`. The one place
 * that reads the model for the heartbeat. Throws when `node` has no router in the model.
 */
export function heartbeatSettings(model: LvsModel, node: NodeName, configHash: string): HeartbeatSettings {
  const { self, peer } = routersFor(model, node);
  const hb = model.heartbeat;
  const paths: PathName[] = [];
  if (peer) {
    paths.push('public');
    if (self.privateAddress && peer.privateAddress) paths.push('private');
    if (hb.multicast) paths.push('multicast');
  }
  const hmac = hb.auth !== 'none' && hb.keyFile !== undefined && hb.keyFile !== '';
  return {
    node,
    self,
    ...(peer ? { peer } : {}),
    port: hb.port,
    paths,
    ...(peer && hb.multicast
      ? {
          multicast: {
            group: hb.multicast.group,
            ...(hb.multicast.interface ? { interface: hb.multicast.interface } : {}),
            ttl: hb.multicast.ttl,
          },
        }
      : {}),
    keepaliveMs: hb.keepaliveMs,
    deadtimeMs: hb.deadtimeMs,
    preempt: hb.preempt,
    preemptDelayMs: hb.preemptDelayMs,
    handoverTimeoutMs: hb.handoverTimeoutMs,
    auth: hmac ? 'hmac' : 'none',
    ...(hmac ? { keyFile: hb.keyFile } : {}),
    ...(hmac && hb.previousKeyFile ? { previousKeyFile: hb.previousKeyFile } : {}),
    piranhaCompat: hb.piranhaCompat,
    rtPriority: hb.rtPriority,
    monitorLinks: model.monitorLinks,
    linkInterfaces: linkInterfaces(model),
    configHash,
  };
}

/** The state machine's config from the settings (addresses canonical, private peer only on a private path). */
export function fsmConfigFrom(s: HeartbeatSettings): FsmConfig {
  const cfg: FsmConfig = {
    node: s.node,
    self: { address: canonicalAddress(s.self.address), priority: s.self.priority },
    paths: [...s.paths],
    keepaliveMs: s.keepaliveMs,
    deadtimeMs: s.deadtimeMs,
    preempt: s.preempt,
    preemptDelayMs: s.preemptDelayMs,
    handoverTimeoutMs: s.handoverTimeoutMs,
    configHash: s.configHash,
  };
  if (s.peer) {
    cfg.peer = { address: canonicalAddress(s.peer.address), priority: s.peer.priority };
    if (s.paths.includes('private') && s.peer.privateAddress)
      cfg.peer.privateAddress = canonicalAddress(s.peer.privateAddress);
  }
  return cfg;
}
