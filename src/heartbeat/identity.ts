/**
 * Who am I, and what the heartbeat needs from the model. Pure: local addresses are passed in.
 */
import type { LvsModel, NodeName, RouterConfig } from '../config/model.js';
import { canonicalAddress, type PathName } from './codec.js';
import type { FsmConfig } from './fsm.js';

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

/** The routers as seen from `node`: self and peer (undefined when no backup runs). */
export function routersFor(model: LvsModel, node: NodeName): { self: RouterConfig; peer?: RouterConfig } {
  const peerActive = model.backupActive && model.backup !== undefined;
  if (node === 'primary')
    return peerActive ? { self: model.primary, peer: model.backup! } : { self: model.primary };
  if (!model.backup) throw new Error('heartbeat: --node backup but the config has no backup router');
  return { self: model.backup, peer: model.primary };
}

/** Unicast paths in use: public always, private when both routers have a private address. */
export function unicastPaths(self: RouterConfig, peer?: RouterConfig): PathName[] {
  if (!peer) return [];
  const p: PathName[] = ['public'];
  if (self.privateAddress && peer.privateAddress) p.push('private');
  return p;
}

/** Builds the state machine's config from the model. */
export function fsmConfigFrom(model: LvsModel, node: NodeName, configHash: string): FsmConfig {
  const { self, peer } = routersFor(model, node);
  const paths = unicastPaths(self, peer);
  if (peer && model.heartbeat.multicast) paths.push('multicast');
  const hb = model.heartbeat;
  const cfg: FsmConfig = {
    node,
    self: { address: canonicalAddress(self.address), priority: self.priority },
    paths,
    keepaliveMs: hb.keepaliveMs,
    deadtimeMs: hb.deadtimeMs,
    preempt: hb.preempt,
    preemptDelayMs: hb.preemptDelayMs,
    handoverTimeoutMs: hb.handoverTimeoutMs,
    configHash,
  };
  if (peer) {
    cfg.peer = { address: canonicalAddress(peer.address), priority: peer.priority };
    if (peer.privateAddress && self.privateAddress)
      cfg.peer.privateAddress = canonicalAddress(peer.privateAddress);
  }
  return cfg;
}
