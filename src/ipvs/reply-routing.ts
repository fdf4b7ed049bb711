/**
 * Reply routing for NAT mode on the nftables backend: replies of connections the *peer* NATed (real
 * server → client packets this router has no conntrack entry for) are routed to the peer, which still holds
 * their NAT state and rewrites them back to the VIP. Without it, a request in flight at a planned
 * switchover (a "handover": `pulsectl release`, a graceful stop) fails: the real server's gateway moved to
 * us, we would forward its reply un-NATed, and the client resets it. Our own connections are tracked here
 * and never match. It sits with the LB table because it is the reply half of what the nftables table does
 * for the client side (the shared flow hash, docs/lb.md).
 *
 * Marks: an nftables table `ip lvs_pulse_reply_routing` marks untracked (ct state new/invalid), non-SYN
 * TCP from the real servers; `ip rule fwmark 0x4c50 lookup 19532` routes them via the peer. ICMP redirects
 * are turned off on the real servers' interface, or the kernel would tell them to bypass us for the client.
 * (Earlier versions called this the connection "handoff", table `ip lvs_pulse_handoff`: the ruleset
 * deletes that table, so an upgraded router keeps no stale copy.)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LvsModel, NodeName } from '../config/model';
import { addressFamily, canonicalIP } from '../lib/addr';
import { interfaceNameProblem, ipv4ConfSysctlKey } from '../lib/ifname';
import type { Log } from '../lib/log';
import { type Exec, execProcess } from './exec';

/** The nftables table (family ip) that marks the peer's replies. */
export const REPLY_ROUTING_TABLE = 'lvs_pulse_reply_routing';
/** The table's earlier name (`handoff`), deleted by the ruleset when present. */
export const LEGACY_REPLY_ROUTING_TABLE = 'lvs_pulse_handoff';
/** The packet mark of a reply that belongs to the peer (`LP` in ASCII). */
export const REPLY_ROUTING_MARK = 0x4c50;
/** The routing table (and rule preference) that sends marked packets to the peer. */
export const REPLY_ROUTING_ROUTE_TABLE = 19532;

/** What reply routing installs: the real servers' interface, the peer's address, the NAT real servers. */
export interface ReplyRoutingPlan {
  device: string;
  peer: string;
  realServers: string[];
}

/**
 * What reply routing needs, or undefined when it does not apply: NAT mode with a device for the real
 * servers' gateway, a peer router, and IPv4 real servers.
 */
export function replyRoutingPlan(model: LvsModel, node: NodeName): ReplyRoutingPlan | undefined {
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

/**
 * The nft transaction installing (or replacing) the reply-routing table, and dropping the legacy one, as
 * nft's JSON input (`nft -j -f -`, nftables ≥ 0.9.3; checked with 1.0.6 in the lab). Every value from the
 * config is a JSON string or number in a fixed tree, so no device name or address can add a statement,
 * a rule or a comment: the structure is this function's alone. The device is matched by name, as
 * `iifname "eth1"` would.
 */
export function replyRoutingRuleset(p: ReplyRoutingPlan): string {
  const table = (name: string) => ({ table: { family: 'ip', name } });
  const payload = (protocol: string, field: string) => ({ payload: { protocol, field } });
  const doc = {
    nftables: [
      // `add` then `delete`: removes the table whether or not it exists, in the same transaction.
      { add: table(LEGACY_REPLY_ROUTING_TABLE) },
      { delete: table(LEGACY_REPLY_ROUTING_TABLE) },
      { add: table(REPLY_ROUTING_TABLE) },
      { delete: table(REPLY_ROUTING_TABLE) },
      { add: table(REPLY_ROUTING_TABLE) },
      {
        add: {
          chain: {
            family: 'ip',
            table: REPLY_ROUTING_TABLE,
            name: 'pre',
            type: 'filter',
            hook: 'prerouting',
            prio: -150, // mangle
            policy: 'accept',
          },
        },
      },
      {
        add: {
          rule: {
            family: 'ip',
            table: REPLY_ROUTING_TABLE,
            chain: 'pre',
            expr: [
              { match: { op: '==', left: { meta: { key: 'iifname' } }, right: p.device } },
              { match: { op: '==', left: payload('ip', 'saddr'), right: { set: [...p.realServers] } } },
              { match: { op: '==', left: { ct: { key: 'state' } }, right: { set: ['new', 'invalid'] } } },
              {
                match: {
                  op: '!=',
                  left: { '&': [payload('tcp', 'flags'), ['syn', 'ack']] },
                  right: 'syn',
                },
              },
              { mangle: { key: { meta: { key: 'mark' } }, value: REPLY_ROUTING_MARK } },
            ],
          },
        },
      },
    ],
  };
  return `${JSON.stringify(doc)}\n`;
}

/**
 * Why a plan cannot be installed, or undefined: the device must be an interface name (it reaches `ip`
 * and a sysctl key) and every address an IPv4 address in canonical form. The config refuses such values
 * already; this keeps the edge safe whatever built the plan.
 */
export function replyRoutingPlanProblem(p: ReplyRoutingPlan): string | undefined {
  const dev = interfaceNameProblem(p.device);
  if (dev !== undefined) return `device ${JSON.stringify(p.device)} ${dev}`;
  for (const a of [p.peer, ...p.realServers])
    if (addressFamily(a) !== 4 || canonicalIP(a) !== a) return `${JSON.stringify(a)} is not an IPv4 address`;
  return undefined;
}

/**
 * Applies nft JSON input as one transaction: `nft -j -f FILE`, from a file in a fresh private directory
 * (0700, removed after). Not `-f -`: in JSON mode nft opens /dev/stdin by name, which fails (ENXIO) on the
 * socket a spawned child's stdin is; and not the JSON as an argument, which a table of 10,000 real servers
 * would take past the kernel's 128 KiB limit for one argument.
 */
export async function nftJson(exec: Exec, json: string): Promise<{ code: number | null; stderr: string }> {
  let dir: string | undefined;
  try {
    dir = mkdtempSync(join(tmpdir(), 'lvs-pulse-nft-'));
    const file = join(dir, 'ruleset.json');
    writeFileSync(file, json, { mode: 0o600 });
    return await exec('nft', ['-j', '-f', file]);
  } catch (err) {
    return { code: null, stderr: `cannot write the nft input: ${(err as Error).message}` };
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Installs and removes reply routing on this router. Failures are logged, never thrown: it is a nicety
 * (without it a request in flight at a handover may fail; nothing else breaks).
 */
export class ReplyRouting {
  private installed = false;

  /** @param exec the process seam (default: the LB backends' runner with a 5 s timeout). */
  constructor(
    private readonly log: Log,
    private readonly exec: Exec = execProcess(5000),
  ) {}

  /** Installs (or replaces) the table, the route, the rule and the no-redirect sysctls for `p`. */
  async install(p: ReplyRoutingPlan): Promise<void> {
    const problem = replyRoutingPlanProblem(p);
    if (problem !== undefined) {
      this.log.error('reply routing not installed: bad plan', { op: 'reply-routing', error: problem });
      return;
    }
    const table = String(REPLY_ROUTING_ROUTE_TABLE);
    const mark = String(REPLY_ROUTING_MARK);
    const nft = await nftJson(this.exec, replyRoutingRuleset(p));
    if (nft.code !== 0)
      this.log.warn('reply routing step failed', {
        op: 'reply-routing',
        cmd: 'nft -j -f FILE',
        error: nft.stderr.trim() || `exit ${nft.code}`,
      });
    const steps: [string, string[], string?][] = [
      ['ip', ['route', 'replace', 'default', 'via', p.peer, 'dev', p.device, 'table', table]],
      ['ip', ['rule', 'del', 'fwmark', mark, 'lookup', table]],
      ['ip', ['rule', 'add', 'fwmark', mark, 'lookup', table, 'pref', table]],
      ['sysctl', ['-qw', `${ipv4ConfSysctlKey('all', 'send_redirects')}=0`]],
      ['sysctl', ['-qw', `${ipv4ConfSysctlKey(p.device, 'send_redirects')}=0`]],
    ];
    for (const [file, args, input] of steps) {
      const r = await this.exec(file, args, input);
      // Deleting a rule that is not there is expected to fail.
      if (r.code !== 0 && !(args[1] === 'del'))
        this.log.warn('reply routing step failed', {
          op: 'reply-routing',
          cmd: [file, ...args].join(' '),
          error: r.stderr.trim() || `exit ${r.code}`,
        });
    }
    this.installed = true;
    this.log.info('reply routing on: untracked replies of real servers go to the peer', {
      op: 'reply-routing',
      peer: p.peer,
      device: p.device,
    });
  }

  /** Removes what install() put in place; does nothing when it is not installed. */
  async remove(): Promise<void> {
    if (!this.installed) return;
    this.installed = false;
    const table = String(REPLY_ROUTING_ROUTE_TABLE);
    await this.exec('ip', ['rule', 'del', 'fwmark', String(REPLY_ROUTING_MARK), 'lookup', table]);
    await this.exec('ip', ['route', 'flush', 'table', table]);
    await this.exec('nft', ['delete', 'table', 'ip', REPLY_ROUTING_TABLE]);
    this.log.info('reply routing off', { op: 'reply-routing' });
  }
}
