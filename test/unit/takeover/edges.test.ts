import assert from 'node:assert/strict';
import { MemoryLog } from '../../../src/lib/log';
import { execHook, Hooks, splitCommand } from '../../../src/takeover/hooks';
import { addArgs, delArgs, IpRoute, parseIpAddrJson } from '../../../src/takeover/iproute';
import { connectedDevice, floatingAddresses } from '../../../src/takeover/vips';
import { labInterfaces, model, virtualServer } from './support';

const IP_JSON = JSON.stringify([
  {
    ifindex: 1,
    ifname: 'lo',
    flags: ['LOOPBACK', 'UP'],
    link_type: 'loopback',
    addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, label: 'lo' }],
  },
  {
    ifindex: 3,
    ifname: 'eth0',
    flags: ['BROADCAST', 'UP'],
    link_type: 'ether',
    address: '56:f5:48:08:9d:23',
    addr_info: [
      { family: 'inet', local: '198.18.0.11', prefixlen: 24, label: 'eth0' },
      { family: 'inet', local: '198.18.0.10', prefixlen: 24, secondary: true, label: 'eth0:1' },
      { family: 'inet6', local: 'fe80::54f5:48ff:fe08:9d23', prefixlen: 64, scope: 'link' },
      { family: 'inet', local: 42, prefixlen: 24 }, // malformed: skipped
    ],
  },
  { ifname: 'weird' }, // no ifindex: skipped
  'garbage',
]);

describe('takeover/iproute: parsing and arguments', () => {
  it('parses ip -json addr show defensively', () => {
    const ifs = parseIpAddrJson(IP_JSON);
    assert.deepEqual(
      ifs.map((i) => i.device),
      ['lo', 'eth0'],
    );
    assert.equal(ifs[0]!.loopback, true);
    assert.equal(ifs[1]!.mac, '56:f5:48:08:9d:23');
    assert.deepEqual(ifs[1]!.addresses[1], {
      device: 'eth0',
      address: '198.18.0.10',
      prefixLength: 24,
      family: 4,
      label: 'eth0:1',
      secondary: true,
    });
    assert.equal(ifs[1]!.addresses.length, 3);
    assert.throws(() => parseIpAddrJson('nope'), /not JSON/);
  });

  it('builds add/del arguments: label, broadcast, nodad; never a shell string', () => {
    assert.deepEqual(
      addArgs({ address: '198.18.0.10', family: 4, prefixLength: 24, device: 'eth0', label: 'eth0:1' }),
      ['-4', 'addr', 'add', '198.18.0.10/24', 'dev', 'eth0', 'broadcast', '+', 'label', 'eth0:1'],
    );
    assert.deepEqual(addArgs({ address: '198.18.0.10', family: 4, prefixLength: 32, device: 'eth0' }), [
      '-4',
      'addr',
      'add',
      '198.18.0.10/32',
      'dev',
      'eth0',
    ]);
    assert.deepEqual(
      addArgs({ address: '2001:db8::10', family: 6, prefixLength: 64, device: 'eth0', label: 'x' }),
      ['-6', 'addr', 'add', '2001:db8::10/64', 'dev', 'eth0', 'nodad'],
    );
    assert.deepEqual(delArgs({ address: '198.18.0.10', family: 4, prefixLength: 24, device: 'eth0' }), [
      '-4',
      'addr',
      'del',
      '198.18.0.10/24',
      'dev',
      'eth0',
    ]);
  });

  it('treats "already assigned" as present and "not found" as absent; other errors reject', async () => {
    const ip = new IpRoute(async (_f, args) => {
      const e = (msg: string) => Object.assign(new Error(msg), { stderr: msg });
      if (args.includes('198.18.0.10/24') && args.includes('add'))
        throw e('Error: ipv4: Address already assigned.');
      if (args.includes('198.18.0.10/24') && args.includes('del')) throw e('Error: ipv4: Address not found.');
      if (args.includes('route')) return '[{"type":"local","dst":"198.18.0.10","dev":"lo"}]';
      throw e('Cannot find device "eth9"');
    });
    const spec = { address: '198.18.0.10', family: 4 as const, prefixLength: 24, device: 'eth0' };
    assert.equal(await ip.add(spec), 'present');
    assert.equal(await ip.del(spec), 'absent');
    await assert.rejects(ip.add({ ...spec, device: 'eth9', address: '198.18.0.9' }), /Cannot find device/);
    assert.equal(await ip.routeDevice('198.18.0.10'), undefined);
  });
});

describe('takeover/vips: floating addresses and devices', () => {
  it('virtual server VIPs deduplicated, inactive ones skipped, nat_router only in NAT mode', () => {
    const m = model({
      natRouter: { address: '198.18.1.1', prefixLength: 24 },
      virtualServers: [
        virtualServer('a', '198.18.0.10'),
        virtualServer('b', '198.18.0.10', { vip: { address: '198.18.0.10', prefixLength: 32 } }),
        virtualServer('c', '198.18.0.20', { active: false }),
      ],
    });
    const direct = floatingAddresses(m);
    assert.deepEqual(
      direct.vips.map((v) => v.address),
      ['198.18.0.10'],
    );
    assert.match(direct.warnings[0]!, /virtual b: VIP 198\.18\.0\.10 also in virtual a/);
    const nat = floatingAddresses({ ...m, network: 'nat' });
    assert.deepEqual(
      nat.vips.map((v) => `${v.address} ${v.source}`),
      ['198.18.0.10 virtual a', '198.18.1.1 nat_router'],
    );
  });

  it('connectedDevice: longest connected prefix, never lo, IPv6 too', () => {
    const ifs = labInterfaces();
    assert.equal(connectedDevice('198.18.0.10', ifs), 'eth0');
    assert.equal(connectedDevice('198.18.1.1', ifs), 'eth1');
    assert.equal(connectedDevice('2001:db8:1::10', ifs), 'eth1');
    assert.equal(connectedDevice('127.0.0.5', ifs), undefined);
    assert.equal(connectedDevice('203.0.113.1', ifs), undefined);
  });
});

describe('takeover/hooks: Piranha-style command hooks', () => {
  it('splits on whitespace only (no quoting, no shell)', () => {
    assert.deepEqual(splitCommand('  /usr/bin/logger -t "lvs  pulse" $HOME  '), [
      '/usr/bin/logger',
      '-t',
      '"lvs',
      'pulse"',
      '$HOME',
    ]);
  });

  it('runs a real program, logs its output; failures and timeouts are logged, never thrown', async function () {
    this.timeout(10_000);
    const log = new MemoryLog();
    // Small system programs (fast to start even on a loaded machine): echo prints its arguments, false
    // exits 1, tail -f never ends (and gets "active"/"inactive" + reason as extra file names).
    const hooks = new Hooks({
      hooks: {
        activeCmd: '/bin/echo up  now',
        inactiveCmd: '/bin/false',
        notifyCmd: '/usr/bin/tail -f /dev/null',
        timeoutMs: 1500,
      },
      log,
      exec: execHook,
    });
    await hooks.transition('active', 'peer dead');
    await hooks.transition('inactive', 'stop');
    const msgs = log.records.map((r) => `${r.level} ${r.msg}`);
    assert.deepEqual(msgs, [
      'info active_cmd ran',
      'error notify_cmd timed out and was killed',
      'warn inactive_cmd failed',
      'error notify_cmd timed out and was killed',
    ]);
    assert.equal(log.records[0]!.fields.stdout, 'up now'); // split on whitespace, no extra args
    assert.equal(log.records[2]!.fields.code, 1);
    assert.match(String(log.records[1]!.fields.command), /active peer dead$/);
    const missing = new Hooks({
      hooks: { activeCmd: '/nonexistent/hook', timeoutMs: 300 },
      log,
      exec: execHook,
    });
    await missing.transition('active', 'x');
    assert.match(log.records.at(-1)!.msg, /could not run/);
  });
});
