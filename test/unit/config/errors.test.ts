import assert from 'node:assert/strict';
import { ConfigError, checkConfig, formatDiagnostic, loadConfig } from '../../../src/config/index.js';

const noHost = { fileExists: () => true, interfaceExists: () => true };
const errorLines = (path: string, text: string) =>
  checkConfig(path, { text, host: noHost })
    .diagnostics.filter((d) => d.severity === 'error')
    .map(formatDiagnostic);

describe('config: a file with several mistakes reports all of them with FILE:LINE:COL', () => {
  it('lvs.cf: lexer, parser, schema and semantic errors together, in file order', () => {
    const text = [
      'serial_no = 0x1F', // 1
      'primary = 198.18.0.11', // 2
      'backup = 198.18.0.12', // 3
      'keepalve = 2', // 4  unknown key
      'deadtime = 1', // 5  deadtime <= keepalive
      'keepalive = 2', // 6
      'heartbeat_port = 70000', // 7 port range
      'network = nat', // 8  no nat_router
      'virtual http {', // 9
      '\taddress = 198.18.0.11 eth0:1', // 10 VIP = router address
      '\tscheduler = wlcc', // 11 unknown scheduler
      '\tsend_program = "/bin/check %h %x"', // 12 bad placeholder
      '\tuse_regex = 1', // 13
      '\texpect = "HTTP(["', // 14 bad regex
      '\tserver rs1 {', // 15
      '\t\taddress = 198.18.1.21', // 16
      '\t\tweight = -1', // 17 weight < 0
      '\t}', // 18
      '\tserver rs1 {', // 19 duplicate name
      '\t\taddress = 198.18.1.21', // 20 duplicate address:port
      '\t}', // 21
      '}', // 22
      'virtual http {', // 23 duplicate virtual name
      '\taddress = 198.18.0.300 eth0:2', // 24 bad address
      '\tprotocol = sctp', // 25 bad protocol
      '\tsend = "unterminated', // 26 quoting
      '}', // 27
    ].join('\n');
    assert.deepEqual(errorLines('bad.cf', text), [
      "bad.cf:4:1: unknown key 'keepalve' at the top level; did you mean 'keepalive'?",
      'bad.cf:5:12: deadtime (1000 ms) must be greater than keepalive (2000 ms)',
      'bad.cf:7:18: heartbeat_port: must be a port number 1–65535: value was 70000',
      'bad.cf:8:11: NAT forwarding needs nat_router (the real servers’ gateway address, e.g. nat_router = 198.18.1.1 eth1:1)',
      "bad.cf:10:12: virtual server 'http': VIP 198.18.0.11 is a router's own address (primary.address); a VIP must float",
      'bad.cf:11:14: virtual http: scheduler: must be one of the possible values: ["rr","wrr","lc","wlc","lblc","lblcr","dh","sh","sed","nq","mh","fo","ovf","twos"]: value was "wlcc"',
      "bad.cf:12:17: virtual server 'http': send_program may only use %h (address) and %p (port), not %x",
      "bad.cf:14:11: virtual server 'http': expect is not a POSIX extended regular expression the probe can run: at character 6: unmatched '[' (a bracket expression needs its ']')",
      'bad.cf:17:12: virtual http, server rs1: weight: must be an integer ≥ 0: value was -1',
      "bad.cf:19:9: virtual server 'http': real server name 'rs1' is used twice",
      "bad.cf:20:13: virtual server 'http', real server 'rs1': 198.18.1.21:80 is already real server 'rs1'",
      "bad.cf:23:9: virtual server name 'http' is used twice",
      'bad.cf:24:12: virtual http: address: must be an IPv4 (dotted quad) or IPv6 address: value was "198.18.0.300"',
      'bad.cf:25:13: virtual http: protocol: must be one of the possible values: ["tcp","udp"]: value was "sctp"',
      'bad.cf:26:9: unterminated quoted value (no closing ")',
    ]);
  });

  it('YAML: unknown keys (with suggestion), types, ranges, items, duplicates — each at its line:col', () => {
    const text = [
      'serial_no: 1', // 1
      'primary:', // 2
      '  address: 198.18.0.11', // 3
      'backup:', // 4
      '  adress: 198.18.0.12', // 5 unknown key
      'network: direct', // 6
      'heartbeat:', // 7
      '  keepalive_ms: 200', // 8
      '  deadtime_ms: 100', // 9 deadtime <= keepalive
      '  port: "x"', // 10 type
      'virtual_servers:', // 11
      '  - name: http', // 12
      '    vip: { address: 198.18.0.10 }', // 13
      '    port: 70000', // 14 range
      '    scheduler: wlcc', // 15 enum
      '    real_servers:', // 16
      '      - { name: a, address: 198.18.1.21, weight: -2 }', // 17
      '      - { name: a, address: 198.18.1.300 }', // 18 dup name, bad address
      '  - 5', // 19 not a mapping
    ].join('\n');
    assert.deepEqual(errorLines('bad.yaml', text), [
      "bad.yaml:5:3: unknown key 'adress' in backup; did you mean 'address'?",
      'bad.yaml:9:16: deadtime (100 ms) must be greater than keepalive (200 ms)',
      'bad.yaml:10:9: heartbeat.port: must be a port number 1–65535: value was "x"',
      'bad.yaml:14:11: virtual_servers.0.port: must be a port number 1–65535: value was 70000',
      'bad.yaml:15:16: virtual_servers.0.scheduler: must be one of the possible values: ["rr","wrr","lc","wlc","lblc","lblcr","dh","sh","sed","nq","mh","fo","ovf","twos"]: value was "wlcc"',
      'bad.yaml:17:50: virtual_servers.0.real_servers.0.weight: must be an integer ≥ 0: value was -2',
      "bad.yaml:18:17: virtual server 'http': real server name 'a' is used twice",
      'bad.yaml:18:29: virtual_servers.0.real_servers.1.address: must be an IPv4 (dotted quad) or IPv6 address: value was "198.18.1.300"',
      'bad.yaml:19:5: virtual_servers.1: must be a mapping of keys',
    ]);
  });

  it('YAML syntax errors and duplicate keys carry their position', () => {
    const dup = errorLines('d.yaml', 'primary:\n  address: 198.18.0.11\nnetwork: direct\nnetwork: nat\n');
    assert.equal(dup.length, 1);
    assert.match(dup[0]!, /^d\.yaml:4:1: .*[Uu]nique/);
    const syn = errorLines('s.yaml', 'primary:\n  address: [198.18.0.11\nnetwork: direct\n');
    assert.ok(syn.length >= 1);
    assert.match(syn[0]!, /^s\.yaml:\d+:\d+: /);
  });

  it('JSON is read with positions too', () => {
    const lines = errorLines(
      'c.json',
      '{\n  "primary": { "address": "198.18.0.11" },\n  "network": "direct",\n  "heartbeat": { "port": 0 }\n}\n',
    );
    assert.deepEqual(lines, ['c.json:4:26: heartbeat.port: must be a port number 1–65535']);
  });

  it('a line in error is reported once (no follow-up "missing" errors for the same key)', () => {
    assert.deepEqual(
      errorLines('m.cf', 'primary =\nbackup = 198.18.0.12\nnetwork = direct\nvirtual v {\n address =\n}\n'),
      ["m.cf:1:10: missing value for 'primary'", "m.cf:5:11: missing value for 'address'"],
    );
  });

  it('loadConfig throws one ConfigError holding every diagnostic', () => {
    let caught: unknown;
    try {
      loadConfig('x.cf', 'primary = 198.18.0.11\nnetwork = direct\nkeepalive = a\ndeadtime = b\n');
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof ConfigError);
    assert.deepEqual(
      caught.diagnostics.map((d) => [d.line, d.col]),
      [
        [3, 13],
        [4, 12],
      ],
    );
    assert.equal(
      caught.message,
      "x.cf:3:13: 'a' is not a number of seconds\nx.cf:4:12: 'b' is not a number of seconds",
    );
  });

  it('a missing file is a ConfigError, and checkConfig reports it instead of throwing', () => {
    assert.throws(
      () => loadConfig('/nonexistent/lvs.cf'),
      (e: unknown) => e instanceof ConfigError && /ENOENT/.test(e.message),
    );
    const r = checkConfig('/nonexistent/lvs.cf');
    assert.equal(r.ok, false);
    assert.match(
      formatDiagnostic(r.diagnostics[0]!),
      /^\/nonexistent\/lvs\.cf:1:1: cannot read the file: ENOENT/,
    );
  });
});
