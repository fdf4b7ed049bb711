import assert from 'node:assert/strict';
import sinon from 'sinon';
import { type LbFault, LbTable } from '../../../src/ipvs';
import { MemoryLog } from '../../../src/lib/log';
import { FakeIpvs } from './fake-ipvsadm';
import { model, vs } from './fixture';

describe('ipvs/LbTable with the ipvsadm driver (fake kernel)', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => clock.restore());

  async function make(extra: Parameters<typeof model>[1] = {}, k = new FakeIpvs()) {
    const log = new MemoryLog();
    const m = model([vs('www', { sorryServer: { address: '198.18.1.99', port: 80 } })], extra);
    const lb = new LbTable({ model: m, log, backend: 'ipvsadm', exec: k.exec });
    await lb.init();
    return { lb, k, log, m };
  }

  it('coalesces a burst of setWeight calls into one ipvsadm -R', async () => {
    const { lb, k } = await make();
    for (let i = 1; i <= 50; i++) lb.setWeight('www', 'rs1', i);
    lb.setWeight('www', 'rs2', 1);
    assert.equal(k.calls.length, 0, 'nothing runs before the coalescing window ends');
    await clock.tickAsync(25);
    assert.equal(k.calls.filter((c) => c.args[0] === '-R').length, 1);
    assert.deepEqual(k.restoreLines(), [
      '-A -t 198.18.0.10:80 -s wlc',
      '-a -t 198.18.0.10:80 -r 198.18.1.21:80 -m -w 50',
      '-a -t 198.18.0.10:80 -r 198.18.1.22:80 -m -w 1',
    ]);
    assert.equal(lb.status().services[0]!.reals[0]!.weight, 50);
    assert.equal(lb.status().services[0]!.reals[0]!.name, 'rs1');
  });

  it('weight change = one -e with all options; the NAT forwarding survives; sorry server in/out', async () => {
    const { lb, k } = await make();
    lb.setWeight('www', 'rs1', 3);
    await lb.reconcile();
    lb.setWeight('www', 'rs1', 0);
    await lb.reconcile();
    assert.deepEqual(k.restoreLines().slice(-2), [
      '-a -t 198.18.0.10:80 -r 198.18.1.99:80 -m -w 1',
      '-e -t 198.18.0.10:80 -r 198.18.1.21:80 -m -w 0',
    ]);
    assert.match(k.save(), /198\.18\.1\.21:80 -m -w 0/);
    assert.deepEqual(lb.status().sorryIn, ['www']);
    lb.setWeight('www', 'rs1', 2);
    await lb.reconcile();
    assert.deepEqual(k.restoreLines().slice(-2), [
      '-e -t 198.18.0.10:80 -r 198.18.1.21:80 -m -w 2',
      '-d -t 198.18.0.10:80 -r 198.18.1.99:80',
    ]);
    assert.deepEqual(lb.status().sorryIn, []);
    assert.ok(!k.calls.some((c) => c.args.includes('-C') || (c.input ?? '').includes('-C')));
  });

  it('keeps a foreign service, logs it once, counts it; clear() removes only ours', async () => {
    const k = new FakeIpvs();
    k.line(['-A', '-u', '198.18.0.77:53', '-s', 'rr']);
    const { lb, log } = await make({}, k);
    lb.setWeight('www', 'rs1', 1);
    await lb.reconcile();
    await lb.reconcile();
    assert.equal(lb.status().foreign, 1);
    assert.equal(log.records.filter((r) => r.msg === 'foreign LB entry left alone').length, 1);
    await lb.clear();
    assert.deepEqual([...k.svcs.keys()], ['-u 198.18.0.77:53']);
    lb.setWeight('www', 'rs1', 5);
    await clock.tickAsync(100);
    assert.deepEqual([...k.svcs.keys()], ['-u 198.18.0.77:53'], 'no applies after clear');
  });

  it('repairs a hand edit on reconcile, and removes a virtual dropped from the config (applied earlier)', async () => {
    const { lb, k, m } = await make();
    lb.setWeight('www', 'rs1', 4);
    await lb.reconcile();
    k.line(['-e', '-t', '198.18.0.10:80', '-r', '198.18.1.21:80', '-w', '9']); // resets -m to -g, as ipvsadm does
    await lb.reconcile();
    assert.match(k.save(), /198\.18\.1\.21:80 -m -w 4/);
    lb.reconfigure({ ...m, virtualServers: [vs('other', { port: 8080 })] });
    lb.setWeight('other', 'rs1', 1);
    await lb.reconcile();
    assert.deepEqual([...k.svcs.keys()], ['-t 198.18.0.10:8080']);
  });

  it('verifies by re-reading: retries the missing line once, then raises a child fault; clears it later', async () => {
    const { lb, k, log } = await make();
    const faults: LbFault[] = [];
    lb.on('fault', (f: LbFault) => faults.push(f));
    lb.setWeight('www', 'rs1', 1);
    await lb.reconcile();
    k.reject = /198\.18\.1\.21:80 -m -w 7/;
    lb.setWeight('www', 'rs1', 7);
    await assert.rejects(lb.reconcile(), /does not verify after apply and one retry/);
    assert.equal(faults.length, 1);
    assert.equal(faults[0]!.on, true);
    assert.equal(k.restoreLines().filter((l) => l.includes('-w 7')).length, 2, 'tried, then retried once');
    assert.equal(lb.status().applyErrors, 1);
    assert.ok(log.records.some((r) => r.msg.includes('retrying')));
    k.reject = undefined;
    await lb.reconcile();
    assert.equal(faults.length, 2);
    assert.equal(faults[1]!.on, false);
    assert.equal(lb.takeApplyStats().errors, 1);
  });

  // The connection sync daemons moved out of LbTable: test/unit/ipvs/sync-ipvs.test.ts.
  it('without hot standby the table exists only while active', async () => {
    const { lb, k } = await make({
      lb: { backend: 'ipvsadm', ipvsadmPath: 'ipvsadm', hotStandby: false, onStop: 'keep' },
    });
    lb.setWeight('www', 'rs1', 1);
    lb.onRole('standby');
    await lb.reconcile();
    assert.equal(k.svcs.size, 0);
    lb.onRole('active');
    await lb.reconcile();
    assert.equal(k.svcs.size, 1);
    lb.onRole('standby');
    await lb.reconcile();
    assert.equal(k.svcs.size, 0);
    await clock.tickAsync(0);
    assert.deepEqual(k.daemons, [], 'the LB table starts no sync daemon');
  });

  it('a nanny verdict: diff against the last verified table, -R, re-read only the touched service', async () => {
    const { lb, k } = await make();
    lb.setWeight('www', 'rs1', 1);
    await lb.reconcile();
    const mark = k.calls.length;
    lb.setWeight('www', 'rs1', 2);
    await clock.tickAsync(25);
    assert.deepEqual(
      k.calls.slice(mark).map((c) => c.args.join(' ')),
      ['-R', '-Ln --exact -t 198.18.0.10:80'],
    );
    assert.match(k.save(), /-w 2/);
    assert.equal(lb.status().services[0]!.reals[0]!.weight, 2);
  });

  it('a hand edit meanwhile: the quick re-read disagrees, a full re-read and fresh diff repair it', async () => {
    const { lb, k } = await make();
    lb.setWeight('www', 'rs1', 2);
    await lb.reconcile();
    k.line(['-d', '-t', '198.18.0.10:80', '-r', '198.18.1.21:80']);
    lb.setWeight('www', 'rs2', 4);
    await clock.tickAsync(25);
    assert.match(k.save(), /198\.18\.1\.21:80 -m -w 2/);
    assert.match(k.save(), /198\.18\.1\.22:80 -m -w 4/);
    assert.equal(lb.status().fault, undefined);
    const r0 = k.calls.filter((c) => c.args[0] === '-Sn').length;
    await lb.reconcile();
    assert.equal(
      k.calls.filter((c) => c.args[0] === '-Sn').length - r0,
      1,
      'in shape: reconcile reads once, sends nothing',
    );
  });

  it('a burst touching many services is verified by one full -Sn', async () => {
    const k = new FakeIpvs();
    const m = model(Array.from({ length: 8 }, (_, i) => vs(`v${i}`, { port: 80 + i })));
    const lb = new LbTable({ model: m, log: new MemoryLog(), backend: 'ipvsadm', exec: k.exec });
    await lb.init();
    for (let i = 0; i < 8; i++) lb.setWeight(`v${i}`, 'rs1', 1);
    await lb.reconcile();
    const mark = k.calls.length;
    for (let i = 0; i < 8; i++) lb.setWeight(`v${i}`, 'rs1', 2);
    await clock.tickAsync(25);
    assert.deepEqual(
      k.calls.slice(mark).map((c) => c.args[0]),
      ['-R', '-Sn'],
    );
  });

  it('hot standby (default) keeps the table on the standby', async () => {
    const { lb, k } = await make();
    lb.setWeight('www', 'rs1', 1);
    lb.onRole('standby');
    await lb.reconcile();
    assert.equal(k.svcs.size, 1);
  });

  it("auto picks ipvsadm when /proc/net/ip_vs appears after modprobe, else nftables; 'none' applies nothing", async () => {
    const k = new FakeIpvs();
    const m = model([vs('www')]);
    const a = new LbTable({ model: m, log: new MemoryLog(), exec: k.exec, ipvsPresent: () => true });
    await a.init();
    assert.equal(a.status().backend, 'ipvsadm');
    assert.deepEqual(k.calls[0]!.args, ['ip_vs']);
    const b = new LbTable({ model: m, log: new MemoryLog(), exec: k.exec, ipvsPresent: () => false });
    await b.init();
    assert.equal(b.status().backend, 'nftables');
    const n = new LbTable({ model: m, log: new MemoryLog(), backend: 'none', exec: k.exec });
    await n.init();
    n.setWeight('www', 'rs1', 1);
    await n.reconcile();
    assert.equal(k.svcs.size, 0);
    assert.equal(n.status().services.length, 1);
  });
});
