import assert from 'node:assert/strict';
import { baseModel, realServerConfig, virtualServerConfig } from '../../../src/config/build';
import {
  REPLY_ROUTING_MARK,
  ReplyRouting,
  replyRoutingPlan,
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

  it('marks only untracked, non-SYN TCP from the real servers, in one replaceable table', () => {
    const r = replyRoutingRuleset(replyRoutingPlan(nat, 'primary')!);
    assert.match(
      r,
      /^table ip lvs_pulse_handoff\ndelete table ip lvs_pulse_handoff\ntable ip lvs_pulse_reply_routing\ndelete table ip lvs_pulse_reply_routing\n/,
      'the table of the earlier name goes in the same transaction',
    );
    assert.match(
      r,
      /iifname "eth1" ip saddr \{ 198\.18\.1\.21, 198\.18\.1\.22 \} ct state \{ new, invalid \} tcp flags & \(syn \| ack\) != syn meta mark set 19536/,
    );
    assert.equal(REPLY_ROUTING_MARK, 19536);
  });

  it('installs table, route, rule and no-redirects; removes them; a failing step is logged, not thrown', async () => {
    const calls: string[] = [];
    const log = new MemoryLog();
    const h = new ReplyRouting(log, async (file, args) => {
      calls.push([file, ...args].join(' '));
      return file === 'sysctl'
        ? { code: 1, stdout: '', stderr: 'read-only' }
        : { code: 0, stdout: '', stderr: '' };
    });
    await h.install(replyRoutingPlan(nat, 'primary')!);
    assert.deepEqual(calls, [
      'nft -f -',
      'ip route replace default via 198.18.1.12 dev eth1 table 19532',
      'ip rule del fwmark 19536 lookup 19532',
      'ip rule add fwmark 19536 lookup 19532 pref 19532',
      'sysctl -qw net.ipv4.conf.all.send_redirects=0',
      'sysctl -qw net.ipv4.conf.eth1.send_redirects=0',
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
