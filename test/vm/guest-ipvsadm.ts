/**
 * Runs INSIDE the test VM (Debian kernel with real IPVS), started by test/vm/ipvsadm.test.ts through
 * scripts/vm/vm.ts. Builds the namespace lab in the guest, drives LbTable's ipvsadm backend in the router
 * namespace, passes real traffic through IPVS, and writes $LVSP_RESULTS/result.json: { checks, timings }.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { syncDaemonConfig } from '../../src/config/build';
import { ConnSync, LbTable } from '../../src/ipvs';
import { type Exec, execProcess } from '../../src/ipvs/exec';
import { parseList, parseSave } from '../../src/ipvs/format';
import { MemoryLog } from '../../src/lib/log';
import { model, rs, vs } from '../unit/ipvs/fixture';
import { buildVmLab, VM_NET as LAB_NET, type VmLab } from './vm-lab';

const out = process.env.LVSP_RESULTS ?? '/tmp';
const run = promisify(execFile);

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}
const checks: Check[] = [];
const timings: Record<string, number> = {};
function check(name: string, ok: boolean, detail: unknown = ''): void {
  checks.push({ name, ok, detail: typeof detail === 'string' ? detail : JSON.stringify(detail) });
}
async function timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    timings[name] = Math.round(performance.now() - t0);
  }
}

async function main(): Promise<void> {
  let lvs: VmLab | undefined;
  try {
    lvs = await timed('lab', () => buildVmLab(2, ['--jitless']));
    const client = lvs.client;
    const calls: { args: string[]; input?: string }[] = [];
    const exec = execProcess();
    const recording: Exec = (file, args, input) => {
      calls.push(input === undefined ? { args } : { args, input });
      return exec(file, args, input);
    };
    const ipvsadm = async (...args: string[]) => (await run('ipvsadm', args)).stdout;
    const restoreLines = (from: number) =>
      calls
        .slice(from)
        .filter((c) => c.args[0] === '-R')
        .flatMap((c) => (c.input ?? '').split('\n').filter(Boolean));
    const http = (count: number) => client.http(count);

    // A foreign service (not ours, not in the model) that must survive everything.
    await ipvsadm('-A', '-u', '198.18.0.77:53', '-s', 'rr');
    await ipvsadm('-a', '-u', '198.18.0.77:53', '-r', '198.18.1.53:53', '-g', '-w', '1');

    const rsPair = (port: number) => [
      rs('rs1', LAB_NET.realServer(1), { port }),
      rs('rs2', LAB_NET.realServer(2), { port }),
    ];
    const m1 = model(
      [
        vs('www', {
          scheduler: 'wrr',
          realServers: rsPair(80),
          sorryServer: { address: '198.18.1.99', port: 80 },
        }),
        vs('hold', { port: 7000, scheduler: 'rr', realServers: rsPair(7000) }),
        vs('fw', {
          fwmark: 5,
          scheduler: 'sh',
          persistentS: 300,
          pmask: '255.255.255.0',
          realServers: [rs('d', '198.18.1.21', { forwarding: 'direct' })],
        }),
        vs('six', {
          vip: { address: '2001:db8::10', prefixLength: 128 },
          realServers: [rs('a', '2001:db8:1::21')],
        }),
        vs('fw6', {
          fwmark: 6,
          vip: { address: '2001:db8::10', prefixLength: 128 },
          realServers: [rs('t', '2001:db8:1::22', { forwarding: 'tunnel' })],
        }),
      ],
      {
        timeouts: { tcp: 900, tcpfin: 30, udp: 60 },
        syncDaemon: syncDaemonConfig({ enabled: true, interface: 'priv', id: 7 }),
        lb: { backend: 'ipvsadm', ipvsadmPath: 'ipvsadm', hotStandby: true, onStop: 'clear' },
      },
    );
    const log = new MemoryLog();
    const lb = new LbTable({ model: m1, log, exec: recording });
    const faults: unknown[] = [];
    lb.on('fault', (f) => faults.push(f));
    await lb.init();
    check('backend is ipvsadm', lb.status().backend === 'ipvsadm', lb.status().backend);

    // 1. Apply a config.
    for (const [v, r, w] of [
      ['www', 'rs1', 3],
      ['www', 'rs2', 1],
      ['hold', 'rs1', 1],
      ['hold', 'rs2', 1],
      ['fw', 'd', 2],
      ['six', 'a', 1],
      ['fw6', 't', 4],
    ] as const) {
      lb.setWeight(v, r, w);
    }
    lb.onRole('active');
    // Connection sync (src/ipvs/sync.ts): both IPVS sync daemons run, whatever the role.
    const sync = new ConnSync({
      model: m1,
      log,
      backend: 'ipvsadm',
      node: 'primary',
      runDir: out,
      exec: recording,
    });
    await sync.start();
    await sync.onRole('active');
    await timed('apply', () => lb.reconcile());
    const ln1 = await ipvsadm('-Ln');
    check('apply: verified without fault', lb.status().fault === undefined && faults.length === 0, {
      faults,
      fault: lb.status().fault,
    });
    check(
      'apply: -Ln shows NAT real servers 3 and 1',
      /198\.18\.1\.21:80\s+Masq\s+3/.test(ln1) && /198\.18\.1\.22:80\s+Masq\s+1/.test(ln1),
      ln1,
    );
    const save1 = await ipvsadm('-Sn');
    const parsed = parseSave(save1);
    check(
      'apply: -Sn parses cleanly with 6 services (5 ours + foreign)',
      parsed.problems.length === 0 && parsed.services.length === 6,
      save1,
    );
    check(
      'apply: fwmark, IPv6, DR, TUN and persistence round-trip (re-read diff is empty)',
      calls.filter((c) => c.args[0] === '-R').length === 1,
      { save1, rLines: restoreLines(0) },
    );
    check('apply: sorry server out while real servers are up', !/198\.18\.1\.99/.test(save1), save1);
    // The list format (used to re-read only the services a small batch touched) agrees with -Sn.
    const strip = (list: ReturnType<typeof parseSave>['services']) =>
      list
        .map((x) => ({
          key: x.key,
          scheduler: x.scheduler,
          persistentS: x.persistentS,
          pmask: x.pmask,
          reals: x.reals.map((r) => `${r.key} ${r.forwarding} ${r.weight}`).sort(),
        }))
        .sort((p, q) => p.key.localeCompare(q.key));
    const listed = parseList(await ipvsadm('-Ln', '--exact'));
    check(
      'list: ipvsadm -Ln --exact parses to the same table as -Sn',
      JSON.stringify(strip(listed)) === JSON.stringify(strip(parsed.services)),
      {
        listed: strip(listed),
        saved: strip(parsed.services),
      },
    );
    const missing = await run('ipvsadm', ['-Ln', '--exact', '-t', '198.18.0.99:1']).then(
      () => 'exit 0',
      (e: { stderr?: string }) => e.stderr ?? '',
    );
    check('list: a missing service reads as "No such service"', /No such service/i.test(missing), missing);
    const to = await ipvsadm('-Ln', '--timeout');
    check('apply: --set timeouts', /900 30 60/.test(to), to);
    const d1 = await ipvsadm('-Ln', '--daemon');
    check('sync daemon: master on priv syncid 7', /master sync daemon \(mcast=priv, syncid=7/.test(d1), d1);
    check(
      'sync daemon: backup on priv syncid 7 too',
      /backup sync daemon \(mcast=priv, syncid=7/.test(d1),
      d1,
    );
    const sy = await run('sysctl', ['-n', 'net.ipv4.vs.sync_threshold', 'net.ipv4.vs.sync_refresh_period']);
    check(
      'sync daemon: sysctls written (threshold 3 0, refresh 1 s)',
      /^3\s+0\n1$/m.test(sy.stdout.trim()),
      sy.stdout,
    );

    // 2. Real traffic through IPVS (wrr, 3:1).
    const t1 = await timed('traffic200', () => http(200));
    const a = t1.counts.rs1 ?? 0;
    const b = t1.counts.rs2 ?? 0;
    check(
      'traffic: wrr 3:1 over 200 requests through IPVS gives 3:1 (±5 %)',
      t1.failed === 0 && a + b === 200 && Math.abs(a / 200 - 0.75) <= 0.05,
      t1,
    );

    // 3. Change a weight while a connection is established.
    const connected = await client.cmd<{ connected?: boolean }>(`open ${LAB_NET.vip} 7000`);
    const first = (await client.cmd<{ reply: string }>('ping')).reply;
    const next = async () => (await client.cmd<{ reply: string }>('ping')).reply;
    const other = first === 'rs1' ? 'rs2' : 'rs1';
    let mark = calls.length;
    lb.setWeight('hold', first, 0);
    lb.setWeight('hold', other, 5);
    await timed('weightChange', () => lb.reconcile());
    const wlines = restoreLines(mark);
    check(
      'weight change: only -e lines, all options repeated',
      wlines.length === 2 && wlines.every((l) => /^-e -t 198\.18\.0\.10:7000 -r \S+ -m -w \d+$/.test(l)),
      wlines,
    );
    const replies: string[] = [];
    for (let i = 0; i < 3; i++) replies.push(await next());
    check(
      'weight change: the established connection stays on its real server',
      connected.connected === true && /^rs[12]$/.test(first) && replies.every((r) => r === first),
      { first, replies },
    );
    const save2 = await ipvsadm('-Sn');
    check(
      'weight change: NAT forwarding kept by -e (quiesced at weight 0)',
      save2.includes(`-r ${first === 'rs1' ? LAB_NET.realServer(1) : LAB_NET.realServer(2)}:7000 -m -w 0`),
      save2,
    );
    await client.cmd('close');

    // 4. Remove and re-add a real server.
    mark = calls.length;
    lb.setWeight('www', 'rs2', null);
    await timed('remove', () => lb.reconcile());
    const rl = restoreLines(mark);
    const ln2 = await ipvsadm('-Ln');
    check(
      'remove: one -d line, rs2 gone from the www service',
      rl.length === 1 &&
        rl[0] === '-d -t 198.18.0.10:80 -r 198.18.1.22:80' &&
        !/198\.18\.1\.22:80 /.test(ln2),
      { rl, ln2 },
    );
    const t2 = await http(50);
    check('remove: new connections all go to rs1', t2.failed === 0 && t2.counts.rs1 === 50, t2);
    // The daemon's path for one nanny verdict: cached diff, -R, then only the touched service re-read.
    const quickMark = calls.length;
    await timed('quickWeight', async () => {
      const done = new Promise<void>((ok) => lb.once('applied', () => ok()));
      lb.setWeight('www', 'rs1', 4);
      await done;
    });
    const quickCalls = calls.slice(quickMark).map((c) => c.args.join(' '));
    check(
      'nanny verdict path: -R then only the touched service re-read (no full -Sn)',
      JSON.stringify(quickCalls) === JSON.stringify(['-R', '-Ln --exact -t 198.18.0.10:80']) &&
        /-r 198\.18\.1\.21:80 -m -w 4/.test(await ipvsadm('-Sn')),
      quickCalls,
    );
    lb.setWeight('www', 'rs1', 3);
    await lb.reconcile();
    lb.setWeight('www', 'rs2', 1);
    await timed('readd', () => lb.reconcile());
    const t3 = await http(60);
    check(
      're-add: rs2 serves again',
      t3.failed === 0 && (t3.counts.rs2 ?? 0) > 0 && (t3.counts.rs1 ?? 0) > 0,
      t3,
    );
    lb.setWeight('www', 'rs1', null);
    lb.setWeight('www', 'rs2', null);
    await lb.reconcile();
    const sorryIn = await ipvsadm('-Sn');
    check(
      'sorry server in while no real server is',
      /-r 198\.18\.1\.99:80 -m -w 1/.test(sorryIn) && lb.status().sorryIn.includes('www'),
      sorryIn,
    );
    lb.setWeight('www', 'rs1', 3);
    lb.setWeight('www', 'rs2', 1);
    await lb.reconcile();

    // 5. Reload with a diff.
    const m2 = {
      ...m1,
      virtualServers: [
        vs('www', {
          scheduler: 'rr',
          realServers: rsPair(80),
          sorryServer: { address: '198.18.1.99', port: 80 },
        }),
        vs('api', { port: 8080, scheduler: 'wrr', realServers: rsPair(80) }),
        ...m1.virtualServers.filter((v) => v.name !== 'www' && v.name !== 'hold'),
      ],
    };
    mark = calls.length;
    lb.reconfigure(m2);
    lb.setWeight('api', 'rs1', 2);
    lb.setWeight('api', 'rs2', 2);
    await timed('reload', () => lb.reconcile());
    const rr = restoreLines(mark).sort();
    const wantReload = [
      '-A -t 198.18.0.10:8080 -s wrr',
      '-D -t 198.18.0.10:7000',
      '-E -t 198.18.0.10:80 -s rr',
      '-a -t 198.18.0.10:8080 -r 198.18.1.21:80 -m -w 2',
      '-a -t 198.18.0.10:8080 -r 198.18.1.22:80 -m -w 2',
    ].sort();
    check(
      'reload: minimal diff (-A/-a new, -E changed, -D dropped; nothing else)',
      JSON.stringify(rr) === JSON.stringify(wantReload),
      rr,
    );
    const t4 = await http(60);
    check(
      'reload: traffic after reload',
      t4.failed === 0 && (t4.counts.rs1 ?? 0) > 0 && (t4.counts.rs2 ?? 0) > 0,
      t4,
    );

    // 6. Foreign entry kept; never -C.
    const save3 = await ipvsadm('-Sn');
    check(
      'foreign service kept with its real server',
      /-A -u 198\.18\.0\.77:53 -s rr/.test(save3) && /-r 198\.18\.1\.53:53 -g -w 1/.test(save3),
      save3,
    );
    check(
      'foreign counted and logged once',
      lb.status().foreign === 1 &&
        log.records.filter((r) => r.msg === 'foreign LB entry left alone').length === 1,
      lb.status().foreign,
    );
    check('never ipvsadm -C', !calls.some((c) => c.args.includes('-C') || /(^|\n)-C/.test(c.input ?? '')));

    // 7. Standby (hot): table kept; both sync daemons still run (nothing to switch, docs/sync.md).
    lb.onRole('standby');
    await sync.onRole('standby');
    await lb.reconcile();
    const d2 = await ipvsadm('-Ln', '--daemon');
    const save4 = await ipvsadm('-Sn');
    check(
      'standby: master and backup sync daemons both still run',
      /backup sync daemon/.test(d2) && /master sync daemon/.test(d2),
      d2,
    );
    check('standby: hot standby keeps the table', /-A -t 198\.18\.0\.10:80 -s rr/.test(save4), save4);

    // 8. clear(): ours only.
    await sync.stop();
    const d3 = await ipvsadm('-Ln', '--daemon');
    check('sync stop: both sync daemons stopped', !/sync daemon/.test(d3), d3);
    await timed('clear', () => lb.clear());
    const save5 = await ipvsadm('-Sn');
    check(
      'clear: only the foreign service remains',
      parseSave(save5)
        .services.map((s) => s.key)
        .join() === '-u 198.18.0.77:53',
      save5,
    );
    check('no child fault raised during the run', faults.length === 0, faults);
    check(
      'no error logged',
      !log.records.some((r) => r.level === 'error'),
      log.records.filter((r) => r.level !== 'debug'),
    );
  } catch (err) {
    check('guest script ran to the end', false, (err as Error).stack ?? String(err));
  } finally {
    await lvs?.destroy();
    writeFileSync(join(out, 'result.json'), JSON.stringify({ checks, timings }, null, 1));
  }
}

void main();
