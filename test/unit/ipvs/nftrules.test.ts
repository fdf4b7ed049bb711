import assert from 'node:assert/strict';
import {
  buildLbRuleset,
  buildRuleset,
  clearScript,
  parseNftJson,
  verifyRules,
} from '../../../src/ipvs/nftrules';
import { desiredTable } from '../../../src/ipvs/table';
import { model, rs, vs, weights } from './fixture';

const build = (vss: Parameters<typeof model>[0], w: Record<string, number | null>) =>
  buildRuleset(desiredTable(model(vss), weights(w)).table);

describe('ipvs/nftrules: nftables ruleset builder', () => {
  it('one atomic transaction on our table only: weighted flow-hash interval map with addr . port', () => {
    const r = build(
      [
        vs('www', {
          scheduler: 'wrr',
          realServers: [rs('a', '198.18.1.21', { port: 8080 }), rs('b', '198.18.1.22')],
        }),
      ],
      {
        'www/a': 3,
        'www/b': 1,
      },
    );
    assert.equal(
      r.script,
      [
        'table ip lvs_pulse',
        'delete table ip lvs_pulse',
        'table ip lvs_pulse {',
        '  chain prerouting {',
        '    type nat hook prerouting priority dstnat; policy accept;',
        '    ip daddr 198.18.0.10 tcp dport 80 dnat ip to jhash ip saddr . tcp sport mod 4 seed 0xc7afb380 map { 0-2 : 198.18.1.21 . 8080, 3 : 198.18.1.22 . 80 } comment "lvs_pulse -t 198.18.0.10:80"',
        '  }',
        '}',
        'table ip6 lvs_pulse6',
        'delete table ip6 lvs_pulse6',
        '',
      ].join('\n'),
    );
    assert.deepEqual(r.warnings, []);
    assert.ok(!/flush ruleset|table inet filter|table ip nat\b/.test(r.script));
  });

  it('schedulers nft cannot do fall back to the weighted flow hash with ONE warning', () => {
    const r = build(
      [
        vs('a', { scheduler: 'wlc' }),
        vs('b', { port: 81, scheduler: 'wlc' }),
        vs('c', { port: 82, scheduler: 'lc' }),
      ],
      { 'a/rs1': 1, 'b/rs1': 1, 'c/rs1': 1 },
    );
    assert.equal((r.script.match(/jhash ip saddr \. tcp sport mod 1 /g) ?? []).length, 3);
    assert.deepEqual(r.warnings, [
      'nftables: scheduler wlc is not available; weighted hash of client address and port used instead',
      'nftables: scheduler lc is not available; weighted hash of client address and port used instead',
    ]);
  });

  it('persistence → jhash ip saddr; rr → equal slots of the flow hash; fo → the heaviest only; quiesced/absent → no rule', () => {
    const r = build(
      [
        vs('p', { persistentS: 300, scheduler: 'rr' }),
        vs('r', { port: 81, scheduler: 'rr' }),
        vs('f', { port: 82, scheduler: 'fo' }),
        vs('q', { port: 83 }),
      ],
      { 'p/rs1': 2, 'p/rs2': 1, 'r/rs1': 5, 'r/rs2': 1, 'f/rs1': 1, 'f/rs2': 9, 'q/rs1': 0, 'q/rs2': null },
    );
    assert.match(
      r.script,
      /tcp dport 80 dnat ip to jhash ip saddr mod 3 seed 0x[0-9a-f]+ map \{ 0-1 : 198\.18\.1\.21 \. 80, 2 : 198\.18\.1\.22 \. 80 \}/,
    );
    assert.match(
      r.script,
      /tcp dport 81 dnat ip to jhash ip saddr \. tcp sport mod 2 seed 0x[0-9a-f]+ map \{ 0 : 198\.18\.1\.21 \. 80, 1 : 198\.18\.1\.22 \. 80 \}/,
    );
    assert.match(r.script, /tcp dport 82 dnat ip to numgen random mod 1 map \{ 0 : 198\.18\.1\.22 \. 80 \}/);
    assert.doesNotMatch(r.script, /dport 83/);
    assert.equal(r.expected.v4.size, 3);
  });

  it('fwmark matches meta mark and DNATs to the address; IPv6 goes to table ip6 lvs_pulse6; udp', () => {
    const r = build(
      [
        vs('f', { fwmark: 5, realServers: [rs('a', '198.18.1.21', { port: 0 })] }),
        vs('six', {
          vip: { address: '2001:db8::10', prefixLength: 128 },
          realServers: [rs('a', '2001:db8:1::21')],
        }),
        vs('u', { protocol: 'udp', port: 53, realServers: [rs('a', '198.18.1.21', { port: 53 })] }),
      ],
      { 'f/a': 1, 'six/a': 2, 'u/a': 1 },
    );
    assert.match(
      r.script,
      /meta mark 5 dnat to numgen random mod 1 map \{ 0 : 198\.18\.1\.21 \} comment "lvs_pulse -f 5"/,
    );
    assert.match(
      r.script,
      /table ip6 lvs_pulse6 \{[\s\S]*ip6 daddr 2001:db8::10 tcp dport 80 dnat ip6 to jhash ip6 saddr \. tcp sport mod 2 seed 0x[0-9a-f]+ map \{ 0-1 : 2001:db8:1::21 \. 80 \}/,
    );
    assert.match(
      r.script,
      /ip daddr 198\.18\.0\.10 udp dport 53 dnat ip to jhash ip saddr \. udp sport mod 1 /,
    );
  });

  it('an empty table drops both of our tables; clearScript too', () => {
    assert.equal(build([], {}).script, clearScript());
    assert.equal(
      clearScript(),
      'table ip lvs_pulse\ndelete table ip lvs_pulse\ntable ip6 lvs_pulse6\ndelete table ip6 lvs_pulse6\n',
    );
  });

  it('buildLbRuleset fills configured weights for real servers the map does not name', () => {
    const m = model([
      vs('www', { realServers: [rs('a', '198.18.1.21', { weight: 3 }), rs('b', '198.18.1.22')] }),
    ]);
    assert.match(
      buildLbRuleset(m),
      /mod 4 seed 0x[0-9a-f]+ map \{ 0-2 : 198\.18\.1\.21 \. 80, 3 : 198\.18\.1\.22 \. 80 \}/,
    );
    assert.match(
      buildLbRuleset(m, weights({ 'www/a': null })),
      /mod 1 seed 0x[0-9a-f]+ map \{ 0 : 198\.18\.1\.22 \. 80 \}/,
    );
  });

  it('parses nft -j output (as nft 1.0.6 prints it) and verifies slots, reporting drift', () => {
    const json = JSON.stringify({
      nftables: [
        { metainfo: { version: '1.0.6' } },
        { table: { family: 'ip', name: 'lvs_pulse', handle: 5 } },
        {
          rule: {
            comment: 'lvs_pulse -t 198.18.0.10:80',
            expr: [
              {
                match: {
                  op: '==',
                  left: { payload: { protocol: 'ip', field: 'daddr' } },
                  right: '198.18.0.10',
                },
              },
              {
                dnat: {
                  family: 'ip',
                  addr: {
                    map: {
                      key: {
                        jhash: {
                          mod: 4,
                          seed: 3350180736,
                          expr: {
                            concat: [
                              { payload: { protocol: 'ip', field: 'saddr' } },
                              { payload: { protocol: 'tcp', field: 'sport' } },
                            ],
                          },
                        },
                      },
                      data: {
                        set: [
                          [{ range: [0, 2] }, { concat: ['198.18.1.21', 8080] }],
                          [3, { concat: ['198.18.1.22', 80] }],
                        ],
                      },
                    },
                  },
                },
              },
            ],
          },
        },
        { rule: { comment: 'someone else', expr: [] } },
      ],
    });
    const got = parseNftJson(json);
    assert.equal(got.tablePresent, true);
    assert.equal(got.problems.length, 1);
    const want = build(
      [vs('www', { realServers: [rs('a', '198.18.1.21', { port: 8080 }), rs('b', '198.18.1.22')] })],
      {
        'www/a': 3,
        'www/b': 1,
      },
    ).expected.v4;
    assert.deepEqual(verifyRules(want, got.rules), []);
    const drift = build(
      [vs('www', { realServers: [rs('a', '198.18.1.21', { port: 8080 }), rs('b', '198.18.1.22')] })],
      {
        'www/a': 1,
        'www/b': 1,
      },
    ).expected.v4;
    assert.match(verifyRules(drift, got.rules).join('\n'), /mod 4, expected jhash-flow mod 2/);
    assert.deepEqual(parseNftJson('not json').problems.length, 1);
  });
});

describe('ipvs/nftrules: all-port services', () => {
  it('a port-0 persistent service matches the protocol and DNATs to the address only', () => {
    const r = build(
      [vs('all', { port: 0, persistentS: 600, realServers: [rs('a', '198.18.1.21', { port: 0 })] })],
      {
        'all/a': 1,
      },
    );
    assert.match(
      r.script,
      /ip daddr 198\.18\.0\.10 meta l4proto tcp dnat to jhash ip saddr mod 1 seed 0x[0-9a-f]+ map \{ 0 : 198\.18\.1\.21 \}/,
    );
  });
});
