/**
 * The desired load-balancing table (pure): from the config model plus the nannies' weights, the virtual
 * services and real servers that should be in the kernel, in the words of ipvsadm.
 *
 * Keys are written exactly as `ipvsadm -Sn` prints them (`-t 198.18.0.10:80`, `-u [2001:db8::1]:53`,
 * `-f 5`, `-f 5 -6`; real servers `198.18.1.21:80`), so a table read back from the kernel compares directly.
 */
import type { Forwarding, LvsModel, VirtualServer } from '../config/model';
import { addressFamily, canonicalAddress, hostPort } from '../lib/addr';

/** A real server (IPVS "destination") of one virtual service. */
export interface LbReal {
  /** `addr:port` as ipvsadm prints it; unique within its service. */
  key: string;
  address: string;
  port: number;
  forwarding: Forwarding;
  /** 0–65535; 0 = quiesced (kept, no new connections). */
  weight: number;
  /** Real server name from the model (`sorry` entries: the virtual's sorry server); absent when read from the kernel. */
  name?: string;
  /** True for the virtual server's sorry server. */
  sorry?: boolean;
  /** Options read from the kernel that we do not manage (`-x 10 -y 5`), kept for reporting. */
  extra?: string[];
  /** Connection counts, when read with `ipvsadm -Ln`. */
  activeConns?: number;
  inactiveConns?: number;
}

/** A virtual service (IPVS "service"). */
export interface LbService {
  /** `-t addr:port` | `-u addr:port` | `-f mark` | `-f mark -6`. */
  key: string;
  kind: 'tcp' | 'udp' | 'fwmark';
  family: 4 | 6;
  address?: string;
  port?: number;
  fwmark?: number;
  scheduler: string;
  /** Persistence timeout in seconds; 0 = off. */
  persistentS: number;
  /** Persistence granularity: dotted mask (IPv4) or prefix length (IPv6); absent = host (/32, /128). */
  pmask?: string;
  reals: LbReal[];
  /** The virtual server's name; absent when read from the kernel. */
  vsName?: string;
  /** Options read from the kernel that we do not manage (`-o`, `-b sh-port`, `--pe sip`). */
  extra?: string[];
}

/** `ipvsadm --set tcp tcpfin udp`, seconds; 0 = leave the kernel's value. */
export interface LbTimeouts {
  tcp: number;
  tcpfin: number;
  udp: number;
}

/** A whole table: what we want in the kernel, or what it holds. */
export interface LbTableState {
  services: LbService[];
  timeouts: LbTimeouts;
}

/** Nanny weights keyed by {@link weightKey}: a number (0 = quiesced) or null (removed from the table). */
export type WeightMap = ReadonlyMap<string, number | null>;

/** The key of a real server in a {@link WeightMap}: `${vsName}/${rsName}`. */
export function weightKey(vsName: string, rsName: string): string {
  return `${vsName}/${rsName}`;
}

/** Name given to the sorry server entry of a virtual server. */
export const SORRY_NAME = '~sorry';

/** The service key of a virtual server as ipvsadm prints it. */
export function serviceKey(vs: Pick<VirtualServer, 'protocol' | 'port' | 'fwmark' | 'vip'>): string {
  if (vs.fwmark !== undefined && vs.fwmark > 0) {
    return addressFamily(vs.vip.address) === 6 ? `-f ${vs.fwmark} -6` : `-f ${vs.fwmark}`;
  }
  return `${vs.protocol === 'udp' ? '-u' : '-t'} ${hostPort(vs.vip.address, vs.port)}`;
}

/** Clamp a weight to ipvsadm's 0–65535 (integers). */
export function clampWeight(w: number): number {
  if (!Number.isFinite(w) || w < 0) return 0;
  return Math.min(65535, Math.round(w));
}

/** Normalise a persistence mask: host masks (255.255.255.255, 128, /32) mean "absent", as ipvsadm -S omits them. */
export function normalisePmask(pmask: string | undefined, family: 4 | 6): string | undefined {
  if (pmask === undefined || pmask === '') return undefined;
  const p = pmask.replace(/^\//, '');
  if (family === 4) {
    if (p === '255.255.255.255' || p === '32') return undefined;
    if (/^\d{1,2}$/.test(p)) {
      const bits = Number(p);
      const n = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
    }
    return p;
  }
  return p === '128' ? undefined : p;
}

/**
 * The port a real server gets in the kernel: ipvsadm sets it to the service port for direct routing and
 * tunnelling (only NAT rewrites ports), so the desired table does too and compares equal when read back.
 */
export function realPort(
  vs: Pick<VirtualServer, 'port' | 'fwmark'>,
  forwarding: Forwarding,
  port: number,
): number {
  if (forwarding === 'nat') return port || (vs.fwmark ? 0 : vs.port);
  return vs.fwmark ? 0 : vs.port;
}

/**
 * The sorry-server rule, the one place it is decided: a virtual's sorry server is in exactly while none of
 * its real servers in the table can take new connections, i.e. none has a weight above 0 — all down (not
 * in the table), still unprobed (not in the table either), quiesced, drained or fed back to weight 0. The
 * nanny only reports real servers' weights; this rule turns them into the sorry server's presence.
 */
export function sorryServerIn(reals: readonly Pick<LbReal, 'weight' | 'sorry'>[]): boolean {
  return !reals.some((r) => !r.sorry && r.weight > 0);
}

/** A sorry server that went in or out between two desired tables. */
export interface SorryChange {
  vsName: string;
  /** true: it went in (no real server can take new connections); false: it went out. */
  in: boolean;
  /** The sorry server's `addr:port`. */
  server: string;
}

/**
 * The sorry servers that went in or out from `before` to `after` (desired tables), by virtual server name;
 * a virtual that appears with its sorry server in counts as in, one that goes away counts for nothing.
 */
export function sorryChanges(before: LbTableState, after: LbTableState): SorryChange[] {
  const was = new Map<string, string>();
  for (const s of before.services) {
    const r = s.vsName !== undefined ? s.reals.find((x) => x.sorry) : undefined;
    if (r) was.set(s.vsName as string, r.key);
  }
  const out: SorryChange[] = [];
  const seen = new Set<string>();
  for (const s of after.services) {
    if (s.vsName === undefined) continue;
    seen.add(s.vsName);
    const r = s.reals.find((x) => x.sorry);
    const prior = was.get(s.vsName);
    if (r && prior === undefined) out.push({ vsName: s.vsName, in: true, server: r.key });
    else if (!r && prior !== undefined) out.push({ vsName: s.vsName, in: false, server: prior });
  }
  return out;
}

/** Result of {@link desiredTable}: the table and anything worth a warning (duplicates, bad addresses). */
export interface DesiredResult {
  table: LbTableState;
  warnings: string[];
}

/**
 * Build the desired table.
 *
 * - Only active virtual servers; only active real servers whose weight in `weights` is a number
 *   (a missing key or null = not in the table: the nanny has not put it in, or took it out).
 * - The sorry server (weight 1, the global forwarding) is in only while no real server of the virtual has
 *   a weight above 0 ({@link sorryServerIn}: a fully quiesced or drained farm falls back to it too).
 * - Two virtual servers with the same service key: the first wins, the second is warned about.
 *
 * @example desiredTable(model, new Map([['www/rs1', 3]])).table.services[0].reals[0].weight === 3
 */
export function desiredTable(model: LvsModel, weights: WeightMap): DesiredResult {
  const warnings: string[] = [];
  const services: LbService[] = [];
  const seen = new Map<string, string>();
  for (const vs of model.virtualServers) {
    if (!vs.active) continue;
    const family = addressFamily(vs.vip.address);
    if (family === undefined) {
      warnings.push(`virtual ${vs.name}: address ${vs.vip.address} is not an IP address; skipped`);
      continue;
    }
    const key = serviceKey(vs);
    const prior = seen.get(key);
    if (prior !== undefined) {
      warnings.push(`virtual ${vs.name}: service ${key} already defined by virtual ${prior}; skipped`);
      continue;
    }
    seen.set(key, vs.name);
    const reals: LbReal[] = [];
    const realKeys = new Set<string>();
    for (const rs of vs.realServers) {
      if (!rs.active) continue;
      const w = weights.get(weightKey(vs.name, rs.name));
      if (w === undefined || w === null) continue;
      if (addressFamily(rs.address) === undefined) {
        warnings.push(
          `virtual ${vs.name}: real server ${rs.name} address ${rs.address} is not an IP address; skipped`,
        );
        continue;
      }
      const forwarding = rs.forwarding ?? model.network;
      const port = realPort(vs, forwarding, rs.port);
      const rkey = hostPort(rs.address, port);
      if (realKeys.has(rkey)) {
        warnings.push(`virtual ${vs.name}: real server ${rs.name} duplicates ${rkey}; skipped`);
        continue;
      }
      realKeys.add(rkey);
      reals.push({
        key: rkey,
        address: canonicalAddress(rs.address),
        port,
        forwarding,
        weight: clampWeight(w),
        name: rs.name,
      });
    }
    if (vs.sorryServer && sorryServerIn(reals)) {
      const port = realPort(vs, model.network, vs.sorryServer.port);
      const rkey = hostPort(vs.sorryServer.address, port);
      if (!realKeys.has(rkey)) {
        reals.push({
          key: rkey,
          address: canonicalAddress(vs.sorryServer.address),
          port,
          forwarding: model.network,
          weight: 1,
          name: SORRY_NAME,
          sorry: true,
        });
      }
    }
    const svc: LbService = {
      key,
      kind: vs.fwmark ? 'fwmark' : vs.protocol,
      family,
      scheduler: vs.scheduler,
      persistentS: Math.max(0, Math.round(vs.persistentS)),
      reals,
      vsName: vs.name,
    };
    if (vs.fwmark) svc.fwmark = vs.fwmark;
    else {
      svc.address = canonicalAddress(vs.vip.address);
      svc.port = vs.port;
    }
    const pmask = svc.persistentS > 0 ? normalisePmask(vs.pmask, family) : undefined;
    if (pmask !== undefined) svc.pmask = pmask;
    services.push(svc);
  }
  return { table: { services, timeouts: { ...model.timeouts } }, warnings };
}

/** The ownership key of a real server: `${serviceKey} -r ${realKey}`. */
export function realOwnerKey(service: string, real: string): string {
  return `${service} -r ${real}`;
}

/**
 * Every key the model names, whatever the weights and `active` flags: service keys of all virtual servers
 * and the owner key of each of their real servers and sorry servers. Such entries are ours even after a
 * restart (a real server the nanny took out while we were down is still removed).
 */
export function modelKeys(model: LvsModel): Set<string> {
  const keys = new Set<string>();
  for (const vs of model.virtualServers) {
    if (addressFamily(vs.vip.address) === undefined) continue;
    const key = serviceKey(vs);
    keys.add(key);
    for (const rs of vs.realServers) {
      if (addressFamily(rs.address) === undefined) continue;
      const port = realPort(vs, rs.forwarding ?? model.network, rs.port);
      keys.add(realOwnerKey(key, hostPort(rs.address, port)));
    }
    if (vs.sorryServer && addressFamily(vs.sorryServer.address) !== undefined) {
      const port = realPort(vs, model.network, vs.sorryServer.port);
      keys.add(realOwnerKey(key, hostPort(vs.sorryServer.address, port)));
    }
  }
  return keys;
}
