/**
 * Connection handoff for NAT mode on the nftables backend: after a takeover, replies of connections the
 * *peer* NATed (real server → client packets this router has no conntrack entry for) are routed to the
 * peer, which still holds their NAT state and rewrites them back to the VIP. Without it, a request in flight
 * at a graceful switchover fails: the real server's gateway moved to us, and we would forward its reply
 * un-NATed, so the client resets it. Our own connections are tracked here and never match.
 *
 * Marks: an nftables table `ip lvs_pulse_handoff` marks untracked (ct state new/invalid), non-SYN TCP from
 * the real servers; `ip rule fwmark 0x4c50 lookup 19532` routes them via the peer. ICMP redirects are turned
 * off on the real servers' interface, or the kernel would tell them to bypass us for the client.
 */
import { execFile } from 'node:child_process';
import type { LvsModel, NodeName } from '../config/model';
import { addressFamily } from '../lib/addr';
import type { Log } from '../lib/log';

export const HANDOFF_TABLE = 'lvs_pulse_handoff';
export const HANDOFF_MARK = 0x4c50;
export const HANDOFF_ROUTE_TABLE = 19532;

export interface HandoffPlan {
  device: string;
  peer: string;
  realServers: string[];
}

/**
 * What the handoff needs, or undefined when it does not apply: NAT mode with a device for the real
 * servers' gateway, a peer router, and IPv4 real servers.
 */
export function handoffPlan(model: LvsModel, node: NodeName): HandoffPlan | undefined {
  if (model.network !== 'nat' || !model.natRouter?.device || !model.backup) return undefined;
  const peer = node === 'primary' ? model.backup : model.primary;
  const peerAddress = peer.privateAddress ?? peer.address;
  if (addressFamily(peerAddress) !== 4) return undefined;
  const realServers = [
    ...new Set(
      model.virtualServers
        .filter((v) => v.active)
        .flatMap((v) =>
          v.realServers.filter((r) => (r.forwarding ?? model.network) === 'nat').map((r) => r.address),
        )
        .filter((a) => addressFamily(a) === 4),
    ),
  ].sort();
  if (realServers.length === 0) return undefined;
  return { device: model.natRouter.device, peer: peerAddress, realServers };
}

/** The nft transaction installing (or replacing) the handoff table. */
export function handoffRuleset(p: HandoffPlan): string {
  return [
    `table ip ${HANDOFF_TABLE}`,
    `delete table ip ${HANDOFF_TABLE}`,
    `table ip ${HANDOFF_TABLE} {`,
    '  chain pre {',
    '    type filter hook prerouting priority mangle; policy accept;',
    `    iifname "${p.device}" ip saddr { ${p.realServers.join(', ')} } ct state { new, invalid } tcp flags & (syn | ack) != syn meta mark set ${HANDOFF_MARK}`,
    '  }',
    '}',
    '',
  ].join('\n');
}

type Run = (file: string, args: string[], input?: string) => Promise<{ ok: boolean; stderr: string }>;

const run: Run = (file, args, input) =>
  new Promise((resolve) => {
    const child = execFile(file, args, { timeout: 5000 }, (err, _out, stderr) =>
      resolve({ ok: !err, stderr: String(stderr).trim() || (err ? err.message : '') }),
    );
    if (input !== undefined) child.stdin?.end(input);
  });

/** Installs and removes the handoff on this router. Failures are logged, never thrown: it is a nicety. */
export class Handoff {
  private installed = false;

  constructor(
    private readonly log: Log,
    private readonly exec: Run = run,
  ) {}

  async install(p: HandoffPlan): Promise<void> {
    const steps: [string, string[], string?][] = [
      ['nft', ['-f', '-'], handoffRuleset(p)],
      [
        'ip',
        ['route', 'replace', 'default', 'via', p.peer, 'dev', p.device, 'table', String(HANDOFF_ROUTE_TABLE)],
      ],
      ['ip', ['rule', 'del', 'fwmark', String(HANDOFF_MARK), 'lookup', String(HANDOFF_ROUTE_TABLE)]],
      [
        'ip',
        [
          'rule',
          'add',
          'fwmark',
          String(HANDOFF_MARK),
          'lookup',
          String(HANDOFF_ROUTE_TABLE),
          'pref',
          String(HANDOFF_ROUTE_TABLE),
        ],
      ],
      ['sysctl', ['-qw', 'net.ipv4.conf.all.send_redirects=0']],
      ['sysctl', ['-qw', `net.ipv4.conf.${p.device}.send_redirects=0`]],
    ];
    for (const [file, args, input] of steps) {
      const r = await this.exec(file, args, input);
      // Deleting a rule that is not there is expected to fail.
      if (!r.ok && !(args[1] === 'del'))
        this.log.warn('connection handoff step failed', {
          op: 'handoff',
          cmd: [file, ...args].join(' '),
          error: r.stderr,
        });
    }
    this.installed = true;
    this.log.info('connection handoff on: untracked replies of real servers go to the peer', {
      op: 'handoff',
      peer: p.peer,
      device: p.device,
    });
  }

  async remove(): Promise<void> {
    if (!this.installed) return;
    this.installed = false;
    await this.exec('ip', [
      'rule',
      'del',
      'fwmark',
      String(HANDOFF_MARK),
      'lookup',
      String(HANDOFF_ROUTE_TABLE),
    ]);
    await this.exec('ip', ['route', 'flush', 'table', String(HANDOFF_ROUTE_TABLE)]);
    await this.exec('nft', ['delete', 'table', 'ip', HANDOFF_TABLE]);
    this.log.info('connection handoff off', { op: 'handoff' });
  }
}
