/**
 * Generated scripts with hostile values (issue 17 item 1, "same review for every generated script"): the
 * ipvsadm -R input and the nftables LB rules refuse a value that would change their structure (each of
 * these values changed the output before: a `-C` line that clears the table, an nft `drop`), and the
 * table built from a validated config never holds one.
 */
import assert from 'node:assert/strict';
import { checkConfig } from '../../../src/config/index.js';
import { type LbOp, opArgs, restoreScript } from '../../../src/ipvs/format';
import { buildRuleset, NftValueError } from '../../../src/ipvs/nftrules';
import { desiredTable, type LbReal, type LbService } from '../../../src/ipvs/table';
import { model, rs, vs, weights } from './fixture';

/** The characters that end a word, a line, a statement or a block in ipvsadm -R or nft text. */
const HOSTILE = ['"', "'", ';', '\n', '\r', ' ', '\t', '{', '}', '#', '..', '/', '\\', '$(x)', '`x`'];

const real = (extra: Partial<LbReal> = {}): LbReal => ({
  key: '198.18.1.21:80',
  address: '198.18.1.21',
  port: 80,
  forwarding: 'nat',
  weight: 1,
  ...extra,
});
const service = (extra: Partial<LbService> = {}): LbService => ({
  key: '-t 198.18.0.10:80',
  kind: 'tcp',
  family: 4,
  address: '198.18.0.10',
  port: 80,
  scheduler: 'wlc',
  persistentS: 0,
  reals: [real()],
  ...extra,
});

describe('ipvs: generated scripts refuse values that would change their structure', () => {
  it('ipvsadm -R: a well-formed batch is unchanged by the checks', () => {
    const s = service({ persistentS: 300, pmask: '255.255.255.0' });
    assert.equal(
      restoreScript([
        { op: 'add-service', service: s },
        { op: 'add-real', service: s.key, real: real({ weight: 3 }) },
        { op: 'delete-real', service: '-f 5 -6', real: '[2001:2::21]:80' },
        { op: 'set-timeouts', timeouts: { tcp: 1, tcpfin: 2, udp: 3 } },
      ]),
      '-A -t 198.18.0.10:80 -s wlc -p 300 -M 255.255.255.0\n-a -t 198.18.0.10:80 -r 198.18.1.21:80 -m -w 3\n-d -f 5 -6 -r [2001:2::21]:80\n',
    );
  });

  it('ipvsadm -R: a hostile scheduler, pmask, key or real server throws instead of writing a line', () => {
    const bad: [string, LbOp][] = [];
    for (const h of HOSTILE) {
      bad.push([`scheduler wlc${h}-C`, { op: 'add-service', service: service({ scheduler: `wlc${h}-C` }) }]);
      bad.push([
        `pmask ${h}`,
        {
          op: 'edit-service',
          service: service({ persistentS: 1, pmask: `255.255.255.0${h}-C` }),
        },
      ]);
      bad.push([`service key ${h}`, { op: 'delete-service', key: `-t 198.18.0.10:80${h}-C` }]);
      bad.push([
        `real key ${h}`,
        { op: 'add-real', service: '-t 198.18.0.10:80', real: real({ key: `198.18.1.21:80${h}-C` }) },
      ]);
      bad.push([`delete-real ${h}`, { op: 'delete-real', service: '-t 198.18.0.10:80', real: `x${h}` }]);
    }
    bad.push(['scheduler -C', { op: 'add-service', service: service({ scheduler: '-C' }) }]);
    bad.push(['weight 1.5', { op: 'add-real', service: '-t 198.18.0.10:80', real: real({ weight: 1.5 }) }]);
    bad.push(['weight -1', { op: 'add-real', service: '-t 198.18.0.10:80', real: real({ weight: -1 }) }]);
    bad.push(['timeout NaN', { op: 'set-timeouts', timeouts: { tcp: Number.NaN, tcpfin: 0, udp: 0 } }]);
    bad.push([
      'forwarding',
      { op: 'add-real', service: '-t 198.18.0.10:80', real: real({ forwarding: '-C' as 'nat' }) },
    ]);
    for (const [what, op] of bad) {
      assert.throws(() => opArgs(op), /ipvsadm: refusing/, what);
      // (timeouts go through `ipvsadm --set`, not the restore input)
      if (op.op !== 'set-timeouts') assert.throws(() => restoreScript([op]), /ipvsadm: refusing/, what);
    }
  });

  it('nftables: a hostile address, port, fwmark, key or protocol throws instead of writing a rule', () => {
    const table = (s: LbService) => ({ services: [s] });
    assert.doesNotThrow(() => buildRuleset(table(service())));
    const bad: [string, LbService][] = [];
    for (const h of HOSTILE) {
      bad.push([`vip ${h}`, service({ address: `198.18.0.10${h}drop` })]);
      bad.push([`real ${h}`, service({ reals: [real({ address: `198.18.1.21${h}drop` })] })]);
      bad.push([`key ${h}`, service({ key: `-t 198.18.0.10:80${h}drop` })]);
      bad.push([`kind ${h}`, service({ kind: `tcp${h}drop` as 'tcp' })]);
    }
    bad.push(['IPv6 address in an ip rule', service({ address: '2001:2::10' })]);
    bad.push(['non-canonical address', service({ address: '198.018.0.10' })]);
    bad.push(['port 1.5', service({ port: 1.5 })]);
    bad.push(['real port 70000', service({ reals: [real({ port: 70000 })] })]);
    bad.push(['fwmark', service({ key: '-f 5', kind: 'fwmark', fwmark: Number.NaN })]);
    for (const [what, s] of bad) assert.throws(() => buildRuleset(table(s)), NftValueError, what);
  });

  it('the table built from a config holds only values the checks take (no throw for any valid config)', () => {
    const m = model([
      vs('a', {
        persistentS: 60,
        pmask: '255.255.255.0',
        realServers: [rs('x', '198.18.1.21'), rs('y', '198.18.1.22', { port: 8080 })],
      }),
      vs('b', { fwmark: 7, realServers: [rs('x', '198.18.1.21', { port: 0 })] }),
      vs('c', {
        protocol: 'udp',
        port: 53,
        vip: { address: '2001:2::10', prefixLength: 128 },
        realServers: [rs('x', '2001:2::21', { port: 53 })],
      }),
    ]);
    const { table } = desiredTable(m, weights({ 'a/x': 1, 'a/y': 2, 'b/x': 1, 'c/x': 1 }));
    assert.doesNotThrow(() => buildRuleset(table));
    const ops: LbOp[] = table.services.flatMap((s) => [
      { op: 'add-service', service: s } as LbOp,
      ...s.reals.map((r): LbOp => ({ op: 'add-real', service: s.key, real: r })),
    ]);
    assert.equal(restoreScript(ops).split('\n').length, ops.length + 1);
  });

  it('the config refuses the values behind them: scheduler, pmask and sync id are checked at their line', () => {
    const text = [
      'primary = 198.18.0.11',
      'network = direct',
      'syncd_id = 300',
      'virtual web {',
      '  address = 198.18.0.10',
      '  scheduler = "wlc -C"',
      '  persistent = 60',
      '  pmask = "255.255.255.0 -C"',
      '  server a {',
      '    address = 198.18.1.21',
      '  }',
      '}',
      '',
    ].join('\n');
    const errs = checkConfig('x.cf', { text, host: { fileExists: () => true, interfaceExists: () => true } })
      .diagnostics.filter((d) => d.severity === 'error')
      .map((d) => `${d.line}:${d.col}`);
    assert.deepEqual(errs, ['3:12', '6:15', '8:11']);
  });
});
