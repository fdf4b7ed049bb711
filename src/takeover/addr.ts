/**
 * Address helpers for the takeover (pure): parse IPv4/IPv6/MAC text into bytes, and tell whether an
 * address lies in a connected subnet. No `node:net` here: this file is part of the pure core.
 */

/** Parses a dotted-quad IPv4 address into 4 bytes; returns undefined when it is not one. */
export function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

/**
 * Parses an IPv6 address (full, compressed with `::`, or with a trailing dotted quad) into 16 bytes;
 * returns undefined when it is not one. A zone (`%eth0`) is not accepted.
 */
export function parseIPv6(text: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || text.length > 45) return undefined;
  let s = text;
  // A trailing embedded IPv4 address (::ffff:198.18.0.1) is rewritten as two hex groups.
  if (s.includes('.')) {
    const lastColon = s.lastIndexOf(':');
    const v4 = parseIPv4(s.slice(lastColon + 1));
    if (!v4) return undefined;
    const hex = (hi: number, lo: number): string => ((hi << 8) | lo).toString(16);
    s = `${s.slice(0, lastColon + 1)}${hex(v4[0]!, v4[1]!)}:${hex(v4[2]!, v4[3]!)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (h: string): number[] | undefined => {
    if (h === '') return [];
    const groups = h.split(':');
    const out: number[] = [];
    for (const g of groups) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const head = parseGroups(halves[0]!);
  if (!head) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const rest = parseGroups(halves[1]!);
    if (!rest) return undefined;
    const missing = 8 - head.length - rest.length;
    if (missing < 1) return undefined;
    groups = [...head, ...new Array<number>(missing).fill(0), ...rest];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return undefined;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** Parses an IP address of either family; `family` 4 or 6. */
export function parseIP(text: string): { family: 4 | 6; bytes: Uint8Array } | undefined {
  const v4 = parseIPv4(text);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = parseIPv6(text);
  if (v6) return { family: 6, bytes: v6 };
  return undefined;
}

/** Parses a MAC address `aa:bb:cc:dd:ee:ff` (or with `-`) into 6 bytes; throws when it is not one. */
export function parseMac(text: string): Uint8Array {
  const m =
    /^([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})$/.exec(
      text.trim(),
    );
  if (!m) throw new Error(`not a MAC address: ${JSON.stringify(text)}`);
  return Uint8Array.from(m.slice(1, 7).map((h) => Number.parseInt(h, 16)));
}

/** Formats 6 bytes as `aa:bb:cc:dd:ee:ff`. */
export function formatMac(mac: Uint8Array): string {
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/**
 * True when `address` lies in the subnet `network/prefixLength` (same family only).
 * Example: `inSubnet('198.18.0.10', '198.18.0.11', 24)` → true.
 */
export function inSubnet(address: string, network: string, prefixLength: number): boolean {
  const a = parseIP(address);
  const n = parseIP(network);
  if (!a || !n || a.family !== n.family) return false;
  const bits = a.bytes.length * 8;
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > bits) return false;
  let left = prefixLength;
  for (let i = 0; i < a.bytes.length && left > 0; i++) {
    const take = Math.min(8, left);
    const mask = (0xff << (8 - take)) & 0xff;
    if ((a.bytes[i]! & mask) !== (n.bytes[i]! & mask)) return false;
    left -= take;
  }
  return true;
}
