import assert from 'node:assert/strict';
import { checkConfig, loadConfig } from '../../../src/config/index.js';
import { checkHost } from '../../../src/config/hostcheck.js';

const noHost = { fileExists: () => true, interfaceExists: () => true };
const HEAD = 'primary = 198.18.0.11\nbackup = 198.18.0.12\nheartbeat_key_file = /k\nnetwork = direct\n';
const vs = (body: string, name = 'v') =>
  `virtual ${name} {\n address = 198.18.0.10 eth0:1\n${body}\n server a {\n  address = 198.18.0.21\n }\n}\n`;
/** Messages (errors and warnings) of a config, without position. */
const issues = (text: string, file = 't.cf') =>
  checkConfig(file, { text, host: noHost }).diagnostics.map((d) => `${d.severity}: ${d.message}`);
const has = (text: string, re: RegExp, severity: 'error' | 'warning' = 'error') =>
  assert.ok(
    issues(text).some((m) => m.startsWith(severity) && re.test(m)),
    `expected ${severity} ${re} in:\n${issues(text).join('\n')}`,
  );

describe('config/semantic', () => {
  it('a clean config has no diagnostics at all', () => {
    assert.deepEqual(issues(HEAD + vs(' port = 443')), []);
  });

  it('addresses and masks: bad IPs, bad netmasks, too long prefixes, labels', () => {
    has(`${HEAD}${vs(' port = 443').replace('198.18.0.21', '198.18.0.256')}`, /must be an IPv4/);
    has(`${HEAD}${vs(' vip_nmask = 255.0.255.0')}`, /not a valid netmask/);
    has(`${HEAD}${vs(' pmask = 255.255.0.255')}`, /netmask/);
    const y = (vip: string) =>
      `primary: { address: 198.18.0.11 }\nnetwork: direct\nvirtual_servers:\n  - name: v\n    vip: ${vip}\n    real_servers: [{ name: a, address: 198.18.0.21 }]\n`;
    const yissues = (vip: string) =>
      checkConfig('t.yaml', { text: y(vip), host: noHost }).diagnostics.map((d) => d.message);
    assert.ok(
      yissues('{ address: 198.18.0.10, prefix_length: 33 }').some((m) =>
        /prefix length 33 is too long for IPv4/.test(m),
      ),
    );
    assert.ok(
      yissues('{ address: 198.18.0.10, prefix_length: 129 }').some((m) => /prefix length 0–128/.test(m)),
    );
    assert.ok(
      yissues('{ address: 198.18.0.10, device: eth0, label: eth1:1 }').some((m) =>
        /label 'eth1:1' must be 'eth0' or start with 'eth0:'/.test(m),
      ),
    );
    assert.ok(
      yissues('{ address: "2001:db8::10" }').some((m) => /address family differs from the VIP/.test(m)),
    );
    assert.deepEqual(
      yissues('{ address: "2001:DB8:0::10", prefix_length: 64 }').filter((m) => !/family/.test(m)),
      [],
    );
  });

  it('a VIP, the NAT router or a real server on a router’s own address', () => {
    has(HEAD + vs('').replace('198.18.0.10', '198.18.0.12'), /VIP 198\.18\.0\.12 is a router's own address/);
    has(
      'primary = 198.18.0.11\nnetwork = nat\nnat_router = 198.18.0.11 eth1:1\n' + vs(''),
      /nat_router 198\.18\.0\.11 is a router's own address/,
    );
    has(HEAD + vs('').replace('198.18.0.21', '198.18.0.11'), /is a router's own address/, 'warning');
    has('primary = 198.18.0.11\nbackup = 198.18.0.11\n', /already used by primary\.address/);
  });

  it('ports 1–65535 everywhere a port is written', () => {
    has(`${HEAD}heartbeat_port = 0\n`, /heartbeat_port: must be a port number 1–65535/);
    has(HEAD + vs(' port = 65536'), /port: must be a port number/);
    has(
      HEAD + vs('').replace('  address = 198.18.0.21', '  address = 198.18.0.21\n  port = -1'),
      /port: must be a port number/,
    );
  });

  it('deadtime must exceed keepalive, with a warning under 3×', () => {
    has(
      `${HEAD}keepalive = 1\ndeadtime = 1\n`,
      /deadtime \(1000 ms\) must be greater than keepalive \(1000 ms\)/,
    );
    has(`${HEAD}keepalive = 0.05\ndeadtime = 0.1\n`, /under 3 × keepalive/, 'warning');
    assert.ok(
      !issues(`${HEAD}keepalive = 6\ndeadtime = 18\n`).some((m) => /keepalive/.test(m)),
      'exactly 3× is fine',
    );
  });

  it('duplicate virtual names, real server names, services and address:port pairs', () => {
    has(HEAD + vs(' port = 443') + vs(' port = 444'), /virtual server name 'v' is used twice/);
    has(
      HEAD + vs(' port = 443', 'a') + vs(' port = 443', 'b'),
      /the service tcp 198\.18\.0\.10:443 is already defined/,
    );
    has(HEAD + vs(' fwmark = 7', 'a') + vs(' fwmark = 7', 'b'), /fwmark 7 \(IPv4\) is already defined/);
    const twoRs = vs('').replace(' server a {', ' server a {\n  address = 198.18.0.22\n }\n server a {');
    has(HEAD + twoRs, /real server name 'a' is used twice/);
    const sameAddr = vs('').replace(' server a {', ' server b {\n  address = 198.18.0.21\n }\n server a {');
    has(HEAD + sameAddr, /198\.18\.0\.21:80 is already real server 'b'/);
  });

  it('a VIP shared by virtual servers should be declared the same way in each (warning)', () => {
    has(
      HEAD + vs(' port = 443', 'a') + vs(' port = 444', 'b').replace('eth0:1', 'eth0:2'),
      /VIP 198\.18\.0\.10 is declared with another device, label or netmask than in virtual server 'a'/,
      'warning',
    );
    assert.deepEqual(issues(HEAD + vs(' port = 443', 'a') + vs(' port = 444', 'b')), []);
  });

  it('known schedulers and protocols only', () => {
    has(HEAD + vs(' scheduler = fifo'), /scheduler: must be one of/);
    has(HEAD + vs(' protocol = sctp'), /protocol: must be one of/);
    assert.deepEqual(issues(HEAD + vs(' scheduler = mh\n protocol = udp\n probe = tcp')), []);
  });

  it('a fwmark service still needs its VIP address (Piranha writes it)', () => {
    has(
      `${HEAD}virtual v {\n fwmark = 5\n server a {\n  address = 198.18.0.21\n }\n}\n`,
      /needs address \(the VIP\), also with fwmark/,
    );
  });

  it('NAT needs nat_router (global network or a real server forwarding = nat)', () => {
    has(HEAD.replace('network = direct', 'network = nat') + vs(''), /NAT forwarding needs nat_router/);
    has(
      HEAD + vs('').replace('  address = 198.18.0.21', '  address = 198.18.0.21\n  forwarding = nat'),
      /needs nat_router/,
    );
    assert.deepEqual(
      issues(HEAD.replace('network = direct', 'network = nat\nnat_router = 198.18.1.1 eth1:1') + vs('')),
      [],
    );
  });

  it('send_program placeholders are %h and %p only; the program probe needs one', () => {
    has(HEAD + vs(' send_program = "/bin/chk %h %p %u"'), /not %u/);
    has(HEAD + vs(' send_program = "/bin/chk 100%"'), /not %/);
    assert.deepEqual(issues(HEAD + vs(' send_program = "/bin/chk %h:%p 100%%"\n expect = OK')), []);
    has(HEAD + vs(' probe = program'), /probe program needs send_program/);
  });

  it('expect must compile as a regex when use_regex = 1 (and only then)', () => {
    has(HEAD + vs(' use_regex = 1\n expect = "a(b"'), /expect is not a POSIX extended regular expression the probe can run: at character 2: unmatched '\('/);
    assert.deepEqual(issues(HEAD + vs(' expect = "a(b"')), []);
  });

  it('weights ≥ 0 (0 allowed)', () => {
    has(
      HEAD + vs('').replace('  address = 198.18.0.21', '  address = 198.18.0.21\n  weight = -3'),
      /weight: must be an integer ≥ 0/,
    );
    assert.deepEqual(
      issues(HEAD + vs('').replace('  address = 198.18.0.21', '  address = 198.18.0.21\n  weight = 0')),
      [],
    );
  });

  it('heartbeat authentication, backups and multicast', () => {
    has('primary = 198.18.0.11\nbackup = 198.18.0.12\nnetwork = direct\n', /not authenticated/, 'warning');
    has(
      `${HEAD}heartbeat_auth = hmac\n`.replace('heartbeat_key_file = /k\n', ''),
      /hmac needs heartbeat_key_file/,
    );
    has('primary = 198.18.0.11\nbackup_active = 1\nnetwork = direct\n', /backup_active is set but no backup/);
    has(`${HEAD}heartbeat_multicast_group = 198.18.0.99\n`, /not a multicast address/);
    has('backup = 198.18.0.12\nnetwork = direct\n', /primary router address is missing/);
  });

  it('direct routing cannot change ports (warning); probes need what they use', () => {
    has(
      HEAD + vs(' port = 80').replace('  address = 198.18.0.21', '  address = 198.18.0.21\n  port = 8080'),
      /cannot change the port/,
      'warning',
    );
    has(HEAD + vs(' probe = dns'), /probe dns needs dns_name/);
    has(
      HEAD + vs(' probe = http\n http_body_regex = "(("'),
      /http_body_regex is not a POSIX extended regular expression the probe can run/,
    );
    has(HEAD + vs(' load_monitor = "http://["'), /not a valid URL/);
    has(HEAD + vs(' feedback = exit-code'), /feedback exit-code needs the program probe/);
    has(HEAD + vs(' feedback = header:X-W'), /needs an http or https probe/);
    has(HEAD + vs(' feedback = sometimes'), /feedback: must be none, exit-code or header:NAME/);
    assert.deepEqual(
      issues(HEAD + vs(' send_program = "/bin/w %h"\n expect = ok\n feedback = exit-code')),
      [],
    );
  });

  it('an unset value is reported at the nearest key written in its section', () => {
    const r = checkConfig('t.cf', {
      text: 'primary = 198.18.0.11\nbackup = 198.18.0.12\nnetwork = direct\nheartbeat_port = 539\n',
      host: noHost,
    });
    const w = r.diagnostics.find((d) => /not authenticated/.test(d.message))!;
    assert.deepEqual([w.line, w.col], [4, 18]);
  });
});

describe('config/hostcheck', () => {
  it('missing key files, programs and interfaces are warnings naming the path', () => {
    const { model } = loadConfig(
      'h.cf',
      `${HEAD}active_cmd = "/usr/local/bin/up now"\ninactive_cmd = down\nmonitor_links = 1\nlink_interfaces = eth9\n${vs(' send_program = "/opt/chk %h"')}`,
    );
    const seen: string[] = [];
    const host = {
      fileExists: (p: string) => {
        seen.push(p);
        return false;
      },
      interfaceExists: (n: string) => {
        seen.push(`if:${n}`);
        return n === 'eth0';
      },
    };
    const w = checkHost(model, host);
    assert.ok(w.every((x) => x.severity === 'warning'));
    assert.deepEqual(
      w.map((x) => [x.path, x.message]),
      [
        ['heartbeat.key_file', 'heartbeat key file /k does not exist on this host'],
        ['hooks.active_cmd', 'active_cmd /usr/local/bin/up does not exist on this host'],
        ['hooks.inactive_cmd', "inactive_cmd 'down' is not an absolute path (no shell, no PATH search)"],
        ['link_interfaces.0', 'link_interfaces interface eth9 does not exist on this host'],
        [
          'virtual_servers.0.monitor.send_program',
          "virtual server 'v' send_program /opt/chk does not exist on this host",
        ],
      ],
    );
    assert.ok(seen.includes('if:eth0'));
  });

  it('checkConfig reports host problems as warnings and still exits ok', () => {
    const r = checkConfig('t.cf', {
      text: HEAD + vs(''),
      host: { fileExists: () => false, interfaceExists: () => false },
    });
    assert.equal(r.ok, true);
    assert.ok(r.diagnostics.length >= 2 && r.diagnostics.every((d) => d.severity === 'warning'));
    assert.ok(r.summary);
  });
});
