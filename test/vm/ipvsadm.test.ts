import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { prepareVm, runInVm, vmUnavailable } from '../../scripts/vm/vm';
import { need } from '../helpers/need';

interface GuestResult {
  checks: { name: string; ok: boolean; detail: string }[];
  timings: Record<string, number>;
}

describe('vm: ipvsadm backend against a real IPVS kernel (Debian kernel under qemu TCG)', function () {
  this.timeout(240000);
  let result: GuestResult | undefined;
  let failure = '';

  before(async function () {
    const why = vmUnavailable();
    if (why) {
      need(this, `${why}`);
    }
    const vm = await prepareVm();
    const r = await runInVm(vm, { script: resolve(__dirname, 'guest-ipvsadm.ts'), timeoutMs: 200000 });
    const text = r.results['result.json'];
    if (text) result = JSON.parse(text) as GuestResult;
    else
      failure = `no result.json (exit ${r.exitCode})\n${r.results['guest.log'] ?? ''}\n${r.console.slice(-3000)}`;
    console.log(
      `      VM run ${(r.wallMs / 1000).toFixed(1)} s; guest timings ${JSON.stringify(result?.timings ?? {})}`,
    );
  });

  it('the guest script ran and reported', () => {
    assert.ok(result, failure);
    assert.ok(result.checks.length >= 20, `only ${result.checks.length} checks reported`);
  });

  const names = [
    'backend is ipvsadm',
    'apply: verified without fault',
    'apply: -Ln shows NAT real servers 3 and 1',
    'apply: -Sn parses cleanly with 6 services (5 ours + foreign)',
    'apply: fwmark, IPv6, DR, TUN and persistence round-trip (re-read diff is empty)',
    'apply: sorry server out while real servers are up',
    'list: ipvsadm -Ln --exact parses to the same table as -Sn',
    'list: a missing service reads as "No such service"',
    'apply: --set timeouts',
    'sync daemon: master on priv syncid 7',
    'sync daemon: backup on priv syncid 7 too',
    'sync daemon: sysctls written (threshold 3 0, refresh 1 s)',
    'traffic: wrr 3:1 over 200 requests through IPVS gives 3:1 (±5 %)',
    'weight change: only -e lines, all options repeated',
    'weight change: the established connection stays on its real server',
    'weight change: NAT forwarding kept by -e (quiesced at weight 0)',
    'remove: one -d line, rs2 gone from the www service',
    'remove: new connections all go to rs1',
    'nanny verdict path: -R then only the touched service re-read (no full -Sn)',
    're-add: rs2 serves again',
    'sorry server in while no real server is',
    'reload: minimal diff (-A/-a new, -E changed, -D dropped; nothing else)',
    'reload: traffic after reload',
    'foreign service kept with its real server',
    'foreign counted and logged once',
    'never ipvsadm -C',
    'standby: master and backup sync daemons both still run',
    'sync stop: both sync daemons stopped',
    'standby: hot standby keeps the table',
    'clear: only the foreign service remains',
    'no child fault raised during the run',
    'no error logged',
  ];
  for (const name of names) {
    it(name, () => {
      assert.ok(result, failure);
      const c = result.checks.find((x) => x.name === name);
      assert.ok(
        c,
        `check "${name}" not reported; guest errors: ${JSON.stringify(result.checks.filter((x) => !x.ok))}`,
      );
      assert.ok(c.ok, `${name}: ${c.detail}`);
    });
  }

  it('every check the guest reported passed', () => {
    assert.ok(result, failure);
    assert.deepEqual(
      result.checks.filter((c) => !c.ok),
      [],
    );
  });
});
