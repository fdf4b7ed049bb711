/**
 * A dress rehearsal of a takeover against in-memory stand-ins (pure: no socket, no process, no address
 * touched, no hook run), done once at open().
 *
 * Why: V8 compiles functions lazily on first call. Measured in the lab, the first claim() of a process spent
 * ~3.5 ms in its synchronous part against ~0.4 ms for later ones, so a packet drawn by the first GARP could
 * reach the router before its address was there. A standby's first claim is usually the one that matters,
 * so open() runs the same code once — claim, reconcile, reannounce, release — on stand-ins.
 */
import type { AddressSpec, AddressTable } from './iproute';
import type { FrameSocket } from './rawsocket';
import type { InterfaceInfo } from './vips';

/** An AddressTable over a copy of `interfaces`, changed only in memory. */
export class MemoryAddressTable implements AddressTable {
  private readonly ifs: InterfaceInfo[];

  constructor(interfaces: InterfaceInfo[]) {
    this.ifs = structuredClone(interfaces);
  }

  async list(): Promise<InterfaceInfo[]> {
    return structuredClone(this.ifs);
  }

  async add(spec: AddressSpec): Promise<'added' | 'present'> {
    const i = this.ifs.find((x) => x.device === spec.device);
    if (!i) throw new Error(`no interface ${spec.device}`);
    if (i.addresses.some((a) => a.address === spec.address && a.prefixLength === spec.prefixLength)) {
      return 'present';
    }
    i.addresses.push({ ...spec, ...(spec.label ? { label: spec.label } : {}) });
    return 'added';
  }

  async del(spec: AddressSpec): Promise<'removed' | 'absent'> {
    for (const i of this.ifs) {
      if (i.device !== spec.device) continue;
      const n = i.addresses.findIndex(
        (a) => a.address === spec.address && a.prefixLength === spec.prefixLength,
      );
      if (n >= 0) {
        i.addresses.splice(n, 1);
        return 'removed';
      }
    }
    return 'absent';
  }

  async routeDevice(): Promise<string | undefined> {
    return undefined;
  }
}

/** A FrameSocket that drops every frame (with the real socket's MAC, so frames are built the same way). */
export function nullSocket(device: string, mac: Uint8Array): FrameSocket {
  return { device, mac, send() {}, warm() {}, close() {} };
}
