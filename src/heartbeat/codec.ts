/**
 * The heartbeat wire format (version 1) and Piranha's 4-byte compatibility format: pure encode/decode.
 *
 * Layout (88 bytes, big-endian; see docs/protocol.md for the rules):
 *
 * | off | len | field |
 * |----:|----:|-------|
 * |   0 |   2 | magic `LP` (0x4c 0x50) |
 * |   2 |   1 | version (1) |
 * |   3 |   1 | type: 1 keepalive, 2 farewell, 3 claim |
 * |   4 |   1 | state: 0 starting, 1 standby, 2 active, 3 fault, 4 stopping |
 * |   5 |   1 | flags: bit0 link fault, bit1 LB fault, bit2 preempt |
 * |   6 |   1 | path: 0 public, 1 private, 2 multicast |
 * |   7 |   1 | hold: bit0 connection resync pending (read by receivers that know it, ignored as reserved by older ones) |
 * |   8 |   2 | priority |
 * |  10 |   2 | reserved, 0 |
 * |  12 |   4 | sender's keepalive interval, µs |
 * |  16 |   4 | key id of the sender's newest key (0 = no key) |
 * |  20 |   4 | key id of the key that made the MAC (0 = unauthenticated) |
 * |  24 |   8 | boot id (random per start) |
 * |  32 |   8 | sequence number (strictly increasing per boot id, across all paths) |
 * |  40 |   8 | echo: the last boot id the sender heard from the receiver (0 = none yet) |
 * |  48 |   8 | config hash (first 8 bytes of SHA-256 of the LB config) |
 * |  56 |  16 | sender id: the sender's public router address as IPv6 (IPv4-mapped for IPv4) |
 * |  72 |  16 | HMAC-SHA256 over bytes 0..71, truncated to 128 bits (zeros when unauthenticated) |
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { formatIPv6, parseIP } from '../lib/addr.js';
import type { RouterState } from './state.js';

/** The first two bytes of every message: `LP`. */
export const MAGIC = 0x4c50;
/** The wire format version this code speaks. */
export const VERSION = 1;
/** Bytes covered by the MAC (everything before it). */
export const HEADER_LENGTH = 72;
/** Bytes of the truncated HMAC-SHA256 at the end of a message. */
export const MAC_LENGTH = 16;
/** Length of every version-1 message. */
export const MESSAGE_LENGTH = HEADER_LENGTH + MAC_LENGTH;

/** The message types, in wire order (type byte = index + 1). */
export const MESSAGE_TYPES = ['keepalive', 'farewell', 'claim'] as const;
/** keepalive: periodic status; farewell: "I am leaving active/the pair, take over now"; claim: "I am (or want to be) active". */
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** The state byte of each router state. Fixed by the wire format: never renumber. */
export const STATE_CODES: Readonly<Record<RouterState, number>> = {
  starting: 0,
  standby: 1,
  active: 2,
  fault: 3,
  stopping: 4,
};

/** State byte → router state (undefined for a byte no state has). */
const STATE_BY_CODE: (RouterState | undefined)[] = [];
for (const [state, code] of Object.entries(STATE_CODES)) STATE_BY_CODE[code] = state as RouterState;

/** The heartbeat paths, in wire order (path byte = index). */
export const PATHS = ['public', 'private', 'multicast'] as const;
/** The heartbeat path a packet travels: unicast public, unicast private, or the multicast group. */
export type PathName = (typeof PATHS)[number];

/** The flags byte: the sender's faults and whether it asks to preempt. */
export interface MessageFlags {
  /** A monitored link of the sender is down (monitor_links). */
  linkFault: boolean;
  /** The sender's LB table cannot be applied (hard_shutdown). */
  lbFault: boolean;
  /** A claim that asks a lower-priority active to hand over (preempt). */
  preempt: boolean;
  /**
   * Byte 7, bit 0: the sender is a returning router whose connection resync is not done (docs/sync.md): do
   * not hand the VIPs to it by a release. Absent = false. Byte 7 was reserved and never checked, so older
   * receivers ignore it.
   */
  resyncPending?: boolean;
}

/** A decoded (or to-be-encoded) heartbeat message. Ids and hashes are 16-hex-digit strings. */
export interface HeartbeatMessage {
  type: MessageType;
  state: RouterState;
  flags: MessageFlags;
  path: PathName;
  priority: number;
  keepaliveUs: number;
  /** Fingerprint of the sender's newest key (rotation: the peer starts using it once it sees it here). */
  newestKeyId: number;
  /** Fingerprint of the key that made the MAC; 0 = unauthenticated. */
  macKeyId: number;
  bootId: string;
  seq: number;
  echoBootId: string;
  configHash: string;
  /** The sender's public router address (canonical string). */
  sender: string;
}

/**
 * Why a packet was dropped. Each is a metric label and a log field.
 * - wrong-length: not 88 bytes (nor 4 bytes with Piranha compatibility on)
 * - unknown-version: bad magic or a version we do not speak
 * - malformed: an out-of-range type/state/path/flag value, or a sender id that is no address
 * - bad-mac: MAC wrong, made with a key we do not hold, or missing while we require one
 * - replay: sequence number not above the last accepted one for that boot id and path,
 *   or a boot id of the peer that was already superseded in this run
 * - not-peer: source address (or the sender id inside) is not the configured peer
 * - wrong-path: the path byte does not name the path (socket) the packet arrived on
 * - self: our own packet (multicast loopback)
 * - unconfirmed-boot: a peer boot id that never echoed our boot id within one deadtime (old capture replayed)
 */
export const DROP_REASONS = [
  'wrong-length',
  'unknown-version',
  'malformed',
  'bad-mac',
  'replay',
  'not-peer',
  'wrong-path',
  'self',
  'unconfirmed-boot',
] as const;
/** One of {@link DROP_REASONS}. */
export type DropReason = (typeof DROP_REASONS)[number];

/** A shared key with its fingerprint (first 4 bytes of SHA-256 of the key, never 0). */
export interface HeartbeatKey {
  id: number;
  secret: Buffer;
}

/** Builds a {@link HeartbeatKey}: the id lets the receiver pick the right key during a rotation. */
export function makeKey(secret: Buffer): HeartbeatKey {
  if (secret.length < 16)
    throw new Error(`heartbeat key too short: ${secret.length} bytes, need at least 16`);
  const id = createHash('sha256')
    .update('lvs-pulse heartbeat key id')
    .update(secret)
    .digest()
    .readUInt32BE(0);
  return { id: id === 0 ? 1 : id, secret: Buffer.from(secret) };
}

/** A short hash of an LB configuration (any string, e.g. a canonical JSON of the virtual servers). */
export function configHashOf(text: string): string {
  return createHash('sha256').update(text).digest().subarray(0, 8).toString('hex');
}

/** The all-zero id: "none" for a boot id echo, never a valid boot id. */
export const ZERO_ID = '0000000000000000';

/** Address (IPv4 or IPv6 text, an IPv6 zone ignored) → 16 bytes (IPv4 as ::ffff:a.b.c.d). Throws on anything else. */
export function addressToBytes(address: string): Buffer {
  const zone = address.indexOf('%');
  const ip = parseIP(zone >= 0 && address.includes(':') ? address.slice(0, zone) : address);
  if (!ip) throw new Error(`not an IP address: ${JSON.stringify(address)}`);
  const out = Buffer.alloc(16);
  if (ip.family === 4) {
    out[10] = 0xff;
    out[11] = 0xff;
    out.set(ip.bytes, 12);
  } else out.set(ip.bytes);
  return out;
}

/** 16 bytes → canonical address text (IPv4-mapped → dotted quad, else RFC 5952 IPv6). */
export function bytesToAddress(b: Buffer | Uint8Array): string {
  let mapped = b[10] === 0xff && b[11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) if (b[i] !== 0) mapped = false;
  if (mapped) return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  return formatIPv6(b);
}

/** Canonical form of an address string (so '::FFFF:1.2.3.4', '198.18.0.1' and friends compare equal). */
export function canonicalAddress(address: string): string {
  return bytesToAddress(addressToBytes(address));
}

function mac(key: Buffer, header: Uint8Array): Buffer {
  return createHmac('sha256', key).update(header).digest();
}

/**
 * Encodes a message; signs it with `key` (or leaves the MAC zero when `key` is undefined).
 * The message's `macKeyId` is ignored and written from the key. Throws on out-of-range fields (a bug).
 */
export function encode(msg: HeartbeatMessage, key?: HeartbeatKey): Buffer {
  const buf = Buffer.alloc(MESSAGE_LENGTH);
  buf.writeUInt16BE(MAGIC, 0);
  buf[2] = VERSION;
  buf[3] = MESSAGE_TYPES.indexOf(msg.type) + 1;
  const state = STATE_CODES[msg.state];
  if (state === undefined) throw new Error(`heartbeat: no wire code for state ${String(msg.state)}`);
  buf[4] = state;
  buf[5] = (msg.flags.linkFault ? 1 : 0) | (msg.flags.lbFault ? 2 : 0) | (msg.flags.preempt ? 4 : 0);
  buf[6] = PATHS.indexOf(msg.path);
  buf[7] = msg.flags.resyncPending ? 1 : 0;
  buf.writeUInt16BE(msg.priority, 8);
  buf.writeUInt32BE(Math.min(msg.keepaliveUs, 0xffffffff), 12);
  buf.writeUInt32BE(msg.newestKeyId >>> 0, 16);
  buf.writeUInt32BE(key ? key.id : 0, 20);
  buf.write(msg.bootId, 24, 8, 'hex');
  buf.writeUInt32BE(Math.floor(msg.seq / 0x100000000), 32);
  buf.writeUInt32BE(msg.seq >>> 0, 36);
  buf.write(msg.echoBootId, 40, 8, 'hex');
  buf.write(msg.configHash, 48, 8, 'hex');
  addressToBytes(msg.sender).copy(buf, 56);
  if (key) mac(key.secret, buf.subarray(0, HEADER_LENGTH)).copy(buf, HEADER_LENGTH, 0, MAC_LENGTH);
  return buf;
}

/** A decoded message (with the key that verified it, when authenticated), or why the packet was dropped. */
export type DecodeResult =
  | { ok: true; msg: HeartbeatMessage; key?: HeartbeatKey }
  | { ok: false; reason: DropReason; detail?: string };

/** Keys the decoder accepts: the current one and, during a rotation window, the previous one. */
export interface KeyRing {
  current?: HeartbeatKey;
  previous?: HeartbeatKey;
}

/**
 * Decodes and authenticates one packet (stateless: no replay check, see receiver.ts).
 * With `auth: 'none'` the MAC is not checked. Never throws on any input.
 */
export function decode(buf: Buffer, auth: 'hmac' | 'none', keys: KeyRing): DecodeResult {
  if (buf.length !== MESSAGE_LENGTH)
    return { ok: false, reason: 'wrong-length', detail: `${buf.length} bytes` };
  if (buf.readUInt16BE(0) !== MAGIC) return { ok: false, reason: 'unknown-version', detail: 'bad magic' };
  if (buf[2] !== VERSION) return { ok: false, reason: 'unknown-version', detail: `version ${buf[2]}` };
  let usedKey: HeartbeatKey | undefined;
  if (auth === 'hmac') {
    const id = buf.readUInt32BE(20);
    const key =
      keys.current && keys.current.id === id
        ? keys.current
        : keys.previous && keys.previous.id === id
          ? keys.previous
          : undefined;
    if (!key)
      return { ok: false, reason: 'bad-mac', detail: id === 0 ? 'unauthenticated' : 'unknown key id' };
    const want = mac(key.secret, buf.subarray(0, HEADER_LENGTH));
    if (!timingSafeEqual(want.subarray(0, MAC_LENGTH), buf.subarray(HEADER_LENGTH)))
      return { ok: false, reason: 'bad-mac' };
    usedKey = key;
  }
  const type = MESSAGE_TYPES[buf[3]! - 1];
  const state = STATE_BY_CODE[buf[4]!];
  const path = PATHS[buf[6]!];
  if (!type || !state || !path || (buf[5]! & ~7) !== 0)
    return { ok: false, reason: 'malformed', detail: 'field out of range' };
  const msg: HeartbeatMessage = {
    type,
    state,
    flags: {
      linkFault: (buf[5]! & 1) !== 0,
      lbFault: (buf[5]! & 2) !== 0,
      preempt: (buf[5]! & 4) !== 0,
      ...((buf[7]! & 1) !== 0 ? { resyncPending: true } : {}),
    },
    path,
    priority: buf.readUInt16BE(8),
    keepaliveUs: buf.readUInt32BE(12),
    newestKeyId: buf.readUInt32BE(16),
    macKeyId: buf.readUInt32BE(20),
    bootId: buf.toString('hex', 24, 32),
    seq: buf.readUInt32BE(32) * 0x100000000 + buf.readUInt32BE(36),
    echoBootId: buf.toString('hex', 40, 48),
    configHash: buf.toString('hex', 48, 56),
    sender: bytesToAddress(buf.subarray(56, 72)),
  };
  if (msg.bootId === ZERO_ID) return { ok: false, reason: 'malformed', detail: 'zero boot id' };
  return usedKey ? { ok: true, msg, key: usedKey } : { ok: true, msg };
}

// ---------------------------------------------------------------------------------------------------------
// Piranha compatibility: one 4-byte unsigned int in the host's native byte order (x86: little-endian).

/** Piranha's heartbeat value while it holds the VIPs. */
export const PIRANHA_RUNNING = 0xbdaddbda;
/** Piranha's heartbeat value while it does not. */
export const PIRANHA_STOPPED = 0xadbddabd;
/** Length of a Piranha heartbeat. */
export const PIRANHA_LENGTH = 4;

/** Piranha's heartbeat for our state: RUNNING while we hold the VIPs, STOPPED otherwise. */
export function encodePiranha(running: boolean, littleEndian = true): Buffer {
  const buf = Buffer.alloc(PIRANHA_LENGTH);
  const v = running ? PIRANHA_RUNNING : PIRANHA_STOPPED;
  if (littleEndian) buf.writeUInt32LE(v, 0);
  else buf.writeUInt32BE(v, 0);
  return buf;
}

/** Decodes a Piranha heartbeat (unauthenticated by design). */
export function decodePiranha(
  buf: Buffer,
  littleEndian = true,
): { ok: true; running: boolean } | { ok: false; reason: DropReason; detail?: string } {
  if (buf.length !== PIRANHA_LENGTH)
    return { ok: false, reason: 'wrong-length', detail: `${buf.length} bytes` };
  const v = littleEndian ? buf.readUInt32LE(0) : buf.readUInt32BE(0);
  if (v === PIRANHA_RUNNING) return { ok: true, running: true };
  if (v === PIRANHA_STOPPED) return { ok: true, running: false };
  return { ok: false, reason: 'unknown-version', detail: `piranha magic 0x${v.toString(16)}` };
}
