/**
 * Interface names in the config (issue 17 item 1): every device-like key accepts a name only as the
 * kernel allows one (lib/ifname.ts), in both front ends, with FILE:LINE:COL at the value.
 */
import assert from 'node:assert/strict';
import { checkConfig, type ConfigDiagnostic } from '../../../src/config/index.js';
import {
  addressLabelProblem,
  assertInterfaceName,
  interfaceNameProblem,
  ipv4ConfSysctlKey,
  sysClassNetPath,
} from '../../../src/lib/ifname.js';

const noHost = { fileExists: () => true, interfaceExists: () => true };

/** Names the kernel, iproute2 or a path would misread: each must be refused. */
const HOSTILE = [
  'x";drop;#',
  'eth0;reboot',
  "it's",
  'a b',
  'a\tb',
  'a\nb',
  '{}',
  'x}',
  '#x',
  '..',
  '.',
  '../../etc',
  'eth0/x',
  'eth0:1', // a label is not a device
  '-x',
  '--help',
  '',
  'sixteen-chars-xx',
  'ethé',
  'eth0\u0000',
  '$(id)',
  '`id`',
];
/** Real names: each must be accepted. */
const GOOD = ['eth0', 'eth0.100', 'bond0', 'br-lan', 'veth_a@x', 'wlp3s0', 'e', 'fifteen-chars-x', 'all'];

describe('lib/ifname: interface names as the kernel allows them', () => {
  it('accepts real device names and refuses every hostile shape, saying why', () => {
    for (const n of GOOD) assert.equal(interfaceNameProblem(n), undefined, n);
    for (const n of HOSTILE) assert.match(interfaceNameProblem(n) ?? '', /\w/, JSON.stringify(n));
    assert.equal(interfaceNameProblem('..'), "is '..' (a path step)");
  });

  it('labels: DEV or DEV:LABEL, 15 characters in all, both parts checked', () => {
    for (const l of ['eth0', 'eth0:1', 'eth0:web', 'bond0.7:a-b'])
      assert.equal(addressLabelProblem(l), undefined, l);
    for (const l of [
      'eth0:',
      ':1',
      'x;y:1',
      'eth0:1;x',
      'eth0:1:2',
      'eth0:a b',
      'eth0:1234567890ab',
      '../x:1',
    ])
      assert.ok(addressLabelProblem(l), l);
  });

  it('the paths and sysctl keys built from a name cannot leave their directory', () => {
    assert.equal(sysClassNetPath('eth0.100', 'operstate'), '/sys/class/net/eth0.100/operstate');
    assert.equal(ipv4ConfSysctlKey('eth0.100', 'send_redirects'), 'net/ipv4/conf/eth0.100/send_redirects');
    for (const n of HOSTILE) {
      assert.throws(() => sysClassNetPath(n, 'address'), /interface name/, JSON.stringify(n));
      assert.throws(() => ipv4ConfSysctlKey(n, 'send_redirects'), /interface name/, JSON.stringify(n));
      assert.throws(() => assertInterfaceName(n), /interface name/);
    }
    assert.throws(() => sysClassNetPath('eth0', '../x'), /attribute/);
  });
});

const errorsOf = (file: string, text: string): ConfigDiagnostic[] =>
  checkConfig(file, { text, host: noHost }).diagnostics.filter((d) => d.severity === 'error');

/** The one error of a file, as [line, col, message]. */
function oneError(file: string, text: string): [number, number, string] {
  const errs = errorsOf(file, text);
  assert.equal(errs.length, 1, `${file}: ${JSON.stringify(errs.map((e) => e.message))}\n${text}`);
  return [errs[0]!.line, errs[0]!.col, errs[0]!.message];
}

/** lvs.cf quoting of a value (the file must carry the hostile name as one value). */
const cfWord = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

const CF_BASE = ['primary = 198.18.0.11', 'backup = 198.18.0.12', 'network = direct'];
const cfWith = (lines: string[], vip = 'eth0:1') =>
  [
    ...CF_BASE,
    ...lines,
    'virtual web {',
    `  address = 198.18.0.10 ${vip}`,
    '  server rs1 {',
    '    address = 198.18.1.21',
    '  }',
    '}',
    '',
  ].join('\n');

const yamlWith = (top: string, vip = '{ address: 198.18.0.10 }') =>
  [
    'primary: { address: 198.18.0.11 }',
    'network: direct',
    top,
    'virtual_servers:',
    `  - { name: web, vip: ${vip}, real_servers: [{ name: rs1, address: 198.18.1.21 }] }`,
    '',
  ].join('\n');

describe('config: every device-like key refuses a name the kernel would not take (both front ends)', () => {
  it('the files without a bad name are clean (the cases below differ only by the name)', () => {
    assert.deepEqual(errorsOf('ok.cf', cfWith(['syncd_iface = eth1'])), []);
    assert.deepEqual(errorsOf('ok.yaml', yamlWith('sync_daemon: { interface: eth1 }')), []);
  });

  // `:` is the label separator in lvs.cf's `ADDRESS dev:N`; a device-only key gets it as a plain value.
  const cfNames = HOSTILE.filter((n) => n !== '' && !n.includes('\u0000'));

  for (const [key, col] of [
    ['syncd_iface', 15],
    ['heartbeat_multicast_interface', 33],
  ] as const)
    it(`lvs.cf ${key}: refused at its value`, () => {
      for (const n of cfNames) {
        const [line, c, msg] = oneError('h.cf', cfWith([`${key} = ${cfWord(n)}`]));
        assert.deepEqual([line, c], [4, col], `${JSON.stringify(n)}: ${msg}`);
        assert.match(msg, new RegExp(`^${key}: must be an interface name: it `));
      }
    });

  it('lvs.cf link_interfaces: a bad item is named, at the value', () => {
    for (const n of cfNames.filter((x) => !/[\s,]/.test(x))) {
      const [line, col, msg] = oneError('l.cf', cfWith([`link_interfaces = eth0 ${cfWord(n)}`]));
      assert.deepEqual([line, col], [4, 19], `${JSON.stringify(n)}: ${msg}`);
      assert.match(msg, /link_interfaces: must be a list of interface names: item 2 /);
    }
  });

  it('lvs.cf VIP and nat_router `ADDRESS dev:N`: device and label part, at the device word', () => {
    for (const n of cfNames.filter((x) => !/[\s:]/.test(x) && !x.startsWith('#'))) {
      const [line, col, msg] = oneError('v.cf', cfWith([], `${n}:1`));
      assert.deepEqual([line, col], [5, 25], `${JSON.stringify(n)}: ${msg}`);
      assert.match(msg, /^virtual web: address: must be an interface name: it /);
      const nat = cfWith(['network = nat', `nat_router = 198.18.1.1 ${n}`]);
      const [nl, nc, nm] = oneError('n.cf', nat.replace('network = direct\n', ''));
      assert.deepEqual([nl, nc], [4, 25], `${JSON.stringify(n)}: ${nm}`);
      assert.match(nm, /^nat_router: must be an interface name: it /);
    }
    const [line, col, msg] = oneError('v.cf', cfWith([], 'eth0:1;reboot'));
    assert.deepEqual([line, col], [5, 25]);
    assert.match(msg, /iproute2 label .*label part/);
  });

  it('the issue’s own case: `nat_router = 198.18.1.1 x";drop;#` is refused at 4:25', () => {
    const text = cfWith(['network = nat', 'nat_router = 198.18.1.1 x";drop;#']).replace(
      'network = direct\n',
      '',
    );
    const [line, col, msg] = oneError('lvs.cf', text);
    assert.deepEqual([line, col], [4, 25]);
    assert.match(msg, /nat_router: must be an interface name: it has a character other than/);
  });

  /** Line and column (1-based) where `needle` first appears in `text`. */
  const at = (text: string, needle: string): [number, number] => {
    const i = text.indexOf(needle);
    assert.ok(i >= 0, `${needle} in ${text}`);
    const before = text.slice(0, i).split('\n');
    return [before.length, before[before.length - 1]!.length + 1];
  };
  const q = (s: string) => JSON.stringify(s);
  // [what, the document with name n, the text the error must point at, the message]
  const yamlCases: [string, (n: string) => string, (n: string) => string, RegExp][] = [
    [
      'vip.device',
      (n) => yamlWith('', `{ address: 198.18.0.10, device: ${q(n)} }`),
      q,
      /virtual_servers\.0\.vip\.device: must be an interface name/,
    ],
    [
      'vip.label',
      (n) => yamlWith('', `{ address: 198.18.0.10, label: ${q(`${n}:1`)} }`),
      (n) => q(`${n}:1`),
      /virtual_servers\.0\.vip\.label: must be an interface name or an iproute2 label/,
    ],
    [
      'nat_router.device',
      (n) => yamlWith(`nat_router: { address: 198.18.1.1, device: ${q(n)} }`),
      q,
      /^nat_router\.device: must be an interface name/,
    ],
    [
      'nat_router.label',
      (n) => yamlWith(`nat_router: { address: 198.18.1.1, label: ${q(`${n}:1`)} }`),
      (n) => q(`${n}:1`),
      /^nat_router\.label: /,
    ],
    [
      'sync_daemon.interface',
      (n) => yamlWith(`sync_daemon: { interface: ${q(n)} }`),
      q,
      /^sync_daemon\.interface: must be an interface name/,
    ],
    [
      'heartbeat.multicast.interface',
      (n) => yamlWith(`heartbeat: { multicast: { group: 239.1.2.3, interface: ${q(n)} } }`),
      q,
      /^heartbeat\.multicast\.interface: must be an interface name/,
    ],
    [
      'link_interfaces',
      (n) => yamlWith(`link_interfaces: [eth0, ${q(n)}]`),
      () => '[eth0',
      /^link_interfaces: must be a list of interface names: item 2 /,
    ],
    [
      'failover vip.device',
      (n) =>
        `${yamlWith('')}failover_services: [{ name: f, vip: { address: 198.18.0.30, device: ${q(n)} } }]\n`,
      q,
      /failover_services\.0\.vip\.device: must be an interface name/,
    ],
  ];
  for (const [what, doc, value, re] of yamlCases)
    it(`YAML ${what}: refused at its value`, () => {
      for (const n of HOSTILE) {
        if (what.endsWith('label') && (n.includes(':') || n === '')) continue; // the device part is what is tested
        const text = doc(n);
        const [line, col, msg] = oneError('c.yaml', text);
        assert.deepEqual([line, col], at(text, value(n)), `${JSON.stringify(n)}: ${msg}`);
        assert.match(msg, re, JSON.stringify(n));
      }
    });
});
