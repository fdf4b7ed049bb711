import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { baseModel, realServerConfig, virtualServerConfig } from '../../../src/config/build';
import {
  REPLY_ROUTING_MARK,
  ReplyRouting,
  type ReplyRoutingPlan,
  replyRoutingPlan,
  replyRoutingPlanProblem,
  replyRoutingRuleset,
} from '../../../src/ipvs/reply-routing';
import { MemoryLog } from '../../../src/lib/log';

const nat = baseModel({
  primary: { address: '198.18.0.11', privateAddress: '198.18.1.11', priority: 200 },
  backup: { address: '198.18.0.12', privateAddress: '198.18.1.12', priority: 100 },
  backupActive: true,
  natRouter: { address: '198.18.1.1', device: 'eth1', prefixLength: 24 },
  virtualServers: [
    virtualServerConfig('web', '198.18.0.10', {
      realServers: [realServerConfig('rs2', '198.18.1.22'), realServerConfig('rs1', '198.18.1.21')],
    }),
    virtualServerConfig('dr', '198.18.0.20', {
      realServers: [realServerConfig('d1', '198.18.1.30', { forwarding: 'direct' })],
    }),
    virtualServerConfig('off', '198.18.0.30', {
      active: false,
      realServers: [realServerConfig('o1', '198.18.1.40')],
    }),
  ],
});

describe('ipvs: reply routing (NAT, nftables)', () => {
  it('routes to the peer on the private path, for the NAT real servers of active virtuals only', () => {
    assert.deepEqual(replyRoutingPlan(nat, 'primary'), {
      device: 'eth1',
      peer: '198.18.1.12',
      realServers: ['198.18.1.21', '198.18.1.22'],
    });
    assert.equal(replyRoutingPlan(nat, 'backup')?.peer, '198.18.1.11');
  });

  it('does not apply without NAT, a peer or a NAT gateway device', () => {
    assert.equal(replyRoutingPlan({ ...nat, network: 'direct' }, 'primary'), undefined);
    assert.equal(replyRoutingPlan({ ...nat, backup: undefined }, 'primary'), undefined);
    assert.equal(
      replyRoutingPlan({ ...nat, natRouter: { address: '198.18.1.1', prefixLength: 24 } }, 'primary'),
      undefined,
    );
  });

  it('marks only untracked, non-SYN TCP from the real servers, in one replaceable table (nft JSON input)', () => {
    const doc = JSON.parse(replyRoutingRuleset(replyRoutingPlan(nat, 'primary')!)) as { nftables: unknown[] };
    const table = (name: string) => ({ table: { family: 'ip', name } });
    assert.deepEqual(
      doc.nftables.slice(0, 5),
      [
        { add: table('lvs_pulse_handoff') },
        { delete: table('lvs_pulse_handoff') },
        { add: table('lvs_pulse_reply_routing') },
        { delete: table('lvs_pulse_reply_routing') },
        { add: table('lvs_pulse_reply_routing') },
      ],
      'the table of the earlier name goes in the same transaction',
    );
    assert.deepEqual(doc.nftables.slice(5), [
      {
        add: {
          chain: {
            family: 'ip',
            table: 'lvs_pulse_reply_routing',
            name: 'pre',
            type: 'filter',
            hook: 'prerouting',
            prio: -150,
            policy: 'accept',
          },
        },
      },
      {
        add: {
          rule: {
            family: 'ip',
            table: 'lvs_pulse_reply_routing',
            chain: 'pre',
            expr: [
              { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'eth1' } },
              {
                match: {
                  op: '==',
                  left: { payload: { protocol: 'ip', field: 'saddr' } },
                  right: { set: ['198.18.1.21', '198.18.1.22'] },
                },
              },
              { match: { op: '==', left: { ct: { key: 'state' } }, right: { set: ['new', 'invalid'] } } },
              {
                match: {
                  op: '!=',
                  left: { '&': [{ payload: { protocol: 'tcp', field: 'flags' } }, ['syn', 'ack']] },
                  right: 'syn',
                },
              },
              { mangle: { key: { meta: { key: 'mark' } }, value: 19536 } },
            ],
          },
        },
      },
    ]);
    assert.equal(REPLY_ROUTING_MARK, 19536);
  });

  it('a hostile device name stays one JSON string: the structure is the same for every value', () => {
    const shape = (device: string) =>
      replyRoutingRuleset({ device, peer: '198.18.1.12', realServers: ['198.18.1.21'] }).replace(
        JSON.stringify(device),
        '"DEV"',
      );
    const base = shape('eth1');
    for (const device of ['x";drop;#', 'a\nb', '}{', 'x" } chain', '../x', 'a b', '"', '\\']) {
      assert.equal(shape(device), base, device);
      // and the value nft receives is the name, byte for byte
      const doc = JSON.parse(replyRoutingRuleset({ device, peer: '198.18.1.12', realServers: [] }));
      assert.equal(doc.nftables[6].add.rule.expr[0].match.right, device);
    }
  });

  it('refuses a plan whose device or addresses could not be passed to ip or sysctl as they are', async () => {
    assert.equal(replyRoutingPlanProblem(replyRoutingPlan(nat, 'primary')!), undefined);
    const bad: ReplyRoutingPlan[] = [
      { device: 'x";drop;#', peer: '198.18.1.12', realServers: ['198.18.1.21'] },
      { device: '..', peer: '198.18.1.12', realServers: ['198.18.1.21'] },
      { device: 'eth1/x', peer: '198.18.1.12', realServers: ['198.18.1.21'] },
      { device: '-f', peer: '198.18.1.12', realServers: ['198.18.1.21'] },
      { device: 'eth1', peer: '198.18.1.12 dev lo', realServers: ['198.18.1.21'] },
      { device: 'eth1', peer: '198.18.1.12', realServers: ['198.18.1.21, 0.0.0.0/0'] },
    ];
    for (const p of bad) {
      assert.ok(replyRoutingPlanProblem(p), JSON.stringify(p));
      const calls: string[] = [];
      const log = new MemoryLog();
      await new ReplyRouting(log, async (file, args) => {
        calls.push([file, ...args].join(' '));
        return { code: 0, stdout: '', stderr: '' };
      }).install(p);
      assert.deepEqual(calls, [], `nothing runs for ${JSON.stringify(p)}`);
      assert.equal(log.records.filter((r) => r.level === 'error').length, 1);
    }
  });

  it('writes the sysctl of a VLAN device in the / form (the . form splits eth1.100 into two steps)', async () => {
    const calls: string[] = [];
    await new ReplyRouting(new MemoryLog(), async (file, args) => {
      calls.push([file, ...args].join(' '));
      return { code: 0, stdout: '', stderr: '' };
    }).install({ device: 'eth1.100', peer: '198.18.1.12', realServers: ['198.18.1.21'] });
    assert.ok(calls.includes('sysctl -qw net/ipv4/conf/eth1.100/send_redirects=0'), calls.join('\n'));
  });

  it('installs table, route, rule and no-redirects; removes them; a failing step is logged, not thrown', async () => {
    const calls: string[] = [];
    const log = new MemoryLog();
    let nftInput = '';
    const h = new ReplyRouting(log, async (file, args) => {
      calls.push([file, ...args].join(' '));
      if (file === 'nft' && args[0] === '-j') nftInput = readFileSync(args[2]!, 'utf8');
      return file === 'sysctl'
        ? { code: 1, stdout: '', stderr: 'read-only' }
        : { code: 0, stdout: '', stderr: '' };
    });
    await h.install(replyRoutingPlan(nat, 'primary')!);
    // nft JSON input from a private file (nft opens /dev/stdin by name in JSON mode: a socket fails)
    const nftFile = calls[0]!.replace(/^nft -j -f /, '');
    assert.match(nftFile, /\/lvs-pulse-nft-[^/]+\/ruleset\.json$/);
    assert.equal(nftInput, replyRoutingRuleset(replyRoutingPlan(nat, 'primary')!));
    assert.equal(existsSync(nftFile), false, 'the input file is removed after');
    assert.deepEqual(calls, [
      `nft -j -f ${nftFile}`,
      'ip route replace default via 198.18.1.12 dev eth1 table 19532',
      'ip rule del fwmark 19536 lookup 19532',
      'ip rule add fwmark 19536 lookup 19532 pref 19532',
      'sysctl -qw net/ipv4/conf/all/send_redirects=0',
      'sysctl -qw net/ipv4/conf/eth1/send_redirects=0',
    ]);
    const warns = log.records.filter((r) => r.level === 'warn');
    assert.equal(warns.length, 2);
    assert.ok(warns.every((w) => w.fields.op === 'reply-routing' && w.fields.error === 'read-only'));
    calls.length = 0;
    await h.remove();
    assert.deepEqual(calls, [
      'ip rule del fwmark 19536 lookup 19532',
      'ip route flush table 19532',
      'nft delete table ip lvs_pulse_reply_routing',
    ]);
    calls.length = 0;
    await h.remove();
    assert.deepEqual(calls, [], 'removing twice does nothing');
  });
});
