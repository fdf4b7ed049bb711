/** MAC address helpers for the takeover (pure). IP helpers live in src/lib/addr.ts. */

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
