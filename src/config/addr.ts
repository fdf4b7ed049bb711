/**
 * Address helpers for the config (pure): parse and canonicalize IPv4/IPv6, netmask ↔ prefix length.
 * No DNS: a config names addresses, never host names (checking a file must not depend on the resolver).
 */
import { formatIPv6, parseIPv6 } from '../lib/addr.js';

export type Family = 4 | 6;

/** Canonical dotted quad for a strict IPv4 string (`198.18.0.1`), else undefined (no octal/hex forms). */
export function canonicalIPv4(text: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map((p) => (p.length > 1 && p.startsWith('0') ? Number.NaN : Number(p)));
  if (parts.some((p) => !Number.isInteger(p) || p > 255)) return undefined;
  return parts.join('.');
}

/** Canonical (RFC 5952: compressed, lower-case) IPv6 text, else undefined. Zone ids (`%eth0`) are not accepted. */
export function canonicalIPv6(text: string): string | undefined {
  const bytes = parseIPv6(text);
  return bytes ? formatIPv6(bytes) : undefined;
}

/** Canonical form of an IPv4 or IPv6 address, else undefined. */
export function canonicalIP(text: string): string | undefined {
  return canonicalIPv4(text) ?? canonicalIPv6(text);
}

/** 4 or 6 for a valid address, else undefined. */
export function ipFamily(text: string): Family | undefined {
  if (canonicalIPv4(text)) return 4;
  if (canonicalIPv6(text)) return 6;
  return undefined;
}

/** True for 224.0.0.0/4 and ff00::/8. */
export function isMulticast(text: string): boolean {
  const v4 = canonicalIPv4(text);
  if (v4) {
    const first = Number(v4.split('.')[0]);
    return first >= 224 && first <= 239;
  }
  const v6 = canonicalIPv6(text);
  return v6?.startsWith('ff') === true;
}

/** Prefix length of a contiguous dotted-quad netmask (`255.255.255.0` → 24), else undefined. */
export function netmaskToPrefix(mask: string): number | undefined {
  const v4 = canonicalIPv4(mask);
  if (!v4) return undefined;
  const n = v4.split('.').reduce((acc, p) => acc * 256 + Number(p), 0);
  const bits = n.toString(2).padStart(32, '0');
  if (!/^1*0*$/.test(bits)) return undefined;
  return bits.indexOf('0') === -1 ? 32 : bits.indexOf('0');
}

/** Dotted-quad netmask of an IPv4 prefix length (24 → `255.255.255.0`). */
export function prefixToNetmask(prefix: number): string {
  const bits = '1'.repeat(prefix).padEnd(32, '0');
  return [0, 8, 16, 24].map((i) => Number.parseInt(bits.slice(i, i + 8), 2)).join('.');
}
