/**
 * Issue 17, item 1 on real nftables (network namespaces; needs root and nft): the NAT router device
 * `x";drop;#` was pasted into the reply-routing nft script as `iifname "${device}"`, which nft read as
 * `iifname "x"`, then an unconditional `drop` rule: every IPv4 packet into the router was dropped, and the
 * config carrying it loaded without a word. Now the config refuses the device at its line and column, and
 * the nft input is JSON, so even a plan holding that name cannot add a statement.
 *
 * Written against the interfaces main already had (loadConfig, ReplyRouting), so the same file fails on
 * main's code and passes on this branch.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ConfigError, loadConfig } from '../../../src/config';
import type { Exec } from '../../../src/ipvs/exec';
import { execProcess } from '../../../src/ipvs/exec';
import { ReplyRouting } from '../../../src/ipvs/reply-routing';
import { MemoryLog } from '../../../src/lib/log';
import { isRoot, Lab } from '../../../lab/netns';
import { need } from '../../helpers/need';

const DEVICE = 'x";drop;#';
const ROUTER = '198.18.0.1';
const CLIENT = '198.18.0.2';

const hasNft = (): boolean => {
  try {
    execFileSync('nft', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

describe('lab: an injected interface name cannot drop the router’s traffic (issue 17)', function () {
  this.timeout(60_000);
  let lab: Lab | undefined;
  let inRouter: Exec;

  /** Whether the client's ping reaches the router (one packet, 1 s). */
  const pingRouter = async (): Promise<boolean> => {
    try {
      await lab!.exec('c', 'ping', ['-c', '1', '-W', '1', ROUTER]);
      return true;
    } catch {
      return false;
    }
  };

  it('the config refuses the device at its line and column (lvs.cf)', () => {
    const text = [
      'primary = 198.18.0.11',
      'backup = 198.18.0.12',
      'network = nat',
      `nat_router = 198.18.1.1 ${DEVICE}`,
      'virtual web {',
      '  address = 198.18.0.10 eth0:1',
      '  server rs1 {',
      '    address = 198.18.1.21',
      '  }',
      '}',
      '',
    ].join('\n');
    let err: unknown;
    try {
      loadConfig('lvs.cf', text);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ConfigError, 'the config with the injected device must not load');
    const d = err.diagnostics.find((x) => x.severity === 'error');
    assert.ok(d, 'an error diagnostic');
    assert.deepEqual([d.line, d.col], [4, 25], d.message);
  });

  describe('on nftables in a namespace', () => {
    before(async function () {
      if (!isRoot()) need(this, 'needs root');
      need(this, hasNft() ? undefined : 'needs nft (apt-get install nftables)');
      lab = await Lab.create('si');
      await lab.addNs('sw');
      await lab.addBridge('sw', 'lan');
      await lab.addNs('r');
      await lab.addNs('c');
      await lab.connect('r', 'eth1', 'sw', 'lan', [`${ROUTER}/24`]);
      await lab.connect('c', 'eth0', 'sw', 'lan', [`${CLIENT}/24`]);
      inRouter = (file, args, input) =>
        execProcess()('ip', ['netns', 'exec', lab!.nsName('r'), file, ...args], input);
    });

    after(async () => {
      await lab?.destroy();
    });

    it('installing reply routing for that device leaves the router reachable', async () => {
      assert.equal(await pingRouter(), true, 'the router answers before reply routing is installed');
      const routing = new ReplyRouting(new MemoryLog(), inRouter);
      await routing.install({ device: DEVICE, peer: CLIENT, realServers: ['198.18.0.3'] });
      const ruleset = await inRouter('nft', ['list', 'ruleset']);
      assert.equal(
        await pingRouter(),
        true,
        `the router must still answer after reply routing for ${JSON.stringify(DEVICE)}; ruleset:\n${ruleset.stdout}`,
      );
      assert.doesNotMatch(ruleset.stdout, /^\s*drop\s*$/m, 'no rule of its own is a bare drop');
      await routing.remove();
    });

    it('a real device is installed through the real nft (the marking rule as written), and removed', async () => {
      const log = new MemoryLog();
      const routing = new ReplyRouting(log, inRouter);
      await routing.install({ device: 'eth1', peer: CLIENT, realServers: ['198.18.0.3', '198.18.0.4'] });
      assert.deepEqual(
        log.records.filter((r) => r.level !== 'info' && r.level !== 'debug').map((r) => r.fields),
        [],
        'every step of the install succeeded',
      );
      const t = await inRouter('nft', ['list', 'table', 'ip', 'lvs_pulse_reply_routing']);
      assert.equal(t.code, 0, t.stderr);
      assert.match(
        t.stdout,
        /iifname "eth1" ip saddr \{ 198\.18\.0\.3, 198\.18\.0\.4 \} ct state \{ invalid, new \} tcp flags != syn \/ syn,ack meta mark set 0x00004c50/,
      );
      const sysctl = await inRouter('sysctl', ['-n', 'net/ipv4/conf/eth1/send_redirects']);
      assert.equal(sysctl.stdout.trim(), '0');
      assert.equal(await pingRouter(), true);
      await routing.remove();
      const gone = await inRouter('nft', ['list', 'table', 'ip', 'lvs_pulse_reply_routing']);
      assert.notEqual(gone.code, 0, 'the table is removed');
    });
  });
});
