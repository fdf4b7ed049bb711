import assert from 'node:assert/strict';
import { diffTables, tableKeys } from '../../../src/ipvs/diff';
import { type LbOp, opArgs, parseList, parseSave, restoreScript } from '../../../src/ipvs/format';
import { desiredTable, modelKeys } from '../../../src/ipvs/table';
import { model, vs, weights } from './fixture';

const M = model([vs('www', { sorryServer: { address: '198.18.1.99', port: 80 } })]);
const desired = (w: Record<string, number | null>) => desiredTable(M, weights(w)).table;
const lines = (ops: LbOp[]) => ops.map((o) => opArgs(o).join(' '));
const kernel = (save: string) => ({ services: parseSave(save).services });

describe('ipvs/diff: desired vs actual → minimal ipvsadm operations', () => {
  const owned = modelKeys(M);

  it('adds a missing service and its real servers', () => {
    const { ops, foreign } = diffTables(desired({ 'www/rs1': 3, 'www/rs2': 1 }), kernel(''), owned);
    assert.deepEqual(lines(ops), [
      '-A -t 198.18.0.10:80 -s wlc',
      '-a -t 198.18.0.10:80 -r 198.18.1.21:80 -m -w 3',
      '-a -t 198.18.0.10:80 -r 198.18.1.22:80 -m -w 1',
    ]);
    assert.deepEqual(foreign, []);
  });

  it('a weight change is ONE edit repeating every option (never delete + add)', () => {
    const actual = kernel(
      '-A -t 198.18.0.10:80 -s wlc\n-a -t 198.18.0.10:80 -r 198.18.1.21:80 -m -w 3\n-a -t 198.18.0.10:80 -r 198.18.1.22:80 -m -w 1\n',
    );
    const { ops } = diffTables(desired({ 'www/rs1': 5, 'www/rs2': 1 }), actual, owned);
    assert.deepEqual(lines(ops), ['-e -t 198.18.0.10:80 -r 198.18.1.21:80 -m -w 5']);
    assert.ok(!ops.some((o) => o.op === 'delete-real' || o.op === 'add-real'));
    // A forwarding-only change is an edit that still carries the weight.
    const direct = kernel(
      '-A -t 198.18.0.10:80 -s wlc\n-a -t 198.18.0.10:80 -r 198.18.1.21:80 -g -w 5\n-a -t 198.18.0.10:80 -r 198.18.1.22:80 -m -w 1\n',
    );
    assert.deepEqual(lines(diffTables(desired({ 'www/rs1': 5, 'www/rs2': 1 }), direct, owned).ops), [
      '-e -t 198.18.0.10:80 -r 198.18.1.21:80 -m -w 5',
    ]);
  });

  it('no operations when the kernel already matches', () => {
    const actual = kernel('-A -t 198.18.0.10:80 -s wlc\n-a -t 198.18.0.10:80 -r 198.18.1.21:80 -m -w 2\n');
    assert.deepEqual(diffTables(desired({ 'www/rs1': 2 }), actual, owned).ops, []);
  });

  it('sorry server in when the last real server goes, out when one returns', () => {
    const withRs = kernel('-A -t 198.18.0.10:80 -s wlc\n-a -t 198.18.0.10:80 -r 198.18.1.21:80 -m -w 2\n');
    assert.deepEqual(lines(diffTables(desired({ 'www/rs1': null }), withRs, owned).ops), [
      '-a -t 198.18.0.10:80 -r 198.18.1.99:80 -m -w 1',
      '-d -t 198.18.0.10:80 -r 198.18.1.21:80',
    ]);
    const withSorry = kernel('-A -t 198.18.0.10:80 -s wlc\n-a -t 198.18.0.10:80 -r 198.18.1.99:80 -m -w 1\n');
    assert.deepEqual(lines(diffTables(desired({ 'www/rs2': 4 }), withSorry, owned).ops), [
      '-a -t 198.18.0.10:80 -r 198.18.1.22:80 -m -w 4',
      '-d -t 198.18.0.10:80 -r 198.18.1.99:80',
    ]);
  });

  it('keeps foreign services and foreign real servers, and reports them', () => {
    const actual = kernel(
      [
        '-A -t 198.18.0.10:80 -s wlc',
        '-a -t 198.18.0.10:80 -r 198.18.1.21:80 -m -w 1',
        '-a -t 198.18.0.10:80 -r 198.18.1.50:80 -m -w 1',
        '-A -u 198.18.0.77:53 -s rr',
        '-a -u 198.18.0.77:53 -r 198.18.1.53:53 -g -w 1',
        '-A -f 9 -s rr',
      ].join('\n'),
    );
    const { ops, foreign } = diffTables(desired({ 'www/rs1': 1 }), actual, owned);
    assert.deepEqual(lines(ops), []);
    assert.deepEqual(foreign, ['-f 9', '-t 198.18.0.10:80 -r 198.18.1.50:80', '-u 198.18.0.77:53']);
  });

  it('removes our services no longer wanted (inactive in the model, or applied earlier), never clears', () => {
    const m2 = model([vs('www'), vs('old', { active: false, port: 81 })]);
    const actual = kernel(
      '-A -t 198.18.0.10:81 -s wlc\n-A -t 198.18.0.10:82 -s rr\n-A -t 198.18.0.10:83 -s rr\n-A -t 198.18.0.10:80 -s wlc\n',
    );
    const applied = new Set([...modelKeys(m2), '-t 198.18.0.10:82']);
    const { ops, foreign } = diffTables(desiredTable(m2, new Map()).table, actual, applied);
    assert.deepEqual(lines(ops), ['-D -t 198.18.0.10:81', '-D -t 198.18.0.10:82']);
    assert.deepEqual(foreign, ['-t 198.18.0.10:83']);
    assert.ok(!restoreScript(ops).includes('-C'));
  });

  it('a scheduler or persistence change is one -E with every service option', () => {
    const m3 = model([vs('www', { scheduler: 'sh', persistentS: 300, pmask: '255.255.0.0' })]);
    const actual = kernel('-A -t 198.18.0.10:80 -s wlc -p 300\n');
    const { ops } = diffTables(desiredTable(m3, new Map()).table, actual, modelKeys(m3));
    assert.deepEqual(lines(ops), ['-E -t 198.18.0.10:80 -s sh -p 300 -M 255.255.0.0']);
  });

  it('sets timeouts only when a non-zero desired value differs', () => {
    const m4 = model([], { timeouts: { tcp: 900, tcpfin: 0, udp: 60 } });
    const t = desiredTable(m4, new Map()).table;
    assert.deepEqual(
      lines(diffTables(t, { services: [], timeouts: { tcp: 900, tcpfin: 120, udp: 300 } }, new Set()).ops),
      ['--set 900 0 60'],
    );
    assert.deepEqual(
      diffTables(t, { services: [], timeouts: { tcp: 900, tcpfin: 5, udp: 60 } }, new Set()).ops,
      [],
    );
  });

  it('tableKeys lists services and real owner keys', () => {
    assert.deepEqual(tableKeys(desired({ 'www/rs1': 1 }).services), [
      '-t 198.18.0.10:80',
      '-t 198.18.0.10:80 -r 198.18.1.21:80',
    ]);
  });
});

describe('ipvs/format: ipvsadm -Sn parsing and -R rendering', () => {
  it('parses services, persistence, fwmark (IPv4/IPv6), IPv6 and unknown options defensively', () => {
    const { services, problems } = parseSave(
      [
        '-A -t 198.18.0.10:80 -s wlc -p 600 -M 255.255.255.0',
        '-a -t 198.18.0.10:80 -r 198.18.1.21:8080 -m -w 3 -x 100 -y 10',
        '-A -f 5 -6 -s rr',
        '-A -t [2001:db8::10]:443 -s sh -b sh-port',
        '-a -t [2001:db8::10]:443 -r [2001:db8:1::21]:443 -g -w 0',
        '-a -t 198.18.0.99:80 -r 198.18.1.21:80 -m -w 1',
        '-A -t 999.1.1.1:80 -s rr',
        'garbage',
      ].join('\n'),
    );
    assert.equal(services.length, 3);
    const [a, f, six] = services;
    assert.equal(a!.persistentS, 600);
    assert.equal(a!.pmask, '255.255.255.0');
    assert.deepEqual(a!.reals[0], {
      key: '198.18.1.21:8080',
      address: '198.18.1.21',
      port: 8080,
      forwarding: 'nat',
      weight: 3,
      extra: ['-x', '100', '-y', '10'],
    });
    assert.equal(f!.key, '-f 5 -6');
    assert.equal(f!.family, 6);
    assert.deepEqual(six!.extra, ['-b', 'sh-port']);
    assert.equal(six!.reals[0]!.weight, 0);
    assert.equal(six!.reals[0]!.forwarding, 'direct');
    assert.equal(problems.length, 3);
    assert.match(problems.map((p) => p.reason).join(';'), /before its service/);
  });

  it('parses ipvsadm -Ln --exact (list format) with connection counts, FWM IPv6, persistence', () => {
    const out = parseList(
      [
        'IP Virtual Server version 1.2.1 (size=4096)',
        'Prot LocalAddress:Port Scheduler Flags',
        '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
        'TCP  198.18.0.10:80 wlc persistent 300 mask 255.255.255.0',
        '  -> 198.18.1.21:80                Masq    3      2          7',
        '  -> 198.18.1.22:80                Route   0      0          0',
        'UDP  [2001:db8::10]:53 rr',
        '  -> [2001:db8:1::21]:53           Tunnel  1      0          0',
        'FWM  6 IPv6 wlc',
        'FWM  5 sh persistent 60',
        '  -> 198.18.1.21:0                 Local   2      0          0',
      ].join('\n'),
    );
    assert.deepEqual(
      out.map((s) => [
        s.key,
        s.scheduler,
        s.persistentS,
        s.pmask,
        s.reals.map((r) => `${r.key} ${r.forwarding} ${r.weight}`),
      ]),
      [
        [
          '-t 198.18.0.10:80',
          'wlc',
          300,
          '255.255.255.0',
          ['198.18.1.21:80 nat 3', '198.18.1.22:80 direct 0'],
        ],
        ['-u [2001:db8::10]:53', 'rr', 0, undefined, ['[2001:db8:1::21]:53 tunnel 1']],
        ['-f 6 -6', 'wlc', 0, undefined, []],
        ['-f 5', 'sh', 60, undefined, ['198.18.1.21:0 direct 2']],
      ],
    );
    assert.equal(out[0]!.reals[0]!.activeConns, 2);
    assert.equal(out[0]!.reals[0]!.inactiveConns, 7);
  });

  it('renders a restore script with no comment lines and no --set', () => {
    const s = restoreScript([
      { op: 'set-timeouts', timeouts: { tcp: 1, tcpfin: 2, udp: 3 } },
      { op: 'delete-real', service: '-f 5 -6', real: '[2001:db8::1]:0' },
    ]);
    assert.equal(s, '-d -f 5 -6 -r [2001:db8::1]:0\n');
  });
});
