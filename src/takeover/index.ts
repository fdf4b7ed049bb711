/**
 * Takeover: claim and release the floating addresses (VIPs) of an LVS router pair — the folder's interface.
 *
 * One file per protocol, as MetalLB's layer2: `arp.ts` (gratuitous ARP frames) and `ndp.ts` (unsolicited
 * neighbour advertisements) build bytes; `announcer.ts` schedules bursts; `takeover.ts` orchestrates. The
 * edges that do I/O are named for what they talk to: `rawsocket.ts` (AF_PACKET), `netlink.ts` (rtnetlink
 * address add/del), `iproute.ts` (`ip -json`), `hooks.ts` (active/inactive/notify commands).
 * What a DR/TUN real server needs is `pulsectl realserver` (src/cli/realserver.ts); reply routing for NAT
 * switchovers sits with the LB table (src/ipvs/reply-routing.ts).
 */
export {
  Takeover,
  type TakeoverEdges,
  type TakeoverOptions,
  type TakeoverStatus,
  type VipStatus,
  type ReconcileResult,
} from './takeover';
export { parseIP } from '../lib/addr';
export { formatMac, parseMac } from './addr';
export { Announcer, type AnnounceSchedule, burstOffsets, type Timers } from './announcer';
export { ARP_FRAME_LENGTH, arpFrames, gratuitousArp } from './arp';
export { Hooks, splitCommand } from './hooks';
export { type AddressSpec, type AddressTable, IpRoute, parseIpAddrJson } from './iproute';
export { NetlinkAddresses } from './netlink';
export { NA_FRAME_LENGTH, unsolicitedNa } from './ndp';
export { type FrameSocket, openPacketSocket } from './rawsocket';
export { connectedDevice, floatingAddresses, type Vip } from './vips';
