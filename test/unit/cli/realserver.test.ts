import assert from 'node:assert/strict';
import { applyRealServerPlan, formatRealServerPlan, realServerPlan } from '../../../src/cli/realserver';

describe('cli/realserver: DR/TUN real server plan', () => {
  it('DR: sysctls then VIP on lo as a /32', () => {
    const plan = realServerPlan({ mode: 'dr', vips: ['198.18.0.10'] });
    assert.deepEqual(
      plan.steps.map((s) => [s.file, ...s.args].join(' ')),
      [
        'sysctl -w net.ipv4.conf.all.arp_ignore=1',
        'sysctl -w net.ipv4.conf.all.arp_announce=2',
        'sysctl -w net.ipv4.conf.lo.arp_ignore=1',
        'sysctl -w net.ipv4.conf.lo.arp_announce=2',
        'ip -4 addr add 198.18.0.10/32 dev lo label lo:lvs',
      ],
    );
    assert.match(plan.sysctlConf, /net\.ipv4\.conf\.all\.arp_ignore = 1/);
    assert.match(formatRealServerPlan(plan), /# reply to ARP only/);
  });

  it('TUN: ipip, rp_filter off, VIP on tunl0; IPv6 on ip6tnl0', () => {
    const cmds = realServerPlan({ mode: 'tun', vips: ['198.18.0.10', '2001:db8::10'] }).steps.map((s) =>
      [s.file, ...s.args].join(' '),
    );
    for (const c of [
      'modprobe ipip',
      'sysctl -w net.ipv4.conf.tunl0.rp_filter=0',
      'sysctl -w net.ipv4.conf.all.rp_filter=0',
      'ip link set tunl0 up',
      'ip -4 addr add 198.18.0.10/32 dev tunl0',
      'modprobe ip6_tunnel',
      'ip -6 addr add 2001:db8::10/128 dev ip6tnl0 nodad',
    ]) {
      assert.ok(cmds.includes(c), c);
    }
    assert.ok(cmds.indexOf('modprobe ipip') < cmds.indexOf('sysctl -w net.ipv4.conf.tunl0.rp_filter=0'));
  });

  it('rejects a bad VIP; apply tolerates "already assigned" and reports real failures', async () => {
    assert.throws(() => realServerPlan({ mode: 'dr', vips: ['nope'] }), /--vip "nope" is not an IP address/);
    const plan = realServerPlan({ mode: 'dr', vips: ['198.18.0.10'] });
    const res = await applyRealServerPlan(plan, async (file) =>
      file === 'ip'
        ? { ok: false, stderr: 'Error: ipv4: Address already assigned.' }
        : { ok: false, stderr: 'permission denied' },
    );
    assert.equal(res.at(-1)!.note, 'already present');
    assert.equal(res.filter((r) => !r.ok).length, 4);
  });
});
