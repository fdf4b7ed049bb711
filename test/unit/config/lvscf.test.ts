import assert from 'node:assert/strict';
import {
  LVSCF_KEYS,
  lexLine,
  parseLvsCf,
  SERVICE_PORTS,
  secondsToMs,
  strtol0,
} from '../../../src/config/lvscf.js';
import {
  documentSchema,
  failoverSchema,
  isLeaf,
  realServerSchema,
  type SchemaNode,
  virtualServerSchema,
} from '../../../src/config/schema.js';
import { checkConfig, dumpConfig, loadConfig } from '../../../src/config/index.js';

const BASE = 'primary = 198.18.0.11\nnetwork = direct\n';
const load = (text: string) => loadConfig('t.cf', text);
const errorsOf = (text: string) => parseLvsCf(text, 't.cf').diagnostics.filter((d) => d.severity === 'error');

describe('config/lvscf: lexer', () => {
  it('reads strtol base-0 forms like C: decimal, 0x hex, leading-0 octal, signs', () => {
    assert.equal(strtol0('42'), 42);
    assert.equal(strtol0('0x1F'), 31);
    assert.equal(strtol0('0X1f'), 31);
    assert.equal(strtol0('017'), 15);
    assert.equal(strtol0('0'), 0);
    assert.equal(strtol0('-12'), -12);
    assert.equal(strtol0('+7'), 7);
    for (const bad of ['08', '0x', '1.5', '12a', '', 'x', '0b1', ' 1'])
      assert.equal(strtol0(bad), undefined, bad);
  });

  it('reads seconds as whole ms, fractional allowed, finer than 1 ms refused', () => {
    assert.equal(secondsToMs('6'), 6000);
    assert.equal(secondsToMs('0.05'), 50);
    assert.equal(secondsToMs('0.07'), 70);
    assert.equal(secondsToMs('.5'), 500);
    assert.equal(secondsToMs('010'), 8000, 'octal, as strtol');
    assert.match(String(secondsToMs('0.0001')), /finer than the 1 ms/);
    assert.match(String(secondsToMs('abc')), /not a number of seconds/);
  });

  it('splits on blanks and tabs, keeps quoted values whole, expands escapes, records columns', () => {
    const { tokens, error } = lexLine('\tsend =  "GET / HTTP/1.0\\r\\n\\r\\n"\t', 3);
    assert.equal(error, undefined);
    assert.deepEqual(
      tokens.map((t) => [t.text, t.quoted, t.line, t.col]),
      [
        ['send', false, 3, 2],
        ['=', false, 3, 7],
        ['GET / HTTP/1.0\r\n\r\n', true, 3, 10],
      ],
    );
    assert.equal(lexLine(`x = 'a\\'b\\"c\\\\d\\te\\nf'`, 1).tokens[2]!.text, `a'b"c\\d\te\nf`);
    assert.equal(lexLine('x = "a\\qb"', 1).tokens[2]!.text, 'a\\qb', 'unknown escapes are kept');
    assert.match(lexLine('x = "abc', 1).error!.message, /unterminated/);
    assert.equal(lexLine('x = "abc"def', 1).error!.col, 10);
  });
});

describe('config/lvscf: parser', () => {
  it('knows every key of the issue and maps each to a schema path (so each is also a YAML key)', () => {
    const issueKeys = {
      global:
        'serial_no service primary primary_private backup backup_private backup_active heartbeat heartbeat_port keepalive deadtime network nat_router nat_nmask rsh_command sync debug_level ipvsadm monitor_links syncdaemon syncd_iface syncd_id tcp_timeout tcpfin_timeout udp_timeout hard_shutdown active_cmd inactive_cmd primary_shared backup_shared reservation_conflict_action ' +
        'heartbeat_key_file heartbeat_key_file_old heartbeat_auth heartbeat_multicast_group heartbeat_multicast_interface heartbeat_multicast_ttl piranha_compat preempt preempt_delay handover_timeout rt_priority heartbeat_worker lb_backend hot_standby lb_on_stop notify_cmd hook_timeout arp_count arp_interval arp_repeat_delay arp_repeat_count arp_refresh arp_form primary_priority backup_priority link_interfaces metrics_listen',
      virtual:
        'active address vip_nmask sorry_server fwmark protocol port scheduler persistent pmask send expect use_regex send_program load_monitor timeout reentry quiesce_server client_monitor ' +
        'interval rise fall jitter probe http_path http_status http_body_regex http_host http_sni http_insecure dns_name dns_type probe_source slow_start',
      server: 'address active weight port forwarding',
      failover: 'active address vip_nmask port send expect timeout start_cmd stop_cmd',
    } as const;
    const schemas: Record<string, SchemaNode> = {
      global: documentSchema,
      virtual: virtualServerSchema,
      server: realServerSchema,
      failover: failoverSchema,
    };
    for (const [scope, keys] of Object.entries(issueKeys)) {
      const table = LVSCF_KEYS[scope as keyof typeof LVSCF_KEYS];
      for (const k of keys.split(' ')) {
        assert.ok(Object.hasOwn(table, k), `${scope} key ${k}`);
        let node: SchemaNode | undefined = schemas[scope];
        for (const part of table[k]![0].split('.')) {
          const next: unknown = node?.[part];
          node = next && !isLeaf(next as never) ? (next as SchemaNode) : undefined;
          if (next && isLeaf(next as never)) node = {};
          assert.ok(next, `${scope}.${k} → schema path ${table[k]![0]}`);
        }
      }
    }
  });

  it('parses every key into the document at its path with the value position', () => {
    const sample: Record<string, string> = {
      int: '3',
      bool: '1',
      str: 'x',
      esc: '"x"',
      cmd: '"/bin/true"',
      sec: '0.25',
      port: 'http',
      ip: '198.18.0.5',
      ipdev: '198.18.0.5 eth0:1',
      mask: '255.255.255.0',
      loglevel: 'NONE',
      list: 'eth0 eth1',
      status: '200 204',
      sorry: '198.18.0.6 8080',
      reentry: '2',
      hbmode: 'process',
    };
    for (const [scope, table] of Object.entries(LVSCF_KEYS)) {
      for (const [key, [path, conv]] of Object.entries(table)) {
        const line = `${key} = ${sample[conv]}`;
        const text =
          scope === 'global'
            ? line
            : scope === 'server'
              ? `virtual v {\n server s {\n  ${line}\n }\n}`
              : `${scope} v {\n ${line}\n}`;
        const r = parseLvsCf(text, 'k.cf');
        assert.deepEqual(r.diagnostics, [], `${scope} ${key}`);
        const prefix =
          scope === 'global'
            ? ''
            : scope === 'virtual'
              ? 'virtual_servers.0.'
              : scope === 'server'
                ? 'virtual_servers.0.real_servers.0.'
                : 'failover_services.0.';
        const full = prefix + (conv === 'ipdev' || conv === 'sorry' ? `${path}.address` : path);
        const pos = r.positions.get(full);
        assert.ok(pos, `${scope} ${key} → ${full}`);
        assert.equal(pos.line, scope === 'global' ? 1 : scope === 'server' ? 3 : 2);
      }
    }
  });

  it('converts values as Piranha meant them', () => {
    const { model } = load(
      `${BASE}keepalive = 6\ndeadtime = 0x12\nserial_no = 010\nheartbeat_port = 0x21b\nbackup = 198.18.0.12\n` +
        'debug_level = 1\nvirtual web {\n address = 198.18.0.10 eth0:1\n vip_nmask = 255.255.255.0\n port = https\n' +
        ' timeout = 6\n reentry = 15\n send = "GET / HTTP/1.0\\r\\n\\r\\n"\n expect = HTTP\n' +
        ' server a {\n  address = 198.18.0.21\n }\n}\n',
    );
    assert.equal(model.heartbeat.keepaliveMs, 6000, 'keepalive = 6 is honoured: 6000 ms');
    assert.equal(model.heartbeat.deadtimeMs, 18000);
    assert.equal(model.serialNo, 8);
    assert.equal(model.heartbeat.port, 539);
    assert.equal(model.logLevel, 'debug');
    const vs = model.virtualServers[0]!;
    assert.deepEqual(vs.vip, { address: '198.18.0.10', device: 'eth0', label: 'eth0:1', prefixLength: 24 });
    assert.equal(vs.port, 443);
    assert.equal(vs.monitor.timeoutMs, 6000);
    assert.equal(vs.monitor.intervalMs, 6000, 'Piranha: interval = timeout');
    assert.equal(vs.monitor.rise, 3, 'reentry 15 / timeout 6 → 3 good probes');
    assert.equal(vs.monitor.send, 'GET / HTTP/1.0\r\n\r\n');
    assert.equal(vs.monitor.kind, 'send_expect');
    assert.equal(vs.realServers[0]!.port, 443, 'real server port defaults to the virtual port');
    assert.equal(vs.realServers[0]!.weight, 1);
  });

  it('heartbeat_isolation: process | off; its old name heartbeat_worker and the removed thread (1) still load', () => {
    const removed = 'thread isolation was removed; the heartbeat runs in a child process';
    for (const key of ['heartbeat_isolation', 'heartbeat_worker'])
      for (const [v, want, warned] of [
        ['process', 'process', false],
        ['off', 'off', false],
        ['thread', 'process', true],
        ['1', 'process', true],
        ['0', 'off', false],
      ] as const) {
        const { model, warnings } = load(`${BASE}${key} = ${v}\n`);
        assert.equal(model.heartbeat.isolation, want, `${key} = ${v}`);
        assert.deepEqual(
          warnings.filter((w) => w.message === removed).map((w) => [w.line, w.col]),
          warned ? [[3, key.length + 4]] : [],
          `${key} = ${v}: warned at the value`,
        );
      }
    assert.equal(load(BASE).model.heartbeat.isolation, 'process', 'default');
    const r = checkConfig('w.cf', { text: 'heartbeat_isolation = 2\n' });
    const e = r.diagnostics.find((d) => d.severity === 'error' && /heartbeat_isolation/.test(d.message))!;
    assert.match(e.message, /must be one of the possible values: \["process","off"\]/);
    assert.deepEqual([e.line, e.col], [1, 23]);
    assert.match(
      dumpConfig(load(`${BASE}heartbeat_worker = 0\n`).model, 'lvs.cf'),
      /^heartbeat_isolation = off$/m,
    );
  });

  it('accepts the documented extensions: fractional seconds, new keys', () => {
    const { model } = load(
      `${BASE}backup = 198.18.0.12\nkeepalive = 0.05\ndeadtime = 0.25\nheartbeat_key_file = /k\nheartbeat_key_file_old = /k.old\n` +
        'heartbeat_multicast_group = 239.1.2.3\nheartbeat_multicast_interface = eth0\nheartbeat_multicast_ttl = 2\npreempt = 1\npreempt_delay = 1.5\n' +
        'handover_timeout = 0.3\nrt_priority = 10\nheartbeat_worker = 1\nlb_backend = nftables\nhot_standby = 0\nlb_on_stop = keep\n' +
        'notify_cmd = "/usr/bin/logger -t pulse"\nhook_timeout = 2\narp_count = 5\narp_interval = 0.2\narp_repeat_delay = 2\narp_repeat_count = 1\n' +
        'arp_refresh = 30\narp_form = request\nprimary_priority = 150\nbackup_priority = 50\nlink_interfaces = eth0 eth1\nmetrics_listen = 127.0.0.1:9539\n' +
        'piranha_compat = 1\nvirtual v {\n address = 198.18.0.10\n probe = https\n http_path = /health\n http_status = 200 204\n http_host = example.test\n' +
        ' http_sni = example.test\n http_insecure = 1\n http_keep_alive = 1\n http_body_regex = "ok|up"\n interval = 0.2\n timeout = 0.1\n rise = 3\n fall = 2\n jitter = 0.02\n' +
        ' probe_source = 198.18.0.11\n tcp_full_handshake = 1\n slow_start = 10\n load_interval = 2\n feedback = header:X-Weight\n load_monitor = http://198.18.0.21:9000/load\n sorry_server = 198.18.0.99 8080\n' +
        ' server s {\n  address = 198.18.0.21\n  forwarding = tunnel\n  weight = 0\n }\n}\n',
    );
    const hb = model.heartbeat;
    assert.deepEqual(
      [
        hb.keepaliveMs,
        hb.deadtimeMs,
        hb.auth,
        hb.keyFile,
        hb.previousKeyFile,
        hb.preempt,
        hb.preemptDelayMs,
        hb.handoverTimeoutMs,
        hb.rtPriority,
        hb.isolation,
        hb.piranhaCompat,
      ],
      [50, 250, 'hmac', '/k', '/k.old', true, 1500, 300, 10, 'process', true],
    );
    assert.deepEqual(hb.multicast, { group: '239.1.2.3', interface: 'eth0', ttl: 2 });
    assert.deepEqual(model.announce, {
      count: 5,
      intervalMs: 200,
      repeatDelayMs: 2000,
      repeatCount: 1,
      refreshMs: 30000,
      form: 'request',
    });
    assert.deepEqual(model.lb, {
      backend: 'nftables',
      ipvsadmPath: '/sbin/ipvsadm',
      hotStandby: false,
      onStop: 'keep',
    });
    assert.deepEqual(model.hooks, { notifyCmd: '/usr/bin/logger -t pulse', timeoutMs: 2000 });
    assert.equal(model.primary.priority, 150);
    assert.equal(model.backup!.priority, 50);
    assert.deepEqual(model.linkInterfaces, ['eth0', 'eth1']);
    assert.equal(model.metrics.listen, '127.0.0.1:9539');
    const mo = model.virtualServers[0]!.monitor;
    assert.equal(mo.kind, 'https');
    assert.deepEqual(mo.http, {
      path: '/health',
      status: [200, 204],
      host: 'example.test',
      sni: 'example.test',
      insecure: true,
      keepAlive: true,
      bodyRegex: 'ok|up',
    });
    assert.deepEqual(
      [mo.intervalMs, mo.timeoutMs, mo.rise, mo.fall, mo.jitterMs, mo.slowStartMs],
      [200, 100, 3, 2, 20, 10000],
    );
    assert.equal(mo.sourceAddress, '198.18.0.11');
    assert.equal(mo.tcpFullHandshake, true);
    assert.deepEqual(mo.feedback, { kind: 'header', name: 'X-Weight' });
    assert.equal(mo.loadIntervalMs, 2000);
    assert.deepEqual(load(dumpConfig(model, 'lvs.cf')).model, model, 'extensions survive an lvs.cf dump');
    assert.deepEqual(loadConfig('e.yaml', dumpConfig(model, 'yaml')).model, model, 'and a YAML dump');
    assert.deepEqual(mo.loadMonitor, { kind: 'http', url: 'http://198.18.0.21:9000/load' });
    assert.deepEqual(model.virtualServers[0]!.sorryServer, { address: '198.18.0.99', port: 8080 });
    assert.deepEqual(model.virtualServers[0]!.realServers[0], {
      name: 's',
      address: '198.18.0.21',
      port: 80,
      weight: 0,
      active: true,
      forwarding: 'tunnel',
    });
  });

  it('takes the last value of a key written twice and warns where', () => {
    const r = parseLvsCf('backup_active = 0\n  backup_active\t=   1\n', 'd.cf');
    assert.equal(r.doc.backup_active, true);
    assert.deepEqual(r.diagnostics, [
      {
        file: 'd.cf',
        line: 2,
        col: 3,
        severity: 'warning',
        message: "'backup_active' is written twice (first at line 1); the last value is used",
      },
    ]);
  });

  it('reports an unknown key with a did-you-mean suggestion, or the block it belongs to', () => {
    assert.deepEqual(errorsOf('keepalve = 2'), [
      {
        file: 't.cf',
        line: 1,
        col: 1,
        severity: 'error',
        message: "unknown key 'keepalve' at the top level; did you mean 'keepalive'?",
      },
    ]);
    assert.match(errorsOf('virtual v {\n  schedular = rr\n}')[0]!.message, /did you mean 'scheduler'\?/);
    assert.match(errorsOf('virtual v {\n  weight = 2\n}')[0]!.message, /belongs in a 'server' block/);
  });

  it('handles comments, blank lines, CRLF, tabs and `key=value` without blanks', () => {
    const r = parseLvsCf(
      '# c\r\n\r\n   # indented comment\r\n\tserial_no=5\r\nservice= lvs\r\nvirtual v{\r\n\t# port = 99\r\n}  \r\n',
      'c.cf',
    );
    assert.deepEqual(r.diagnostics, []);
    assert.equal(r.doc.serial_no, 5);
    assert.equal(r.doc.service, 'lvs');
    assert.equal((r.doc.virtual_servers as unknown[]).length, 1);
    const cr = parseLvsCf('serial_no = 3\rservice = lvs\rbogus = 1', 'cr.cf');
    assert.equal(cr.doc.serial_no, 3, 'a lone CR ends a line, as in Piranha');
    assert.deepEqual([cr.diagnostics[0]!.line, cr.diagnostics[0]!.col], [3, 1]);
  });

  it('reports block structure mistakes with positions and goes on', () => {
    const errs = errorsOf(
      'server s {\n}\n}\nvirtual a {\n virtual b {\n }\n}\nvirtual c {\n port = 1 2\n active = 2\n timeout = x\n',
    );
    assert.deepEqual(
      errs.map((e) => [e.line, e.col, e.message.slice(0, 30)]).sort((a, b) => Number(a[0]) - Number(b[0])),
      [
        [1, 1, "'server' blocks belong inside "],
        [3, 1, "'}' without an open block"],
        [5, 2, "'virtual' block inside a 'virt"],
        [7, 1, "'}' without an open block"],
        [8, 1, "'virtual' block opened here is"],
        [9, 11, "unexpected '2' after the value"],
        [10, 11, "'active' must be 0 or 1, not 2"],
        [11, 12, "'x' is not a number of seconds"],
      ],
    );
  });

  it('maps debug_level like Piranha wrote it: NONE and unknown words to info (warned), numbers > 0 to debug', () => {
    const level = (v: string) => loadConfig('l.cf', `${BASE}debug_level = ${v}\n`);
    assert.equal(level('NONE').model.logLevel, 'info');
    assert.equal(level('0').model.logLevel, 'info');
    assert.equal(level('2').model.logLevel, 'debug');
    assert.equal(level('WARN').model.logLevel, 'warn');
    const odd = level('LOW');
    assert.equal(odd.model.logLevel, 'info');
    assert.match(
      odd.warnings.map((w) => w.message).join('\n'),
      /debug_level 'LOW' is not error, warn, info, debug or NONE/,
    );
  });

  it('knows common service names for ports without asking the host', () => {
    assert.equal(SERVICE_PORTS.http, 80);
    assert.equal(SERVICE_PORTS.https, 443);
    assert.match(
      errorsOf('heartbeat_port = nosuchservice')[0]!.message,
      /not a port number or a known service name/,
    );
  });
});
