/**
 * Which floating addresses this LVS owns (pure), and on which interface each goes when the config names none.
 */
import type { FloatingAddress, LvsModel } from '../config/model';
import { inSubnet, parseIP } from '../lib/addr';

/** A floating address with its family known. */
export interface Vip extends FloatingAddress {
  family: 4 | 6;
  /** Why we own it: `virtual NAME` or `nat_router`. */
  source: string;
}

/** The floating addresses of a model, with the warnings found while listing them. */
export interface FloatingAddressList {
  vips: Vip[];
  /** Problems found (duplicates that disagree, unparsable addresses): log them as warnings. */
  warnings: string[];
}

/**
 * The floating addresses of a model: the VIP of every *active* virtual server (an inactive one is the
 * operator's way to switch a service off, as in Piranha, so its address is neither claimed nor touched),
 * deduplicated by address, plus `natRouter` in NAT mode (the real servers' gateway).
 * When the same address appears twice with a different device, label or mask, the first wins and a
 * warning says so.
 */
export function floatingAddresses(model: LvsModel): FloatingAddressList {
  const vips: Vip[] = [];
  const warnings: string[] = [];
  const byAddress = new Map<string, Vip>();
  const add = (fa: FloatingAddress, source: string): void => {
    const ip = parseIP(fa.address);
    if (!ip) {
      warnings.push(`${source}: ${JSON.stringify(fa.address)} is not an IP address; not claimed`);
      return;
    }
    const seen = byAddress.get(fa.address);
    if (seen) {
      if (
        seen.device !== fa.device ||
        seen.prefixLength !== fa.prefixLength ||
        (seen.label ?? '') !== (fa.label ?? '')
      ) {
        warnings.push(
          `${source}: VIP ${fa.address} also in ${seen.source} with a different device/label/mask; using ${seen.source}'s`,
        );
      }
      return;
    }
    const vip: Vip = { ...fa, family: ip.family, source };
    byAddress.set(fa.address, vip);
    vips.push(vip);
  };
  for (const vs of model.virtualServers) if (vs.active) add(vs.vip, `virtual ${vs.name}`);
  if (model.network === 'nat' && model.natRouter) add(model.natRouter, 'nat_router');
  return { vips, warnings };
}

/** One address configured on an interface, as `ip -json addr show` reports it. */
export interface InterfaceAddress {
  device: string;
  address: string;
  prefixLength: number;
  family: 4 | 6;
  label?: string;
  /** IPv4: a secondary address of its subnet. */
  secondary?: boolean;
}

/** One interface with its MAC and addresses. */
export interface InterfaceInfo {
  device: string;
  ifindex: number;
  mac?: string;
  up: boolean;
  loopback: boolean;
  addresses: InterfaceAddress[];
}

/**
 * The interface whose connected subnet contains `address` (longest prefix wins; loopback and the address
 * itself as a host route are ignored), or undefined.
 * Example: VIP 198.18.0.10 with eth0 = 198.18.0.11/24 → 'eth0'.
 */
export function connectedDevice(address: string, interfaces: InterfaceInfo[]): string | undefined {
  let best: { device: string; prefix: number } | undefined;
  for (const i of interfaces) {
    if (i.loopback) continue;
    for (const a of i.addresses) {
      if (a.address === address) continue;
      if (a.family === 4 && a.prefixLength === 32) continue;
      if (a.family === 6 && (a.prefixLength === 128 || a.address.toLowerCase().startsWith('fe80:'))) continue;
      if (!inSubnet(address, a.address, a.prefixLength)) continue;
      if (!best || a.prefixLength > best.prefix) best = { device: i.device, prefix: a.prefixLength };
    }
  }
  return best?.device;
}

/** Where a VIP currently is: every (device, prefix) on which the address is configured. */
export function findAddress(address: string, interfaces: InterfaceInfo[]): InterfaceAddress[] {
  const out: InterfaceAddress[] = [];
  for (const i of interfaces) for (const a of i.addresses) if (sameAddress(a.address, address)) out.push(a);
  return out;
}

/** Compares two textual addresses of either family by value (`2001:DB8::1` = `2001:db8:0::1`). */
export function sameAddress(a: string, b: string): boolean {
  if (a === b) return true;
  const x = parseIP(a);
  const y = parseIP(b);
  return !!x && !!y && x.family === y.family && x.bytes.every((v, i) => v === y.bytes[i]);
}
