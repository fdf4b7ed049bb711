/**
 * The iproute2 edge: list, add and delete interface addresses with `ip` (run by src/lib/run.ts: argument
 * arrays, never a shell), and ask the kernel which interface routes to an address.
 *
 * Idempotent by construction: adding an address that is already there ("Address already assigned") counts
 * as present and changes nothing; deleting one that is not there counts as absent. Nothing here replaces an
 * address (`ip addr replace` would churn it).
 */
import { describeOutcome, runProgram } from '../lib/run';
import type { InterfaceAddress, InterfaceInfo } from './vips';

/** An address to put on (or take off) an interface. */
export interface AddressSpec {
  address: string;
  family: 4 | 6;
  prefixLength: number;
  device: string;
  /** IPv4 only: iproute2 label (`eth0:1`); must start with the device name. */
  label?: string;
}

/** What the takeover needs from the system's address table (tests inject a fake). */
export interface AddressTable {
  /** Every interface with its addresses. */
  list(): Promise<InterfaceInfo[]>;
  /** Adds `spec`; `present` when it was already there. */
  add(spec: AddressSpec): Promise<'added' | 'present'>;
  /** Deletes `spec`; `absent` when it was not there. */
  del(spec: AddressSpec): Promise<'removed' | 'absent'>;
  /** The interface the kernel would send to `address` from (not `lo`), or undefined. */
  routeDevice(address: string): Promise<string | undefined>;
}

/** Runs a program, resolving with stdout; rejects with an Error carrying stderr. */
export type Runner = (file: string, args: string[]) => Promise<string>;

/** The default runner: the one process runner (src/lib/run.ts) with a 10 s timeout and a 16 MiB output cap. */
export const execRunner: Runner = async (file, args) => {
  const r = await runProgram(file, args, { timeoutMs: 10_000, maxOutputBytes: 16 << 20 });
  if (r.code === 0) return r.stdout;
  const detail = describeOutcome(r, 10_000);
  throw Object.assign(new Error(`${file} ${args.join(' ')}: ${detail}`), { stderr: r.stderr });
};

/** `ip` arguments that add `spec` (no shell; IPv6 with `nodad` so the VIP is usable at once). */
export function addArgs(spec: AddressSpec): string[] {
  const cidr = `${spec.address}/${spec.prefixLength}`;
  if (spec.family === 6) return ['-6', 'addr', 'add', cidr, 'dev', spec.device, 'nodad'];
  const args = ['-4', 'addr', 'add', cidr, 'dev', spec.device];
  if (spec.prefixLength <= 30) args.push('broadcast', '+');
  if (spec.label && spec.label !== spec.device) args.push('label', spec.label);
  return args;
}

/** `ip` arguments that delete `spec`. */
export function delArgs(spec: AddressSpec): string[] {
  return [
    spec.family === 6 ? '-6' : '-4',
    'addr',
    'del',
    `${spec.address}/${spec.prefixLength}`,
    'dev',
    spec.device,
  ];
}

/**
 * Parses `ip -json addr show` output defensively: entries that are not what we expect are skipped, never
 * trusted. Throws only when the text is not JSON at all.
 */
export function parseIpAddrJson(text: string): InterfaceInfo[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`ip -json addr show: output is not JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(data)) throw new Error('ip -json addr show: output is not a JSON array');
  const out: InterfaceInfo[] = [];
  for (const raw of data) {
    if (typeof raw !== 'object' || raw === null) continue;
    const r = raw as Record<string, unknown>;
    if (typeof r.ifname !== 'string' || typeof r.ifindex !== 'number') continue;
    const flags = Array.isArray(r.flags) ? r.flags.filter((f): f is string => typeof f === 'string') : [];
    const addresses: InterfaceAddress[] = [];
    for (const a of Array.isArray(r.addr_info) ? r.addr_info : []) {
      if (typeof a !== 'object' || a === null) continue;
      const ai = a as Record<string, unknown>;
      if (ai.family !== 'inet' && ai.family !== 'inet6') continue;
      if (typeof ai.local !== 'string' || typeof ai.prefixlen !== 'number') continue;
      addresses.push({
        device: r.ifname,
        address: ai.local,
        prefixLength: ai.prefixlen,
        family: ai.family === 'inet' ? 4 : 6,
        ...(typeof ai.label === 'string' ? { label: ai.label } : {}),
        ...(ai.secondary === true ? { secondary: true } : {}),
      });
    }
    out.push({
      device: r.ifname,
      ifindex: r.ifindex,
      ...(typeof r.address === 'string' ? { mac: r.address } : {}),
      up: flags.includes('UP'),
      loopback: flags.includes('LOOPBACK') || r.link_type === 'loopback',
      addresses,
    });
  }
  return out;
}

const ALREADY = /already assigned|File exists/i;
const NOT_THERE = /Address not found|Cannot assign requested address|No such process/i;

/** The AddressTable backed by the `ip` command. */
export class IpRoute implements AddressTable {
  constructor(
    private readonly run: Runner = execRunner,
    private readonly ip = 'ip',
  ) {}

  async list(): Promise<InterfaceInfo[]> {
    return parseIpAddrJson(await this.run(this.ip, ['-json', 'addr', 'show']));
  }

  async add(spec: AddressSpec): Promise<'added' | 'present'> {
    try {
      await this.run(this.ip, addArgs(spec));
      return 'added';
    } catch (err) {
      if (ALREADY.test(String((err as { stderr?: string }).stderr ?? (err as Error).message)))
        return 'present';
      throw err;
    }
  }

  async del(spec: AddressSpec): Promise<'removed' | 'absent'> {
    try {
      await this.run(this.ip, delArgs(spec));
      return 'removed';
    } catch (err) {
      if (NOT_THERE.test(String((err as { stderr?: string }).stderr ?? (err as Error).message)))
        return 'absent';
      throw err;
    }
  }

  async routeDevice(address: string): Promise<string | undefined> {
    let text: string;
    try {
      text = await this.run(this.ip, ['-json', 'route', 'get', address]);
    } catch {
      return undefined; // unreachable: no route
    }
    try {
      const data = JSON.parse(text) as unknown;
      const first = Array.isArray(data) ? (data[0] as Record<string, unknown> | undefined) : undefined;
      const dev = first?.dev;
      if (typeof dev !== 'string' || dev === 'lo' || first?.type === 'local') return undefined;
      return dev;
    } catch {
      return undefined;
    }
  }
}
