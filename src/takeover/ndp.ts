/**
 * IPv6 unsolicited neighbour advertisements (pure): the IPv6 counterpart of a gratuitous ARP. One complete
 * Ethernet frame (Ethernet + IPv6 + ICMPv6 NA with a target link-layer address option), ready for an
 * AF_PACKET socket, so no IPv6 socket or kernel source-address selection is involved.
 *
 * Per RFC 4861 §7.2.6: type 136, Override = 1, Solicited = 0, destination ff02::1 (all nodes, Ethernet
 * 33:33:00:00:00:01), hop limit 255 (receivers drop anything else). The source address is the VIP itself,
 * as keepalived does, unless another (e.g. the link-local address) is given.
 */
import { parseIPv6 } from '../lib/addr';

/** EtherType of IPv6. */
export const ETH_P_IPV6 = 0x86dd;
/** ICMPv6 type of a neighbour advertisement. */
export const ICMPV6_NEIGHBOR_ADVERTISEMENT = 136;
/** Ethernet 14 + IPv6 40 + NA 24 + target link-layer option 8. */
export const NA_FRAME_LENGTH = 86;
const ICMPV6_LENGTH = 32;
/** ff02::1 and its Ethernet multicast address. */
const ALL_NODES_BYTES = Uint8Array.from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01]);
const ALL_NODES_MAC = Uint8Array.from([0x33, 0x33, 0, 0, 0, 0x01]);

/** Options of an unsolicited neighbour advertisement: the Router flag and the source address. */
export interface NeighbourAdvertOptions {
  /** Set the Router flag (the sender forwards packets). Default false. */
  router?: boolean;
  /** IPv6 source address; default the target (VIP) itself. */
  source?: string;
}

/**
 * Builds one 86-byte unsolicited neighbour advertisement for `target` at `mac`.
 *
 * @param mac the 6-byte hardware address of the interface now holding the VIP.
 * @param target the IPv6 VIP.
 * @throws Error when `mac` is not 6 bytes or an address is not IPv6.
 * @example unsolicitedNa(parseMac('02:00:00:00:00:01'), '2001:db8::10') // 86 bytes
 */
export function unsolicitedNa(mac: Uint8Array, target: string, opts: NeighbourAdvertOptions = {}): Buffer {
  if (mac.length !== 6) throw new Error(`neighbour advertisement for ${target}: MAC must be 6 bytes`);
  const targetBytes = parseIPv6(target);
  if (!targetBytes)
    throw new Error(`neighbour advertisement: ${JSON.stringify(target)} is not an IPv6 address`);
  const sourceBytes = opts.source === undefined ? targetBytes : parseIPv6(opts.source);
  if (!sourceBytes)
    throw new Error(`neighbour advertisement: source ${JSON.stringify(opts.source)} is not IPv6`);

  const f = Buffer.alloc(NA_FRAME_LENGTH);
  // Ethernet.
  f.set(ALL_NODES_MAC, 0);
  f.set(mac, 6);
  f.writeUInt16BE(ETH_P_IPV6, 12);
  // IPv6 header at 14: version 6, traffic class 0, flow label 0.
  f.writeUInt32BE(0x60000000, 14);
  f.writeUInt16BE(ICMPV6_LENGTH, 18);
  f[20] = 58; // next header: ICMPv6
  f[21] = 255; // hop limit
  f.set(sourceBytes, 22);
  f.set(ALL_NODES_BYTES, 38);
  // ICMPv6 at 54.
  const icmp = 54;
  f[icmp] = ICMPV6_NEIGHBOR_ADVERTISEMENT;
  f[icmp + 1] = 0; // code
  // checksum at icmp+2, filled below
  f[icmp + 4] = (opts.router ? 0x80 : 0) | 0x20; // R, S = 0, O = 1
  f.set(targetBytes, icmp + 8);
  // Option: target link-layer address (type 2), length 1 (× 8 bytes).
  f[icmp + 24] = 2;
  f[icmp + 25] = 1;
  f.set(mac, icmp + 26);
  f.writeUInt16BE(icmpv6Checksum(sourceBytes, ALL_NODES_BYTES, f.subarray(icmp)), icmp + 2);
  return f;
}

/**
 * The ICMPv6 checksum (RFC 4443 §2.3): ones' complement of the ones' complement sum over the IPv6
 * pseudo-header (source, destination, upper-layer length, next header 58) and the message, whose checksum
 * field must be zero when called.
 */
export function icmpv6Checksum(source: Uint8Array, destination: Uint8Array, message: Uint8Array): number {
  let sum = 0;
  const add = (bytes: Uint8Array): void => {
    for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  };
  add(source);
  add(destination);
  sum += (message.length >>> 16) + (message.length & 0xffff);
  sum += 58;
  add(message);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
