/**
 * Neighbour-table diagnostics for `pulsectl`: which MAC a VIP or the peer router resolves to from here.
 *
 * Uses node-arp (named by the design): its `getMAC` pings the address once to prime the kernel's neighbour
 * table, then reads it with `arp -n` (net-tools). It sends no ARP itself and only knows IPv4, so it is a
 * diagnostic, not part of the takeover path: the takeover sends its own frames (`arp.ts`, `rawsocket.ts`).
 * node-arp reports "no entry" and "(incomplete)" inconsistently, so its answer is checked to be a MAC.
 */
import { parseIPv4 } from '../lib/addr';
import { formatMac, parseMac } from './addr';

interface NodeArp {
  getMAC(ip: string, cb: (err: boolean, macOrMessage: string | number) => void): void;
}

// node-arp ships no type declarations.
const arp = require('node-arp') as NodeArp;

export interface ResolveOptions {
  /** Give up after this long (node-arp's ping can wait for seconds on a silent address). Default 3000. */
  timeoutMs?: number;
}

/**
 * The MAC `address` resolves to in this namespace's neighbour table, lower-case `aa:bb:…`, or undefined
 * when there is no complete entry (or on timeout).
 *
 * @throws Error when `address` is not IPv4 (node-arp reads the IPv4 table only; use `ip -6 neigh`).
 * @example await resolveMac('198.18.0.10') // '02:11:22:33:44:55'
 */
export function resolveMac(address: string, opts: ResolveOptions = {}): Promise<string | undefined> {
  if (!parseIPv4(address)) {
    return Promise.reject(new Error(`resolveMac: ${JSON.stringify(address)} is not an IPv4 address`));
  }
  return new Promise((resolve) => {
    let done = false;
    const timer = setTimeout(() => finish(undefined), opts.timeoutMs ?? 3000);
    const finish = (mac: string | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(mac);
    };
    arp.getMAC(address, (err, value) => {
      if (err || typeof value !== 'string') return finish(undefined);
      try {
        const mac = parseMac(value);
        finish(mac.every((b) => b === 0) ? undefined : formatMac(mac));
      } catch {
        finish(undefined);
      }
    });
  });
}
