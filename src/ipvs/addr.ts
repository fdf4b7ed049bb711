/**
 * Address helpers for the LB table (pure: no node:net). Keys must match what `ipvsadm -Sn` prints, so IPv6
 * addresses are written in RFC 5952 form (as glibc's inet_ntop does) and bracketed before a port.
 */

/** 4 for a dotted quad, 6 for anything containing a colon, else undefined. */
export function addressFamily(address: string): 4 | 6 | undefined {
  if (isIpv4(address, 0, address.length)) return 4;
  return address.includes(':') && parseIpv6(address) ? 6 : undefined;
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

/** Parse an IPv6 address into 8 groups, or undefined when malformed. Accepts a trailing dotted quad. */
export function parseIpv6(address: string): number[] | undefined {
  let text = address.toLowerCase();
  const v4 = /^(.*:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  if (v4?.[1] && v4[2]) {
    const octets = v4[2].split('.').map(Number);
    if (octets.some((o) => o > 255)) return undefined;
    const [a = 0, b = 0, c = 0, d = 0] = octets;
    text = `${v4[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parseHalf = (h: string | undefined): number[] | undefined => {
    if (h === undefined || h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-f]{1,4}$/.test(g)) return undefined;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const head = parseHalf(halves[0]);
  const rest = halves.length === 2 ? parseHalf(halves[1]) : [];
  if (!head || !rest) return undefined;
  const given = head.length + rest.length;
  if (halves.length === 1 && given !== 8) return undefined;
  if (halves.length === 2 && given > 7) return undefined;
  return [...head, ...new Array<number>(8 - given).fill(0), ...rest];
}

/** RFC 5952 text of an IPv6 address (longest run of ≥2 zero groups compressed, lower case). */
export function formatIpv6(groups: number[]): string {
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

/** Canonical text of an address (IPv4 unchanged, IPv6 per RFC 5952); malformed input is returned as is. */
export function canonicalAddress(address: string): string {
  if (!address.includes(':')) return address;
  const g = parseIpv6(address);
  return g ? formatIpv6(g) : address;
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
