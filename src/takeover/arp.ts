/**
 * Gratuitous ARP frames (pure): the bytes an active router broadcasts so every neighbour on the segment
 * points the VIP at its MAC. Sending is done elsewhere (`rawsocket.ts`); this file only builds frames.
 *
 * Two forms, both broadcast (dst ff:ff:ff:ff:ff:ff), both with sender IP = target IP = VIP:
 * - `request` (opcode 1, target MAC 00:00:00:00:00:00): the RFC 5227 "ARP announcement". Linux, most
 *   switches and most hosts update an existing cache entry from it; it is the default.
 * - `reply` (opcode 2, target MAC = sender MAC): the RFC 2002 §4.6 gratuitous reply, the opcode Piranha's
 *   `send_arp` used. Some older stacks and switches only learn from replies; `form: both` sends one of each.
 *   The target MAC matters: Linux (`arp_is_garp`) treats a reply as gratuitous only when target MAC = sender
 *   MAC. A reply with a broadcast target MAC is ignored by a Linux neighbour whose entry was updated less
 *   than `locktime` (1 s) ago — measured in the lab: the client kept the old router's MAC — while this form
 *   and the request form moved it at once.
 */
import { parseIPv4 } from '../lib/addr';

/** Ethernet (14) + ARP for IPv4 over Ethernet (28). The NIC pads to the 60-byte minimum. */
export const ARP_FRAME_LENGTH = 42;
/** EtherType of ARP. */
export const ETH_P_ARP = 0x0806;
/** ARP opcode of a request. */
export const ARP_OP_REQUEST = 1;
/** ARP opcode of a reply. */
export const ARP_OP_REPLY = 2;

/** The form of a gratuitous ARP frame (docs/takeover.md: why both). */
export type ArpForm = 'request' | 'reply';

const BROADCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

/**
 * Builds one 42-byte gratuitous ARP frame announcing `ip` at `mac`.
 *
 * @param form `request` (opcode 1, target MAC zero) or `reply` (opcode 2, target MAC = `mac`).
 * @param mac the sender's 6-byte hardware address (the interface that now holds the VIP).
 * @param ip the VIP, dotted quad.
 * @throws Error when `mac` is not 6 bytes or `ip` is not an IPv4 address.
 * @example gratuitousArp('request', parseMac('02:00:00:00:00:01'), '198.18.0.10') // 42 bytes
 */
export function gratuitousArp(form: ArpForm, mac: Uint8Array, ip: string): Buffer {
  if (mac.length !== 6)
    throw new Error(`gratuitous ARP for ${ip}: sender MAC must be 6 bytes, got ${mac.length}`);
  const ipBytes = parseIPv4(ip);
  if (!ipBytes) throw new Error(`gratuitous ARP: ${JSON.stringify(ip)} is not an IPv4 address`);
  const f = Buffer.alloc(ARP_FRAME_LENGTH);
  // Ethernet header.
  f.set(BROADCAST, 0);
  f.set(mac, 6);
  f.writeUInt16BE(ETH_P_ARP, 12);
  // ARP: hardware Ethernet (1), protocol IPv4 (0x0800), lengths 6 and 4.
  f.writeUInt16BE(1, 14);
  f.writeUInt16BE(0x0800, 16);
  f[18] = 6;
  f[19] = 4;
  f.writeUInt16BE(form === 'request' ? ARP_OP_REQUEST : ARP_OP_REPLY, 20);
  f.set(mac, 22); // sender hardware address
  f.set(ipBytes, 28); // sender protocol address = VIP
  if (form === 'reply') f.set(mac, 32); // target hardware address = sender's (request form: zero)
  f.set(ipBytes, 38); // target protocol address = VIP
  return f;
}

/** The frames to send per announcement for a configured form (`both` → request then reply). */
export function arpFrames(form: ArpForm | 'both', mac: Uint8Array, ip: string): Buffer[] {
  if (form === 'both') return [gratuitousArp('request', mac, ip), gratuitousArp('reply', mac, ip)];
  return [gratuitousArp(form, mac, ip)];
}
