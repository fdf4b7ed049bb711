/**
 * Address helpers shared by every concern (pure: no node:net, no DNS). IPv4/IPv6 text to bytes, RFC 5952
 * canonical text (as glibc's inet_ntop and so ipvsadm print it), `addr:port` forms and subnet tests, and
 * the strict forms a config accepts (canonicalIP, ipFamily, isMulticast, netmask ↔ prefix length).
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

/** 4 for a dotted quad, 6 for a valid IPv6 address, else undefined. */
export function addressFamily(address: string): 4 | 6 | undefined {
  if (isIpv4(address, 0, address.length)) return 4;
  return address.includes(':') && parseIPv6(address) ? 6 : undefined;
}

/**
 * Whether `text[start, end)` is a dotted quad (no leading sign, octets ≤ 255). Hand-written: a table of
 * 10,000 entries is parsed on every sync, and regular expressions with captures cost microseconds each.
 */
function isIpv4(text: string, start: number, end: number): boolean {
  let dots = 0;
  let digits = 0;
  let octet = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return false;
      digits = 0;
      octet = 0;
    } else if (c >= 48 && c <= 57) {
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return false;
    } else return false;
  }
  return dots === 3 && digits > 0;
}

/** The 8 16-bit groups of 16 IPv6 address bytes. */
function groupsOf(bytes: Uint8Array): number[] {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((bytes[i]! << 8) | bytes[i + 1]!);
  return g;
}

/** RFC 5952 text of an IPv6 address (longest run of ≥2 zero groups compressed, lower case). */
export function formatIPv6(bytes: Uint8Array): string {
  const groups = groupsOf(bytes);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/**
 * The one canonical form of an address written by a person (config files, the web console), else
 * undefined: a strict dotted quad as written (no octal or hex parts, no leading zeros: inet_aton would
 * read `010` as 8) or RFC 5952 IPv6 text (formatIPv6). No zone ids (`%eth0`), no host names.
 *
 * @example canonicalIP('2001:2:0:0::0001') → '2001:2::1'; canonicalIP('198.18.0.010') → undefined
 */
export function canonicalIP(text: string): string | undefined {
  if (!text.includes(':')) return isStrictIPv4(text) ? text : undefined;
  const b = parseIPv6(text);
  return b ? formatIPv6(b) : undefined;
}

/** A dotted quad of decimal octets 0–255 without leading zeros (`198.18.0.1`, not `198.018.0.1`). */
function isStrictIPv4(text: string): boolean {
  return /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/.test(text);
}

/**
 * Canonical text of an address read from a tool's output (ipvsadm, ip): canonicalIP, except that input
 * which is not an address comes back unchanged instead of undefined. IPv4 takes the fast path (tables of
 * 10,000 entries are read on every sync) and is returned as is.
 */
export function canonicalAddress(address: string): string {
  if (!address.includes(':')) return address;
  return canonicalIP(address) ?? address;
}

/** 4 or 6 for an address canonicalIP accepts, else undefined (strict, for what a person wrote). */
export function ipFamily(text: string): 4 | 6 | undefined {
  if (canonicalIP(text) === undefined) return undefined;
  return text.includes(':') ? 6 : 4;
}

/** True for IPv4 224.0.0.0/4 and IPv6 ff00::/8 (strict address syntax as canonicalIP). */
export function isMulticast(text: string): boolean {
  const c = canonicalIP(text);
  if (c === undefined) return false;
  if (c.includes(':')) return c.startsWith('ff');
  const first = Number(c.slice(0, c.indexOf('.')));
  return first >= 224 && first <= 239;
}

/** Prefix length of a contiguous dotted-quad netmask (`255.255.255.0` → 24), else undefined. */
export function netmaskToPrefix(mask: string): number | undefined {
  if (mask.includes(':') || canonicalIP(mask) === undefined) return undefined;
  const n = mask.split('.').reduce((acc, p) => acc * 256 + Number(p), 0);
  const bits = n.toString(2).padStart(32, '0');
  if (!/^1*0*$/.test(bits)) return undefined;
  return bits.indexOf('0') === -1 ? 32 : bits.indexOf('0');
}

/** Dotted-quad netmask of an IPv4 prefix length 0–32 (24 → `255.255.255.0`). */
export function prefixToNetmask(prefix: number): string {
  const bits = '1'.repeat(prefix).padEnd(32, '0');
  return [0, 8, 16, 24].map((i) => Number.parseInt(bits.slice(i, i + 8), 2)).join('.');
}

/** `addr:port` as ipvsadm prints it: `198.18.0.10:80`, `[2001:db8::1]:80`. */
export function hostPort(address: string, port: number): string {
  if (!address.includes(':')) return `${address}:${port}`;
  const a = canonicalAddress(address);
  return a.includes(':') ? `[${a}]:${port}` : `${a}:${port}`;
}

/** Split `addr:port` / `[v6]:port`; undefined when malformed. */
export function splitHostPort(text: string): { address: string; port: number } | undefined {
  // Fast path (tables of 10,000 lines are parsed on every sync): IPv4 is printed canonically already.
  const colon = text.lastIndexOf(':');
  if (colon > 0 && text.charCodeAt(0) !== 91 && isIpv4(text, 0, colon)) {
    const portText = text.slice(colon + 1);
    if (portText.length === 0 || portText.length > 5) return undefined;
    let port = 0;
    for (let i = 0; i < portText.length; i++) {
      const c = portText.charCodeAt(i);
      if (c < 48 || c > 57) return undefined;
      port = port * 10 + (c - 48);
    }
    return port <= 65535 ? { address: text.slice(0, colon), port } : undefined;
  }
  const m =
    /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(text) ?? /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(text);
  if (!m?.[1] || m[2] === undefined) return undefined;
  const port = Number(m[2]);
  if (port > 65535 || addressFamily(m[1]) === undefined) return undefined;
  return { address: canonicalAddress(m[1]), port };
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
