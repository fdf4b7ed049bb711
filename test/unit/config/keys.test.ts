import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { checkConfig, dumpConfig, type LvsModel } from '../../../src/config/index.js';
import { FORMATS, type Format, INTERFACE_FORMATS } from '../../../src/config/formats.js';
import { groupOf, type KeyDef, SCOPE_NAMES, SCOPES, type Scope } from '../../../src/config/keys.js';
import { LVSCF_KEYS } from '../../../src/config/lvscf.js';

const noHost = { fileExists: () => true, interfaceExists: () => true };
type Obj = Record<string, unknown>;
const get = (o: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((c, k) => (c && typeof c === 'object' ? (c as Obj)[k] : undefined), o);
const set = (o: Obj, path: string, v: unknown) => {
  const ks = path.split('.');
  let c = o;
  for (const k of ks.slice(0, -1)) {
    c[k] ??= {};
    c = c[k] as Obj;
  }
  c[ks[ks.length - 1]!] = v;
};

/** A value of the key's format (and its own check) that is not its default. */
function sample(k: KeyDef): unknown {
  const f = k.format as Format;
  const check = k.check as ((v: unknown) => string | undefined) | undefined;
  if (f === 'lvs-ip' && check)
    return ['198.18.0.77', '239.1.2.3', 'ff02::77'].find((a) => check(a) === undefined);
  if (typeof f !== 'string') return f.find((w) => w !== k.default);
  // A whole number with a check of its own (sync_daemon.version 0|1): the first that passes it.
  if (f === 'lvs-uint' && check) return [7, 1, 0].find((n) => n !== k.default && check(n) === undefined);
  const bySuffix: Record<string, unknown> = { device: 'eth9', label: 'eth9:1' };
  const last = k.path.split('.').pop()!;
  if (last in bySuffix) return bySuffix[last];
  const values: Partial<Record<keyof typeof FORMATS, unknown>> = {
    'lvs-str': 'x1',
    'lvs-bool': k.default !== true,
    'lvs-uint': 7,
    'lvs-pos': 3,
    'lvs-ms': 1500,
    'lvs-port': 8080,
    'lvs-prefix': 24,
    'lvs-rtprio': 5,
    'lvs-ttl': 3,
    'lvs-ip': '198.18.0.77',
    'lvs-netmask': '255.255.255.0',
    'lvs-str-list': ['eth1', 'eth2'],
    'lvs-ifname': 'eth9',
    'lvs-iflabel': 'eth9:1',
    'lvs-ifname-list': ['eth1', 'eth2'],
    'lvs-status-list': [200, 204],
    'lvs-feedback': 'exit-code',
  };
  return values[f];
}

/** The document values that make a key's optional group exist (an http key needs an http probe). */
const GROUP_NEEDS: Record<string, Obj> = {
  backup: { 'backup.address': '198.18.0.12' },
  natRouter: { 'nat_router.address': '198.18.1.1' },
  'heartbeat.multicast': { 'heartbeat.multicast.group': '239.1.2.3' },
  sorryServer: { 'sorry_server.address': '198.18.0.99' },
  'monitor.http': { 'monitor.kind': 'http' },
  'monitor.dns': { 'monitor.kind': 'dns' },
};

const ITEM_PATH: Record<Scope, string> = {
  global: '',
  virtual: 'virtual_servers.0.',
  server: 'virtual_servers.0.real_servers.0.',
  failover: 'failover_services.0.',
};

/** A small document with one of each item, and the keys set to their samples (with what their group needs). */
function documentWith(scope: Scope, keys: KeyDef[], group: string | undefined): Obj {
  const doc: Obj = {
    primary: { address: '198.18.0.11' },
    network: 'direct',
    virtual_servers: [
      { name: 'v', vip: { address: '198.18.0.10' }, real_servers: [{ name: 'r', address: '198.18.0.21' }] },
    ],
    failover_services: [{ name: 'f', vip: { address: '198.18.0.30' } }],
  };
  const scopeObj = (ITEM_PATH[scope] === '' ? doc : get(doc, ITEM_PATH[scope].slice(0, -1))) as Obj;
  for (const [p, v] of Object.entries(group ? GROUP_NEEDS[group]! : {})) set(scopeObj, p, v);
  for (const k of keys) set(scopeObj, k.path, sample(k));
  return doc;
}

/** A scope's keys in batches that can share one document: by optional group; keys a group needs alone. */
function batches(scope: Scope): [string | undefined, KeyDef[]][] {
  const needed = new Set(Object.values(GROUP_NEEDS).flatMap((n) => Object.keys(n)));
  const out = new Map<string, KeyDef[]>();
  for (const k of plainKeys(scope)) {
    const g = needed.has(k.path) ? `only ${k.path}` : (groupOf(scope, k.model)?.model ?? '');
    out.set(g, [...(out.get(g) ?? []), k]);
  }
  return [...out].map(([g, ks]) => [g in GROUP_NEEDS ? g : undefined, ks]);
}

const plainKeys = (scope: Scope) => SCOPES[scope].keys.filter((k) => !k.items);

describe('config/keys: the one table', () => {
  it('each default is a value of its key’s format (or null = unset)', () => {
    for (const scope of SCOPE_NAMES)
      for (const k of SCOPES[scope].keys) {
        if (k.default === null) continue;
        const f = k.format as Format;
        const problem =
          typeof f === 'string'
            ? FORMATS[f].check(k.default)
            : f.includes(k.default as string)
              ? undefined
              : 'not a word';
        assert.equal(problem, undefined, `${scope} ${k.path} default ${JSON.stringify(k.default)}`);
      }
  });

  it('every key that names an interface (by its path, lvs.cf name or doc) has an interface format', () => {
    // A device name reaches ip, ipvsadm, sysctl, nft and /proc, /sys paths: each such key must be checked
    // by lvs-ifname / lvs-iflabel / lvs-ifname-list (lib/ifname.ts), so a new key gets the check by its format.
    const deviceLike = /interface|device|iface|\blabel\b|\bnic\b|\blinks?\b.*\bwatch/i;
    const found: string[] = [];
    for (const scope of SCOPE_NAMES)
      for (const k of SCOPES[scope].keys) {
        const text = `${k.path} ${k.cf?.key ?? ''} ${k.doc}`;
        if (!deviceLike.test(text)) continue;
        found.push(`${scope} ${k.path}`);
        assert.ok(
          INTERFACE_FORMATS.includes(k.format),
          `${scope} ${k.path} names an interface but has format ${JSON.stringify(k.format)}`,
        );
      }
    // The table test is only as good as its match: it must see every device key we know of.
    for (const known of [
      'global nat_router.device',
      'global nat_router.label',
      'global heartbeat.multicast.interface',
      'global link_interfaces',
      'global sync_daemon.interface',
      'virtual vip.device',
      'virtual vip.label',
      'failover vip.device',
      'failover vip.label',
    ])
      assert.ok(found.includes(known), `${known} is not seen as device-like`);
  });

  it('a key left unset is optional in the model, computed by its entry, or the key of its optional group', () => {
    for (const scope of SCOPE_NAMES)
      for (const k of SCOPES[scope].keys)
        if (k.default === null)
          assert.ok(
            k.optional || k.unset || groupOf(scope, k.model)?.key === k.model,
            `${scope} ${k.path}: null default, but the model field is required and nothing computes it`,
          );
  });

  it('one default per key: a document that leaves a key out gets exactly the table’s default in the model', () => {
    // (NAT without nat_router is a semantic error; the model is built all the same.)
    const model = checkConfig('min.yaml', {
      host: noHost,
      text: 'virtual_servers: [{ monitor: { kind: tcp }, real_servers: [{}] }]\nfailover_services: [{}]\n',
    }).model!;
    const objects: Record<Scope, unknown> = {
      global: model,
      virtual: model.virtualServers[0],
      server: model.virtualServers[0]!.realServers[0],
      failover: model.failoverServices[0],
    };
    let checked = 0;
    for (const scope of SCOPE_NAMES)
      for (const k of plainKeys(scope)) {
        if (k.default === null || k.toModel || groupOf(scope, k.model)) continue;
        assert.deepEqual(get(objects[scope], k.model), k.default, `${scope} ${k.path} → ${k.model}`);
        checked++;
      }
    assert.ok(checked >= 50, `${checked} keys checked`);
    assert.equal(model.heartbeat.rtPriority, 10, 'rt_priority: the schema’s 10, no second default');
  });

  for (const scope of SCOPE_NAMES)
    it(`every ${scope} key is reachable from YAML and lvs.cf, and written back by both`, () => {
      let checked = 0;
      for (const [group, keys] of batches(scope)) {
        const doc = documentWith(scope, keys, group);
        const r = checkConfig('k.yaml', { text: JSON.stringify(doc), host: noHost });
        const schemaErrors = r.diagnostics.filter(
          (d) =>
            d.severity === 'error' && keys.some((k) => d.message.startsWith(`${ITEM_PATH[scope]}${k.path}:`)),
        );
        assert.deepEqual(schemaErrors, [], `${scope} ${keys.map((k) => k.path)}`);
        const model = r.model as LvsModel;
        const yaml = parse(dumpConfig(model, 'yaml'));
        const cf = dumpConfig(model, 'lvs.cf');
        for (const k of keys) {
          const where = `${scope} ${k.path}`;
          // YAML: the value comes back at its path.
          const back = get(yaml, ITEM_PATH[scope] + k.path);
          assert.deepEqual(back, sample(k), `${where}: the YAML dump has ${JSON.stringify(back)}`);
          // lvs.cf: the key is written under its lvs.cf name...
          if (k.cf?.conv)
            assert.match(cf, new RegExp(`^\\s*${k.cf.key} = `, 'm'), `${where}: no ${k.cf.key} in lvs.cf`);
          checked++;
        }
        // ... and the text reads back into the same model.
        assert.deepEqual(
          checkConfig('k.cf', { text: cf, host: noHost }).model,
          model,
          `${scope}: lvs.cf round trip`,
        );
      }
      assert.equal(checked, plainKeys(scope).length);
    });

  it('every lvs.cf key of the reader comes from an entry of its scope, old names included', () => {
    for (const scope of SCOPE_NAMES) {
      const names = new Set(
        SCOPES[scope].keys.flatMap((k) =>
          k.cf?.conv ? [k.cf.key, ...(k.cf.aliases ?? []), ...(k.cf.also ? [k.cf.also.key] : [])] : [],
        ),
      );
      assert.deepEqual(Object.keys(LVSCF_KEYS[scope]).sort(), [...names].sort(), scope);
    }
  });
});

describe('config/keys: old names and old values', () => {
  const removed = 'thread isolation was removed; the heartbeat runs in a child process';
  const yaml = (hb: string) =>
    checkConfig('o.yaml', {
      host: noHost,
      text: `primary: { address: 198.18.0.11 }\nnetwork: direct\nheartbeat:\n${hb}`,
    });

  it('YAML heartbeat.worker is read as heartbeat.isolation; thread and true as process (warned at the value), false as off', () => {
    for (const [v, want, warned] of [
      ['process', 'process', false],
      ['off', 'off', false],
      ['thread', 'process', true],
      ['true', 'process', true],
      ['false', 'off', false],
    ] as const)
      for (const key of ['worker', 'isolation']) {
        const r = yaml(`  ${key}: ${v}\n`);
        assert.equal(r.model!.heartbeat.isolation, want, `${key}: ${v}`);
        assert.deepEqual(
          r.diagnostics.filter((d) => d.message === removed).map((d) => [d.line, d.col, d.severity]),
          warned ? [[4, key.length + 5, 'warning']] : [],
          `${key}: ${v}`,
        );
        assert.ok(r.ok, `${key}: ${v} loads`);
      }
  });

  it('both names written: the current one wins, with a warning at the old key', () => {
    const r = yaml('  worker: off\n  isolation: process\n');
    assert.equal(r.model!.heartbeat.isolation, 'process');
    assert.deepEqual(
      r.diagnostics.map((d) => [d.line, d.col, d.severity, d.message]),
      [
        [
          4,
          3,
          'warning',
          "'heartbeat.worker' is the old name of 'heartbeat.isolation' and both are written; heartbeat.isolation is used",
        ],
      ],
    );
  });

  it('a schema error on a value written under the old name is reported at that value', () => {
    const r = yaml('  worker: 3\n');
    assert.deepEqual(
      r.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.line, d.col]),
      [[4, 11]],
    );
  });

  it('a dump writes the current names only', () => {
    const m = yaml('  worker: thread\n').model!;
    assert.match(dumpConfig(m, 'yaml'), /^ {2}isolation: process$/m);
    assert.doesNotMatch(dumpConfig(m, 'yaml'), /worker/);
    assert.match(dumpConfig(m, 'lvs.cf'), /^heartbeat_isolation = process$/m);
    assert.doesNotMatch(dumpConfig(m, 'lvs.cf'), /heartbeat_worker/);
  });
});

describe('config/keys: sync_daemon.mcast_group, a key added as one entry', () => {
  const cf = (line: string) =>
    checkConfig('s.cf', { host: noHost, text: `primary = 198.18.0.11\nnetwork = direct\n${line}\n` });

  it('is read from lvs.cf and YAML (canonical), checked as a multicast address at its value, written by both dumps', () => {
    const m = cf('syncd_mcast_group = FF02::0:81').model!;
    assert.equal(m.syncDaemon.mcastGroup, 'ff02::81');
    assert.match(dumpConfig(m, 'lvs.cf'), /^syncd_mcast_group = ff02::81$/m);
    assert.match(dumpConfig(m, 'yaml'), /^ {2}mcast_group: ff02::81$/m);
    const y = checkConfig('s.yaml', { host: noHost, text: 'sync_daemon: { mcast_group: 239.0.0.81 }\n' })
      .model!;
    assert.equal(y.syncDaemon.mcastGroup, '239.0.0.81');
    const bad = cf('syncd_mcast_group = 198.18.0.81').diagnostics.filter((d) => d.severity === 'error');
    assert.deepEqual(
      bad.map((d) => [d.line, d.col, d.message]),
      [
        [
          3,
          21,
          'syncd_mcast_group: must be a multicast address (224.0.0.0/4 or ff00::/8): value was "198.18.0.81"',
        ],
      ],
    );
    assert.equal(cf('').model!.syncDaemon.mcastGroup, undefined, 'unset: the kernel’s default');
  });
});
