/**
 * conntrackd.conf from the sync plan (pure): a small tree of blocks and typed values, each value checked
 * against what conntrackd's lexer reads as that token (an address, a number, a name, an absolute path), so
 * no configured string is ever pasted into the file: a value that does not fit is refused with the reason,
 * it cannot open a block or end a line.
 */
import { addressFamily, canonicalIP } from '../lib/addr';
import type { ConntrackdConfig } from './sync-plan';

/** A value conntrackd cannot read as the token it must be. */
export class ConntrackdConfError extends Error {
  constructor(message: string) {
    super(`conntrackd.conf: ${message}`);
    this.name = 'ConntrackdConfError';
  }
}

/** One value of a line: a keyword/name, a number, an address, an absolute path or on/off. */
type Value =
  | { t: 'word'; v: string }
  | { t: 'int'; v: number }
  | { t: 'addr'; v: string }
  | { t: 'path'; v: string }
  | { t: 'onoff'; v: boolean };

/** A line (`Key value…`) or a block (`Key value… { … }`). */
interface Node {
  key: string;
  values: Value[];
  block?: Node[];
}

const word = (v: string): Value => {
  // conntrackd's `string` token: a letter, then letters, digits, '.', '-', '_'.
  if (!/^[A-Za-z][A-Za-z0-9._-]*$/.test(v))
    throw new ConntrackdConfError(`'${v}' is not a name conntrackd reads`);
  return { t: 'word', v };
};
const int = (v: number): Value => {
  if (!Number.isInteger(v) || v < 0 || v > 2 ** 31 - 1)
    throw new ConntrackdConfError(`${v} is not a number 0–2^31`);
  return { t: 'int', v };
};
const addr = (v: string, family?: 4 | 6): Value => {
  const c = canonicalIP(v);
  if (!c || (family && addressFamily(c) !== family))
    throw new ConntrackdConfError(`'${v}' is not an IPv${family ?? '4/6'} address`);
  return { t: 'addr', v: c };
};
/** An absolute path in conntrackd's `path` token: no white space, quotes or `#`; at most 107 bytes (sun_path). */
const path = (v: string): Value => {
  if (!/^\/[A-Za-z0-9._/+@%=,~-]*$/.test(v) || Buffer.byteLength(v) > 107)
    throw new ConntrackdConfError(
      `path '${v}' cannot be written (absolute, letters, digits and ._/+-@%=,~ only, ≤ 107 bytes)`,
    );
  return { t: 'path', v };
};
const onoff = (v: boolean): Value => ({ t: 'onoff', v });

const line = (key: string, ...values: Value[]): Node => ({ key: word(key).v as string, values });
const block = (key: string, values: Value[], children: Node[]): Node => ({
  key: word(key).v as string,
  values,
  block: children,
});

function renderValue(v: Value): string {
  switch (v.t) {
    case 'onoff':
      return v.v ? 'on' : 'off';
    case 'int':
      return String(v.v);
    default:
      return v.v;
  }
}

function render(nodes: Node[], depth = 0): string[] {
  const pad = '\t'.repeat(depth);
  const out: string[] = [];
  for (const n of nodes) {
    const head = [n.key, ...n.values.map(renderValue)].join(' ');
    if (n.block) {
      out.push(`${pad}${head} {`, ...render(n.block, depth + 1), `${pad}}`);
    } else out.push(`${pad}${head}`);
  }
  return out;
}

/** Where this conntrackd keeps its files (one set per pulse daemon: two can run in two namespaces). */
export interface ConntrackdFiles {
  lockFile: string;
  socket: string;
}

/** Sizes conntrackd needs: its hash limit should be twice nf_conntrack_max (conntrackd.conf(5)). */
export interface ConntrackdSizes {
  hashLimit: number;
}

/**
 * Renders conntrackd.conf. Throws {@link ConntrackdConfError} when a value cannot be written (the caller
 * reports it as the sync fault; nothing is started).
 */
export function conntrackdConf(c: ConntrackdConfig, files: ConntrackdFiles, sizes: ConntrackdSizes): string {
  const fam = c.family;
  const addrKey = fam === 4 ? 'IPv4_address' : 'IPv6_address';
  const ch = c.channel;
  const channel =
    ch.kind === 'udp'
      ? block(
          'UDP',
          [],
          [
            line(addrKey, addr(ch.self, fam)),
            line(fam === 4 ? 'IPv4_Destination_Address' : 'IPv6_Destination_Address', addr(ch.peer, fam)),
            line('Port', int(ch.port)),
            line('Interface', word(ch.iface)),
            line('SndSocketBuffer', int(1_249_280)),
            line('RcvSocketBuffer', int(1_249_280)),
            line('Checksum', onoff(true)),
          ],
        )
      : block(
          'Multicast',
          [],
          [
            line('IPv4_address', addr(ch.group, 4)),
            line('Group', int(ch.port)),
            line('IPv4_interface', addr(ch.self, 4)),
            line('Interface', word(ch.iface)),
            line('SndSocketBuffer', int(1_249_280)),
            line('RcvSocketBuffer', int(1_249_280)),
            line('Checksum', onoff(true)),
          ],
        );
  const mode =
    c.mode === 'ftfw'
      ? block('Mode', [word('FTFW')], [line('DisableExternalCache', onoff(false))])
      : block('Mode', [word('NOTRACK')], [line('DisableExternalCache', onoff(false))]);
  if (c.protocols.length === 0) throw new ConntrackdConfError('no protocol to sync');
  const tree: Node[] = [
    block('Sync', [], [mode, channel]),
    block(
      'General',
      [],
      [
        // Never systemd's: the daemon may run under a unit whose NOTIFY_SOCKET is not conntrackd's to use.
        line('Systemd', onoff(false)),
        line('HashSize', int(32_768)),
        line('HashLimit', int(Math.max(65_536, sizes.hashLimit))),
        line('LogFile', onoff(false)),
        line('Syslog', onoff(false)),
        line('LockFile', path(files.lockFile)),
        block('UNIX', [], [line('Path', path(files.socket))]),
        line('NetlinkBufferSize', int(2_097_152)),
        line('NetlinkBufferSizeMaxGrowth', int(8_388_608)),
        block(
          'Filter',
          [word('From'), word('Userspace')],
          [
            block(
              'Protocol',
              [word('Accept')],
              c.protocols.map((p) => line(word(p).v as string)),
            ),
            block(
              'Address',
              [word('Ignore')],
              c.ignore.map((a) => line(addressFamily(a) === 6 ? 'IPv6_address' : 'IPv4_address', addr(a))),
            ),
          ],
        ),
      ],
    ),
  ];
  return `# written by lvs-pulse from its configuration; rewritten at every start (docs/sync.md)\n${render(tree).join('\n')}\n`;
}
