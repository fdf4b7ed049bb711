import assert from 'node:assert/strict';
import { canonicalAddress, splitHostPort } from '../../../src/lib/addr';
import { desiredTable, modelKeys, serviceKey, sorryChanges, sorryServerIn } from '../../../src/ipvs/table';
import { model, rs, vs, weights } from './fixture';

describe('ipvs/table: desired LB table from model + nanny weights', () => {
  it('builds a tcp service with NAT real servers and the nanny weights', () => {
    const { table, warnings } = desiredTable(model([vs('www')]), weights({ 'www/rs1': 3, 'www/rs2': 1 }));
    assert.deepEqual(warnings, []);
    assert.equal(table.services.length, 1);
    const s = table.services[0]!;
    assert.equal(s.key, '-t 198.18.0.10:80');
    assert.equal(s.scheduler, 'wlc');
    assert.deepEqual(
      s.reals.map((r) => [r.key, r.forwarding, r.weight]),
      [
        ['198.18.1.21:80', 'nat', 3],
        ['198.18.1.22:80', 'nat', 1],
      ],
    );
  });

  it('leaves out real servers whose weight is null or not yet reported, keeps quiesced (0)', () => {
    const { table } = desiredTable(model([vs('www')]), weights({ 'www/rs1': null, 'www/rs2': 0 }));
    assert.deepEqual(
      table.services[0]!.reals.map((r) => [r.key, r.weight]),
      [['198.18.1.22:80', 0]],
    );
    const none = desiredTable(model([vs('www')]), new Map());
    assert.deepEqual(none.table.services[0]!.reals, []);
  });

  it('marks only services of active virtual servers and active real servers', () => {
    const m = model([
      vs('www'),
      vs('off', { active: false, port: 81 }),
      vs('half', {
        port: 82,
        realServers: [rs('a', '198.18.1.21', { active: false }), rs('b', '198.18.1.22')],
      }),
    ]);
    const { table } = desiredTable(m, weights({ 'www/rs1': 1, 'off/rs1': 1, 'half/a': 1, 'half/b': 1 }));
    assert.deepEqual(
      table.services.map((s) => s.key),
      ['-t 198.18.0.10:80', '-t 198.18.0.10:82'],
    );
    assert.deepEqual(
      table.services[1]!.reals.map((r) => r.key),
      ['198.18.1.22:80'],
    );
  });

  it('puts the sorry server in only while no real server has a weight above 0', () => {
    const m = model([vs('www', { sorryServer: { address: '198.18.1.99', port: 80 } })]);
    const sorryOf = (w: Record<string, number | null>) =>
      desiredTable(m, weights(w))
        .table.services[0]!.reals.filter((r) => r.sorry)
        .map((r) => [r.key, r.weight]);
    assert.deepEqual(sorryOf({ 'www/rs1': 1 }), []);
    assert.deepEqual(sorryOf({}), [['198.18.1.99:80', 1]]);
    assert.deepEqual(sorryOf({ 'www/rs1': 0, 'www/rs2': 0 }), [['198.18.1.99:80', 1]]);
    assert.deepEqual(sorryOf({ 'www/rs1': null, 'www/rs2': 2 }), []);
  });

  it('the one sorry-server rule: in exactly while no real server in the table has a weight above 0', () => {
    assert.equal(sorryServerIn([]), true, 'no real server in the table (all down, or none probed yet)');
    assert.equal(sorryServerIn([{ weight: 0 }, { weight: 0 }]), true, 'all quiesced or drained');
    assert.equal(sorryServerIn([{ weight: 0 }, { weight: 2 }]), false);
    assert.equal(sorryServerIn([{ weight: 1, sorry: true }]), true, 'the sorry server itself does not count');
    // a real server still unprobed (null) does not hold it out while the others are down
    const m = model([vs('www', { sorryServer: { address: '198.18.1.99', port: 80 } })]);
    const reals = (w: Record<string, number | null>) =>
      desiredTable(m, weights(w)).table.services[0]!.reals.map((r) => [r.key, r.weight, r.sorry ?? false]);
    assert.deepEqual(reals({ 'www/rs1': null }), [['198.18.1.99:80', 1, true]]);
    assert.deepEqual(reals({ 'www/rs1': 0, 'www/rs2': 3 }), [
      ['198.18.1.21:80', 0, false],
      ['198.18.1.22:80', 3, false],
    ]);
  });

  it('sorryChanges: the sorry servers that went in or out between two tables', () => {
    const m = model([
      vs('www', { sorryServer: { address: '198.18.1.99', port: 80 } }),
      vs('api', { port: 8080, sorryServer: { address: '198.18.1.98', port: 8080 } }),
    ]);
    const t = (w: Record<string, number | null>) => desiredTable(m, weights(w)).table;
    const up = t({ 'www/rs1': 1, 'api/rs1': 1 });
    const wwwDown = t({ 'www/rs1': null, 'www/rs2': 0, 'api/rs1': 1 });
    assert.deepEqual(sorryChanges(up, wwwDown), [{ vsName: 'www', in: true, server: '198.18.1.99:80' }]);
    assert.deepEqual(sorryChanges(wwwDown, up), [{ vsName: 'www', in: false, server: '198.18.1.99:80' }]);
    assert.deepEqual(sorryChanges(up, up), []);
    // a table that appears with a sorry server in (start, reload adding a virtual) counts as in
    assert.deepEqual(sorryChanges({ services: [], timeouts: up.timeouts }, wwwDown), [
      { vsName: 'www', in: true, server: '198.18.1.99:80' },
    ]);
  });

  it('writes persistence, pmask (prefix → dotted), udp, fwmark and IPv6 keys as ipvsadm -Sn prints them', () => {
    const m = model([
      vs('p', { persistentS: 600, pmask: '24', scheduler: 'rr' }),
      vs('u', { protocol: 'udp', port: 53, realServers: [rs('d', '198.18.1.21', { port: 5353 })] }),
      vs('f', { fwmark: 7, realServers: [rs('a', '198.18.1.21', { forwarding: 'direct' })] }),
      vs('six', {
        vip: { address: '2001:DB8:0:0::10', prefixLength: 128 },
        realServers: [rs('a', '2001:db8:1::21')],
      }),
      vs('hostmask', { port: 443, persistentS: 60, pmask: '255.255.255.255' }),
    ]);
    const w = weights({ 'p/rs1': 1, 'u/d': 1, 'f/a': 1, 'six/a': 1, 'hostmask/rs1': 1 });
    const { table } = desiredTable(m, w);
    const byName = new Map(table.services.map((s) => [s.vsName, s]));
    assert.equal(byName.get('p')!.pmask, '255.255.255.0');
    assert.equal(byName.get('p')!.persistentS, 600);
    assert.equal(byName.get('u')!.key, '-u 198.18.0.10:53');
    assert.equal(byName.get('u')!.reals[0]!.key, '198.18.1.21:5353');
    assert.equal(byName.get('f')!.key, '-f 7');
    assert.equal(
      byName.get('f')!.reals[0]!.key,
      '198.18.1.21:0',
      'direct routing: ipvsadm uses the service port',
    );
    assert.equal(byName.get('six')!.key, '-t [2001:db8::10]:80');
    assert.equal(byName.get('six')!.reals[0]!.key, '[2001:db8:1::21]:80');
    assert.equal(byName.get('hostmask')!.pmask, undefined);
  });

  it('clamps weights to 0–65535 and warns about duplicate services and real servers', () => {
    const m = model([vs('a', { realServers: [rs('x', '198.18.1.21'), rs('y', '198.18.1.21')] }), vs('b')]);
    const { table, warnings } = desiredTable(m, weights({ 'a/x': 1e9, 'a/y': 1, 'b/rs1': 1 }));
    assert.equal(table.services.length, 1);
    assert.equal(table.services[0]!.reals.length, 1);
    assert.equal(table.services[0]!.reals[0]!.weight, 65535);
    assert.equal(warnings.length, 2);
    assert.match(warnings.join('\n'), /already defined by virtual a/);
    assert.match(warnings.join('\n'), /duplicates 198\.18\.1\.21:80/);
  });

  it('modelKeys names inactive virtuals and removed real servers too (ownership survives restarts)', () => {
    const m = model([vs('www'), vs('off', { active: false, port: 81 })]);
    const keys = modelKeys(m);
    assert.ok(keys.has('-t 198.18.0.10:81'));
    assert.ok(keys.has('-t 198.18.0.10:80 -r 198.18.1.22:80'));
    assert.equal(serviceKey(m.virtualServers[0]!), '-t 198.18.0.10:80');
  });

  it('canonicalises IPv6 like inet_ntop and splits host:port defensively', () => {
    assert.equal(canonicalAddress('2001:0db8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
    assert.equal(canonicalAddress('2001:db8:0:1:0:0:0:1'), '2001:db8:0:1::1');
    assert.equal(canonicalAddress('::ffff:198.18.0.1'), '::ffff:c612:1');
    assert.deepEqual(splitHostPort('[2001:db8::1]:80'), { address: '2001:db8::1', port: 80 });
    assert.equal(splitHostPort('300.1.1.1:80'), undefined);
    assert.equal(splitHostPort('1.1.1.1:99999'), undefined);
    assert.equal(splitHostPort('[zz::1]:80'), undefined);
  });
});
