/** Test doubles for the takeover's edges: an in-memory address table and recording frame sockets. */
import { baseModel, virtualServerConfig } from '../../../src/config/build';
import type { AnnounceConfig, LvsModel, VirtualServer } from '../../../src/config/model';
import type { AddressSpec, AddressTable } from '../../../src/takeover/iproute';
import type { FrameSocket } from '../../../src/takeover/rawsocket';
import type { InterfaceInfo } from '../../../src/takeover/vips';

export type Event =
  | { kind: 'frame'; device: string; frame: Buffer }
  | { kind: 'add' | 'del'; spec: AddressSpec };

/** An address table over plain data; every add/del is recorded in `events` (shared with the sockets). */
export class FakeAddressTable implements AddressTable {
  /** Set to delay add/del (ms of fake time) — 0 resolves on the next microtask. */
  constructor(
    readonly interfaces: InterfaceInfo[],
    readonly events: Event[],
  ) {}
  calls = { list: 0, add: 0, del: 0 };
  async list(): Promise<InterfaceInfo[]> {
    this.calls.list++;
    return structuredClone(this.interfaces);
  }
  async add(spec: AddressSpec): Promise<'added' | 'present'> {
    this.calls.add++;
    this.events.push({ kind: 'add', spec });
    const i = this.interfaces.find((x) => x.device === spec.device);
    if (!i) throw new Error(`Cannot find device "${spec.device}"`);
    if (i.addresses.some((a) => a.address === spec.address && a.prefixLength === spec.prefixLength))
      return 'present';
    i.addresses.push({
      device: spec.device,
      address: spec.address,
      prefixLength: spec.prefixLength,
      family: spec.family,
      ...(spec.label ? { label: spec.label } : {}),
    });
    return 'added';
  }
  async del(spec: AddressSpec): Promise<'removed' | 'absent'> {
    this.calls.del++;
    this.events.push({ kind: 'del', spec });
    const i = this.interfaces.find((x) => x.device === spec.device);
    const idx =
      i?.addresses.findIndex((a) => a.address === spec.address && a.prefixLength === spec.prefixLength) ?? -1;
    if (!i || idx < 0) return 'absent';
    i.addresses.splice(idx, 1);
    return 'removed';
  }
  async routeDevice(): Promise<string | undefined> {
    return undefined;
  }
  has(address: string, device?: string): boolean {
    return this.interfaces.some(
      (i) => (!device || i.device === device) && i.addresses.some((a) => a.address === address),
    );
  }
}

export function fakeSocketFactory(events: Event[], opened: string[] = []) {
  return (device: string): FrameSocket => {
    opened.push(device);
    const mac = Uint8Array.from([2, 0, 0, 0, 0, opened.length]);
    let closed = false;
    return {
      device,
      mac,
      send(frame) {
        if (closed) throw new Error('closed');
        events.push({ kind: 'frame', device, frame: Buffer.from(frame) });
      },
      warm() {},
      close() {
        closed = true;
      },
    };
  };
}

/** Router r1 of the standard lab: eth0 198.18.0.11/24, eth1 198.18.1.11/24, lo. */
export function labInterfaces(): InterfaceInfo[] {
  return [
    {
      device: 'lo',
      ifindex: 1,
      up: true,
      loopback: true,
      addresses: [{ device: 'lo', address: '127.0.0.1', prefixLength: 8, family: 4 }],
    },
    {
      device: 'eth0',
      ifindex: 2,
      up: true,
      loopback: false,
      mac: '02:00:00:00:00:01',
      addresses: [{ device: 'eth0', address: '198.18.0.11', prefixLength: 24, family: 4 }],
    },
    {
      device: 'eth1',
      ifindex: 3,
      up: true,
      loopback: false,
      mac: '02:00:00:00:00:02',
      addresses: [
        { device: 'eth1', address: '198.18.1.11', prefixLength: 24, family: 4 },
        { device: 'eth1', address: '2001:db8:1::11', prefixLength: 64, family: 6 },
      ],
    },
  ];
}

export const ANNOUNCE: AnnounceConfig = {
  count: 3,
  intervalMs: 100,
  repeatDelayMs: 0,
  repeatCount: 0,
  refreshMs: 0,
  form: 'request',
};

export function virtualServer(
  name: string,
  address: string,
  extra: Partial<VirtualServer> = {},
): VirtualServer {
  return virtualServerConfig(name, address, { vip: { address, prefixLength: 24 }, ...extra });
}

/** A minimal complete model; override what a test needs. */
export function model(over: Partial<LvsModel> = {}): LvsModel {
  return baseModel({
    backup: { address: '198.18.0.12', priority: 100 },
    backupActive: true,
    announce: ANNOUNCE,
    network: 'direct',
    hooks: { timeoutMs: 1000 },
    virtualServers: [
      virtualServer('web', '198.18.0.10', {
        vip: { address: '198.18.0.10', device: 'eth0', label: 'eth0:1', prefixLength: 24 },
      }),
    ],
    ...over,
  });
}
