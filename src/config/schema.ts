/**
 * The native document schema (YAML/JSON) as convict schemas: one entry per key, with its documentation,
 * its format, its default and the lvs.cf key that writes it. The lvs.cf front end produces the same
 * document, so validation, defaults and the generated reference (docs/config-reference.md) are shared.
 *
 * Arrays of objects (virtual_servers, real_servers, failover_services) are validated item by item with
 * their own schema, since convict does not look inside arrays.
 */
import convict from 'convict';
import { canonicalIP, netmaskToPrefix } from '../lib/addr.js';
import * as D from './defaults.js';
import { SCHEDULERS } from './model.js';

/** A schema leaf: convict's fields plus `lvscf` (the lvs.cf key writing it) and `piranha` (its default there). */
export interface Leaf {
  doc: string;
  format: string | readonly unknown[];
  default: unknown;
  nullable?: boolean;
  lvscf?: string;
  piranha?: string;
}
export type SchemaNode = { [key: string]: SchemaNode | Leaf };

/** True when a schema node is a leaf (has `doc` and `format`). */
export function isLeaf(node: SchemaNode | Leaf): node is Leaf {
  return typeof (node as Leaf).doc === 'string' && 'format' in node && 'default' in node;
}

const MS_MAX = 2_147_483_647;
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

let formatsAdded = false;
/** Registers this schema's convict formats (idempotent). */
export function addFormats(): void {
  if (formatsAdded) return;
  formatsAdded = true;
  const fmt = (name: string, validate: (v: unknown) => void) => convict.addFormat({ name, validate });
  fmt('lvs-str', (v) => {
    if (typeof v !== 'string') throw new Error('must be a string');
  });
  fmt('lvs-bool', (v) => {
    if (typeof v !== 'boolean') throw new Error('must be true or false');
  });
  fmt('lvs-uint', (v) => {
    if (!isInt(v) || v < 0 || v > MS_MAX) throw new Error('must be an integer ≥ 0');
  });
  fmt('lvs-pos', (v) => {
    if (!isInt(v) || v < 1 || v > 1_000_000) throw new Error('must be an integer ≥ 1');
  });
  fmt('lvs-ms', (v) => {
    if (!isInt(v) || v < 0 || v > MS_MAX)
      throw new Error(`must be a whole number of milliseconds 0–${MS_MAX}`);
  });
  fmt('lvs-port', (v) => {
    if (!isInt(v) || v < 1 || v > 65535) throw new Error('must be a port number 1–65535');
  });
  fmt('lvs-prefix', (v) => {
    if (!isInt(v) || v < 0 || v > 128) throw new Error('must be a prefix length 0–128');
  });
  fmt('lvs-rtprio', (v) => {
    if (!isInt(v) || v < 0 || v > 99) throw new Error('must be a SCHED_RR priority 0–99');
  });
  fmt('lvs-hb-isolation', (v) => {
    if (v !== 'process' && v !== 'thread' && v !== 'off' && typeof v !== 'boolean')
      throw new Error('must be process, thread or off (true = thread, false = off)');
  });
  fmt('lvs-ttl', (v) => {
    if (!isInt(v) || v < 1 || v > 255) throw new Error('must be a TTL 1–255');
  });
  fmt('lvs-ip', (v) => {
    if (typeof v !== 'string' || canonicalIP(v) === undefined)
      throw new Error('must be an IPv4 (dotted quad) or IPv6 address');
  });
  fmt('lvs-netmask', (v) => {
    if (typeof v !== 'string' || netmaskToPrefix(v) === undefined)
      throw new Error('must be a dotted-quad netmask such as 255.255.255.0');
  });
  fmt('lvs-str-list', (v) => {
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || s === ''))
      throw new Error('must be a list of names');
  });
  fmt('lvs-status-list', (v) => {
    if (!Array.isArray(v) || v.some((s) => !isInt(s) || s < 100 || s > 599))
      throw new Error('must be a list of HTTP status codes 100–599');
  });
  fmt('lvs-feedback', (v) => {
    if (typeof v !== 'string' || !/^(none|exit-code|header:[!#$%&'*+.^_`|~0-9A-Za-z-]+)$/.test(v))
      throw new Error('must be none, exit-code or header:NAME');
  });
  fmt('lvs-items', (v) => {
    if (!Array.isArray(v)) throw new Error('must be a list');
  });
}

const leaf = (doc: string, format: Leaf['format'], def: unknown, extra: Partial<Leaf> = {}): Leaf => ({
  doc,
  format,
  default: def,
  ...(def === null ? { nullable: true } : {}),
  ...extra,
});
const enumOf = (values: readonly string[]) => values;

/** Shape of a floating address (VIP, NAT router) in the document. */
function floating(what: string, lvsAddress: string, lvsMask: string): SchemaNode {
  return {
    address: leaf(`${what}: the address.`, 'lvs-ip', null, { lvscf: `${lvsAddress} (first word)` }),
    device: leaf(
      `Interface the ${what} goes on (eth0); unset = the interface that routes to it.`,
      'lvs-str',
      null,
      { lvscf: `${lvsAddress} (second word, before ':')` },
    ),
    label: leaf(`iproute2 label (eth0:1), as Piranha's interface aliases.`, 'lvs-str', null, {
      lvscf: `${lvsAddress} (second word)`,
    }),
    prefix_length: leaf(`Prefix length of the ${what}; unset = 32 (IPv4) / 128 (IPv6).`, 'lvs-prefix', null, {
      lvscf: `${lvsMask} (as a dotted netmask)`,
      piranha: '255.255.255.255',
    }),
  };
}

/** The real server schema (items of virtual_servers[].real_servers). */
export const realServerSchema: SchemaNode = {
  name: leaf('Name of the real server (unique within its virtual server).', 'lvs-str', null, {
    lvscf: 'server NAME {',
  }),
  address: leaf('Address of the real server.', 'lvs-ip', null, { lvscf: 'address' }),
  port: leaf("Port on the real server; unset = the virtual server's port.", 'lvs-port', null, {
    lvscf: 'port',
  }),
  weight: leaf('Scheduler weight (0 = kept but sent nothing).', 'lvs-uint', D.REAL_SERVER_WEIGHT, {
    lvscf: 'weight',
    piranha: '1',
  }),
  active: leaf('Whether the real server is used at all.', 'lvs-bool', true, {
    lvscf: 'active',
    piranha: '0',
  }),
  forwarding: leaf(
    "Forwarding method for this real server (nat, direct, tunnel); unset = the global 'network'.",
    enumOf(['nat', 'direct', 'tunnel']),
    null,
    { lvscf: 'forwarding' },
  ),
};

/** The virtual server schema (items of virtual_servers). */
export const virtualServerSchema: SchemaNode = {
  name: leaf('Name of the virtual server (unique).', 'lvs-str', null, { lvscf: 'virtual NAME {' }),
  active: leaf('Whether the virtual server is used at all.', 'lvs-bool', true, {
    lvscf: 'active',
    piranha: '0',
  }),
  vip: floating('virtual IP', 'address', 'vip_nmask'),
  protocol: leaf('tcp or udp.', enumOf(['tcp', 'udp']), 'tcp', { lvscf: 'protocol', piranha: 'tcp' }),
  port: leaf('Service port (lvs.cf also takes a service name such as http).', 'lvs-port', D.VIRTUAL_PORT, {
    lvscf: 'port',
    piranha: '80',
  }),
  fwmark: leaf(
    'Firewall mark: the LB service is `-f MARK` and `port` is not used by the table (the VIP is still needed).',
    'lvs-uint',
    null,
    { lvscf: 'fwmark' },
  ),
  scheduler: leaf('IPVS scheduler.', enumOf(SCHEDULERS), D.SCHEDULER, { lvscf: 'scheduler', piranha: 'wlc' }),
  persistent: leaf('Persistence timeout in seconds (0 = off).', 'lvs-uint', 0, {
    lvscf: 'persistent',
    piranha: '0',
  }),
  pmask: leaf('Persistence netmask (ipvsadm -M).', 'lvs-netmask', null, { lvscf: 'pmask' }),
  sorry_server: {
    address: leaf('Server used only while no real server is up.', 'lvs-ip', null, {
      lvscf: 'sorry_server (first word)',
    }),
    port: leaf("Port of the sorry server; unset = the virtual server's port.", 'lvs-port', null, {
      lvscf: 'sorry_server (second word, extension)',
    }),
  },
  client_monitor: leaf('Piranha client_monitor (kept for reporting only).', 'lvs-str', null, {
    lvscf: 'client_monitor',
  }),
  monitor: {
    kind: leaf(
      'Probe: tcp (connect), send_expect, program, udp, http, https, dns, none. Unset = program when ' +
        'send_program is set, send_expect when send/expect is set (or port 80, with Piranha\'s "GET / ' +
        'HTTP/1.0" / "HTTP"), udp for UDP services, else tcp.',
      enumOf(['tcp', 'send_expect', 'program', 'udp', 'http', 'https', 'dns', 'none']),
      null,
      { lvscf: 'probe' },
    ),
    send: leaf(
      'String sent after connecting (escapes \\n \\r \\t \\\\ \\" \\\' expanded).',
      'lvs-str',
      null,
      {
        lvscf: 'send',
      },
    ),
    expect: leaf(
      'Expected reply prefix (`*` = anything), or a regular expression when use_regex.',
      'lvs-str',
      null,
      {
        lvscf: 'expect',
      },
    ),
    use_regex: leaf('Treat expect as a regular expression.', 'lvs-bool', false, {
      lvscf: 'use_regex',
      piranha: '0',
    }),
    send_program: leaf(
      'Program run per probe (no shell; %h = real server address, %p = port); its output must equal expect.',
      'lvs-str',
      null,
      { lvscf: 'send_program' },
    ),
    timeout_ms: leaf('Per-probe timeout, ms.', 'lvs-ms', D.PROBE_TIMEOUT_MS, {
      lvscf: 'timeout (seconds, fractional allowed)',
      piranha: '10 s',
    }),
    interval_ms: leaf('Interval between probes, ms; unset = the timeout (as Piranha).', 'lvs-ms', null, {
      lvscf: 'interval (seconds)',
      piranha: '= timeout',
    }),
    fall: leaf('Failed probes in a row that take a real server out.', 'lvs-pos', D.PROBE_FALL, {
      lvscf: 'fall',
      piranha: '1',
    }),
    rise: leaf(
      'Good probes in a row that put it back (lvs.cf `reentry` R seconds gives ceil(R / interval)).',
      'lvs-pos',
      D.PROBE_RISE,
      { lvscf: 'rise, or reentry (seconds)', piranha: 'reentry 180 s / timeout' },
    ),
    jitter_ms: leaf('Random spread of probe start, ms.', 'lvs-ms', D.PROBE_JITTER_MS, {
      lvscf: 'jitter (seconds)',
    }),
    quiesce: leaf('On failure set weight 0 instead of removing the real server.', 'lvs-bool', false, {
      lvscf: 'quiesce_server',
      piranha: '0',
    }),
    load_monitor: leaf(
      'Dynamic weights: none; uptime | rup | ruptime (Piranha, reported only); an http(s):// URL of a load ' +
        'agent; or a command printing the load average.',
      'lvs-str',
      'none',
      { lvscf: 'load_monitor', piranha: 'none' },
    ),
    load_interval_ms: leaf(
      'How often load_monitor reads the load, ms; unset = the prober’s default (5 s).',
      'lvs-ms',
      null,
      {
        lvscf: 'load_interval (seconds)',
      },
    ),
    feedback: leaf(
      'Dynamic weight from the probe: none; exit-code (send_program exit 0 = up at the configured weight, 1 = down, ' +
        '2..255 = up with weight code − 2); or header:NAME (an HTTP(S) response header holding the weight).',
      'lvs-feedback',
      'none',
      { lvscf: 'feedback' },
    ),
    slow_start_ms: leaf(
      'Slow start after a failure: weight ramps up over this long, ms (0 = off).',
      'lvs-ms',
      0,
      {
        lvscf: 'slow_start (seconds)',
      },
    ),
    http: {
      path: leaf('HTTP probe: request path.', 'lvs-str', '/', { lvscf: 'http_path' }),
      status: leaf('HTTP probe: accepted status codes (empty = any 2xx or 3xx).', 'lvs-status-list', [], {
        lvscf: 'http_status (space-separated)',
      }),
      body_regex: leaf('HTTP probe: regular expression the body must match.', 'lvs-str', null, {
        lvscf: 'http_body_regex',
      }),
      host: leaf('HTTP probe: Host header.', 'lvs-str', null, { lvscf: 'http_host' }),
      sni: leaf('HTTPS probe: TLS server name.', 'lvs-str', null, { lvscf: 'http_sni' }),
      insecure: leaf('HTTPS probe: do not verify the certificate.', 'lvs-bool', false, {
        lvscf: 'http_insecure',
      }),
      keep_alive: leaf(
        'HTTP probe: reuse one kept-alive connection per real server (off: a fresh connection per probe).',
        'lvs-bool',
        false,
        { lvscf: 'http_keep_alive' },
      ),
    },
    dns: {
      name: leaf('DNS probe: name to query.', 'lvs-str', null, { lvscf: 'dns_name' }),
      type: leaf('DNS probe: record type.', enumOf(['A', 'AAAA', 'SOA', 'NS', 'TXT']), 'A', {
        lvscf: 'dns_type',
      }),
    },
    source_address: leaf('Source address to probe from.', 'lvs-ip', null, { lvscf: 'probe_source' }),
    tcp_full_handshake: leaf(
      'TCP connect probe: complete the handshake, so the real server accepts the connection before it is reset. ' +
        "Off: SYN, SYN-ACK, reset (half-open, as HAProxy's checks): the server's application never sees the probe.",
      'lvs-bool',
      false,
      { lvscf: 'tcp_full_handshake' },
    ),
  },
  real_servers: leaf('The real servers (each a mapping, see the real server keys).', 'lvs-items', [], {
    lvscf: 'server NAME { ... }',
  }),
};

/** The failover-service schema (items of failover_services): parsed and reported, not run. */
export const failoverSchema: SchemaNode = {
  name: leaf('Name of the failover service.', 'lvs-str', null, { lvscf: 'failover NAME {' }),
  active: leaf('Whether the service is used.', 'lvs-bool', true, { lvscf: 'active', piranha: '0' }),
  vip: floating('service IP', 'address', 'vip_nmask'),
  port: leaf('Port probed.', 'lvs-port', D.VIRTUAL_PORT, { lvscf: 'port', piranha: '80' }),
  send: leaf('String sent by the probe.', 'lvs-str', null, { lvscf: 'send' }),
  expect: leaf('Expected reply prefix.', 'lvs-str', null, { lvscf: 'expect' }),
  timeout_ms: leaf('Probe timeout, ms.', 'lvs-ms', D.FOS_TIMEOUT_MS, {
    lvscf: 'timeout (seconds)',
    piranha: '10 s',
  }),
  start_cmd: leaf('Command starting the service.', 'lvs-str', null, { lvscf: 'start_cmd' }),
  stop_cmd: leaf('Command stopping the service.', 'lvs-str', null, { lvscf: 'stop_cmd' }),
};

const router = (which: 'primary' | 'backup', priority: number): SchemaNode => ({
  address: leaf(
    `Public address of the ${which} router: heartbeat path 1 and who-am-I detection.`,
    'lvs-ip',
    null,
    { lvscf: which },
  ),
  private_address: leaf(`Private address of the ${which} router: heartbeat path 2.`, 'lvs-ip', null, {
    lvscf: `${which}_private`,
  }),
  priority: leaf('Election priority (higher wins; ties go to the lower address).', 'lvs-uint', priority, {
    lvscf: `${which}_priority`,
  }),
});

/** The top-level document schema. */
export const documentSchema: SchemaNode = {
  serial_no: leaf('Serial number of the configuration (Piranha bumps it on each GUI save).', 'lvs-uint', 0, {
    lvscf: 'serial_no',
  }),
  service: leaf(
    'lvs (virtual servers) or fos (Piranha failover services: parsed and reported, not run).',
    enumOf(['lvs', 'fos']),
    'lvs',
    { lvscf: 'service', piranha: 'lvs' },
  ),
  primary: router('primary', D.PRIMARY_PRIORITY),
  backup: router('backup', D.BACKUP_PRIORITY),
  backup_active: leaf(
    'Whether the backup router runs; unset = true when a backup address is set.',
    'lvs-bool',
    null,
    {
      lvscf: 'backup_active',
      piranha: '0',
    },
  ),
  network: leaf(
    'Forwarding method of the real servers: nat, direct or tunnel.',
    enumOf(['nat', 'direct', 'tunnel']),
    D.NETWORK,
    {
      lvscf: 'network',
      piranha: 'nat',
    },
  ),
  nat_router: floating(
    'NAT router address (the real servers’ gateway, floating with the VIPs)',
    'nat_router',
    'nat_nmask',
  ),
  heartbeat: {
    port: leaf('Heartbeat UDP port.', 'lvs-port', D.HEARTBEAT_PORT, {
      lvscf: 'heartbeat_port',
      piranha: '539',
    }),
    keepalive_ms: leaf(
      'Interval between heartbeats, ms. Fast profile (dedicated, quiet links; docs/fast-profile.md): 2 ms with deadtime 12 ms.',
      'lvs-ms',
      D.KEEPALIVE_MS,
      {
        lvscf: 'keepalive (seconds, fractional allowed)',
        piranha: '2 s',
      },
    ),
    deadtime_ms: leaf(
      'Silence on every path for this long means the peer is dead, ms. Fast profile: 12 ms with keepalive 2 ms (crash outage ~14 ms; a heartbeat late by more than 10 ms is a false failover).',
      'lvs-ms',
      D.DEADTIME_MS,
      {
        lvscf: 'deadtime (seconds, fractional allowed)',
        piranha: '5 s',
      },
    ),
    auth: leaf(
      'hmac (needs key_file) or none (unauthenticated, warned); unset = hmac when key_file is set, else none.',
      enumOf(['hmac', 'none']),
      null,
      { lvscf: 'heartbeat_auth' },
    ),
    key_file: leaf('Root-only file holding the shared heartbeat key.', 'lvs-str', null, {
      lvscf: 'heartbeat_key_file',
    }),
    key_file_old: leaf('Previous key, still accepted during a key rotation.', 'lvs-str', null, {
      lvscf: 'heartbeat_key_file_old',
    }),
    multicast: {
      group: leaf('Multicast group of an extra heartbeat path (unset = unicast only).', 'lvs-ip', null, {
        lvscf: 'heartbeat_multicast_group',
      }),
      interface: leaf('Interface the multicast path joins and sends on.', 'lvs-str', null, {
        lvscf: 'heartbeat_multicast_interface',
      }),
      ttl: leaf('Multicast TTL.', 'lvs-ttl', D.MULTICAST_TTL, { lvscf: 'heartbeat_multicast_ttl' }),
    },
    piranha_compat: leaf(
      "Also speak Piranha's 4-byte heartbeat (migration; unauthenticated).",
      'lvs-bool',
      false,
      {
        lvscf: 'piranha_compat',
      },
    ),
    preempt: leaf('Fail back to the higher-priority router when it returns.', 'lvs-bool', false, {
      lvscf: 'preempt',
      piranha: 'never',
    }),
    preempt_delay_ms: leaf('Wait this long before preempting, ms.', 'lvs-ms', 0, {
      lvscf: 'preempt_delay (seconds)',
    }),
    handover_timeout_ms: leaf(
      'Graceful handover: wait at most this long for the peer to confirm active before dropping the VIPs, ms.',
      'lvs-ms',
      D.HANDOVER_TIMEOUT_MS,
      { lvscf: 'handover_timeout (seconds)' },
    ),
    rt_priority: leaf(
      'SCHED_RR priority of the heartbeat (0 = off), as keepalived vrrp_rt_priority.',
      'lvs-rtprio',
      D.RT_PRIORITY,
      {
        lvscf: 'rt_priority',
      },
    ),
    worker: leaf(
      'Where the heartbeat runs: process (a child process of its own), thread (a worker thread), off (main thread).',
      'lvs-hb-isolation',
      D.HEARTBEAT_WORKER,
      { lvscf: 'heartbeat_worker' },
    ),
  },
  announce: {
    count: leaf(
      'Gratuitous ARP / unsolicited NA frames in the first burst (the first leaves at once).',
      'lvs-pos',
      D.ARP_COUNT,
      {
        lvscf: 'arp_count',
        piranha: '5',
      },
    ),
    interval_ms: leaf('Gap between frames of a burst, ms.', 'lvs-ms', D.ARP_INTERVAL_MS, {
      lvscf: 'arp_interval (seconds)',
      piranha: '1 s',
    }),
    repeat_delay_ms: leaf(
      'Second burst this long after the first, ms (0 = none).',
      'lvs-ms',
      D.ARP_REPEAT_DELAY_MS,
      {
        lvscf: 'arp_repeat_delay (seconds)',
      },
    ),
    repeat_count: leaf('Frames in the second burst.', 'lvs-uint', D.ARP_REPEAT_COUNT, {
      lvscf: 'arp_repeat_count',
    }),
    refresh_ms: leaf('Re-announce periodically while active, ms (0 = off).', 'lvs-ms', D.ARP_REFRESH_MS, {
      lvscf: 'arp_refresh (seconds)',
      piranha: 'off',
    }),
    form: leaf(
      'ARP form: request, reply (Piranha send_arp) or both.',
      enumOf(['request', 'reply', 'both']),
      D.ARP_FORM,
      {
        lvscf: 'arp_form',
        piranha: 'reply',
      },
    ),
  },
  monitor_links: leaf('Hand over when a watched link goes down.', 'lvs-bool', false, {
    lvscf: 'monitor_links',
    piranha: '0',
  }),
  link_interfaces: leaf(
    'Interfaces watched when monitor_links (empty = the devices of the VIPs and router addresses).',
    'lvs-str-list',
    [],
    { lvscf: 'link_interfaces (space-separated)' },
  ),
  sync_daemon: {
    enabled: leaf('Run the IPVS connection sync daemon.', 'lvs-bool', false, {
      lvscf: 'syncdaemon',
      piranha: '0',
    }),
    interface: leaf('Interface of the sync daemon.', 'lvs-str', D.SYNCD_INTERFACE, {
      lvscf: 'syncd_iface',
      piranha: 'eth0',
    }),
    id: leaf('Sync daemon id.', 'lvs-uint', 0, { lvscf: 'syncd_id', piranha: '0' }),
  },
  timeouts: {
    tcp: leaf('ipvsadm --set tcp timeout, seconds (0 = leave the kernel’s).', 'lvs-uint', 0, {
      lvscf: 'tcp_timeout',
    }),
    tcpfin: leaf('ipvsadm --set tcpfin timeout, seconds (0 = leave).', 'lvs-uint', 0, {
      lvscf: 'tcpfin_timeout',
    }),
    udp: leaf('ipvsadm --set udp timeout, seconds (0 = leave).', 'lvs-uint', 0, { lvscf: 'udp_timeout' }),
  },
  hard_shutdown: leaf(
    'A failed child (LB apply, probe worker) makes this router hand over.',
    'lvs-bool',
    true,
    {
      lvscf: 'hard_shutdown',
      piranha: '1',
    },
  ),
  hooks: {
    active_cmd: leaf('Program run on becoming active (no shell).', 'lvs-str', null, { lvscf: 'active_cmd' }),
    inactive_cmd: leaf('Program run on becoming inactive (no shell).', 'lvs-str', null, {
      lvscf: 'inactive_cmd',
    }),
    notify_cmd: leaf('Program run on every state change with the new state as argument.', 'lvs-str', null, {
      lvscf: 'notify_cmd',
    }),
    timeout_ms: leaf('Hook programs are killed after this long, ms.', 'lvs-ms', D.HOOK_TIMEOUT_MS, {
      lvscf: 'hook_timeout (seconds)',
    }),
  },
  lb: {
    backend: leaf(
      'Load-balancing table: auto, ipvsadm, nftables or none.',
      enumOf(['auto', 'ipvsadm', 'nftables', 'none']),
      'auto',
      {
        lvscf: 'lb_backend',
      },
    ),
    ipvsadm: leaf('Path of ipvsadm.', 'lvs-str', D.IPVSADM_PATH, {
      lvscf: 'ipvsadm',
      piranha: '/sbin/ipvsadm',
    }),
    hot_standby: leaf(
      'Keep the LB table built on the standby too, so a takeover only moves addresses.',
      'lvs-bool',
      true,
      {
        lvscf: 'hot_standby',
        piranha: 'off',
      },
    ),
    on_stop: leaf(
      'On a graceful stop: keep our LB entries in the kernel, or clear them.',
      enumOf(['keep', 'clear']),
      'clear',
      {
        lvscf: 'lb_on_stop',
      },
    ),
  },
  log_level: leaf(
    'Log level: error, warn, info, debug.',
    enumOf(['error', 'warn', 'info', 'debug']),
    'info',
    {
      lvscf: 'debug_level (NONE = info, a number > 0 = debug)',
      piranha: 'NONE',
    },
  ),
  metrics: {
    listen: leaf('Prometheus metrics listener, HOST:PORT (empty = off).', 'lvs-str', '', {
      lvscf: 'metrics_listen',
    }),
  },
  legacy: {
    rsh_command: leaf('Piranha rsh_command (unused; kept).', 'lvs-str', null, { lvscf: 'rsh_command' }),
    sync: leaf('Piranha sync (unused; kept).', 'lvs-uint', null, { lvscf: 'sync' }),
    heartbeat: leaf('Piranha heartbeat switch (unused by Piranha too; kept).', 'lvs-uint', null, {
      lvscf: 'heartbeat',
    }),
    primary_shared: leaf('Piranha fos shared disk of the primary (kept).', 'lvs-str', null, {
      lvscf: 'primary_shared',
    }),
    backup_shared: leaf('Piranha fos shared disk of the backup (kept).', 'lvs-str', null, {
      lvscf: 'backup_shared',
    }),
    reservation_conflict_action: leaf(
      'Piranha fos SCSI reservation action (kept).',
      enumOf(['nothing', 'preempt']),
      null,
      {
        lvscf: 'reservation_conflict_action',
      },
    ),
  },
  virtual_servers: leaf(
    'The virtual servers (each a mapping, see the virtual server keys).',
    'lvs-items',
    [],
    {
      lvscf: 'virtual NAME { ... }',
    },
  ),
  failover_services: leaf(
    'Piranha failover services (each a mapping, see the failover keys).',
    'lvs-items',
    [],
    {
      lvscf: 'failover NAME { ... }',
    },
  ),
};

/** One schema problem: a document path (`virtual_servers.0.port`) and what is wrong. */
export interface SchemaIssue {
  path: string;
  message: string;
  /** True when the path names a key the schema does not know (position at the key, not the value). */
  unknownKey?: boolean;
}

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

/** Levenshtein distance (for did-you-mean suggestions). */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** The closest candidate to `word` (distance ≤ max(2, len/3)), for "did you mean 'x'?". */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Copies `value` keeping only what fits the schema's structure: unknown keys and non-mappings where a
 * mapping is expected become issues. Leaves are copied as they are (convict checks them).
 */
function sanitize(value: Record<string, unknown>, schema: SchemaNode, prefix: string, issues: SchemaIssue[]) {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const path = prefix + key;
    const node = FORBIDDEN.has(key) ? undefined : Object.hasOwn(schema, key) ? schema[key] : undefined;
    if (node === undefined) {
      const s = suggest(key, Object.keys(schema));
      const where = prefix ? ` in ${prefix.slice(0, -1)}` : '';
      issues.push({
        path,
        unknownKey: true,
        message: `unknown key '${key}'${where}${s ? `; did you mean '${s}'?` : ''}`,
      });
      continue;
    }
    const v = value[key];
    if (isLeaf(node)) {
      if (v !== undefined) out[key] = v;
    } else if (v === null || v === undefined) {
      // an empty section: defaults
    } else if (!isPlainObject(v)) {
      issues.push({ path, message: `${path}: must be a mapping of keys` });
    } else {
      out[key] = sanitize(v, node, `${path}.`, issues);
    }
  }
  return out;
}

const leafCache = new WeakMap<SchemaNode, [string, Leaf][]>();
/** Every leaf of a schema with its dotted path (memoized per schema object). */
function leafPaths(schema: SchemaNode, prefix = ''): [string, Leaf][] {
  if (prefix === '') {
    const hit = leafCache.get(schema);
    if (hit) return hit;
    const all = collectLeaves(schema, '');
    leafCache.set(schema, all);
    return all;
  }
  return collectLeaves(schema, prefix);
}
function collectLeaves(schema: SchemaNode, prefix: string): [string, Leaf][] {
  const out: [string, Leaf][] = [];
  for (const [k, node] of Object.entries(schema)) {
    if (isLeaf(node)) out.push([prefix + k, node]);
    else out.push(...collectLeaves(node, `${prefix + k}.`));
  }
  return out;
}

function getPath(obj: Record<string, unknown>, path: string): unknown {
  let cur: unknown = obj;
  for (const k of path.split('.')) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}
function setPath(obj: Record<string, unknown>, path: string, v: unknown): void {
  const keys = path.split('.');
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    if (!isPlainObject(cur[k])) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]!] = v;
}

/** Defaults of a schema as a plain document. */
export function defaultsOf(schema: SchemaNode): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [p, l] of leafPaths(schema)) setPath(out, p, structuredClone(l.default));
  return out;
}

/**
 * Validates one mapping against one schema level with convict (strict). Returns the value with defaults
 * filled in, where every invalid leaf is replaced by its default (so later stages see a well-typed value).
 */
function validateLevel(value: unknown, schema: SchemaNode, prefix: string, issues: SchemaIssue[]) {
  addFormats();
  if (value !== undefined && value !== null && !isPlainObject(value)) {
    issues.push({
      path: prefix.slice(0, -1),
      message: `${prefix.slice(0, -1) || 'document'}: must be a mapping of keys`,
    });
    value = {};
  }
  const clean = sanitize((value ?? {}) as Record<string, unknown>, schema, prefix, issues);
  const bad = new Set<string>();
  const result = defaultsOf(schema);
  try {
    const c = convict(schema as never, { args: [], env: {} });
    c.load(clean);
    try {
      c.validate({ allowed: 'strict' });
    } catch (e) {
      for (const line of String((e as Error).message).split('\n')) {
        const m = /^([A-Za-z0-9_.]+): (.*)$/.exec(line);
        if (!m) continue;
        bad.add(m[1]!);
        issues.push({ path: prefix + m[1], message: `${prefix + m[1]}: ${m[2]}` });
      }
    }
    const props = c.getProperties() as Record<string, unknown>;
    for (const [p] of leafPaths(schema)) if (!bad.has(p)) setPath(result, p, getPath(props, p));
  } catch (e) {
    issues.push({ path: prefix.slice(0, -1), message: `${prefix || 'document: '}${(e as Error).message}` });
  }
  return result;
}

/** A validated document: every key present, defaults filled in, every item validated. */
export type Document = Record<string, unknown>;

/**
 * Validates a whole document (as loaded from YAML/JSON or produced by the lvs.cf parser). Collects every
 * issue; never throws. The returned document is well typed even when issues were found.
 */
export function validateDocument(doc: unknown): { doc: Document; issues: SchemaIssue[] } {
  const issues: SchemaIssue[] = [];
  const top = validateLevel(doc, documentSchema, '', issues);
  const items = (list: unknown, path: string, schema: SchemaNode, each?: (v: Document, p: string) => void) =>
    (Array.isArray(list) ? list : []).map((item, i) => {
      const v = validateLevel(item, schema, `${path}.${i}.`, issues);
      each?.(v, `${path}.${i}`);
      return v;
    });
  top.virtual_servers = items(top.virtual_servers, 'virtual_servers', virtualServerSchema, (vs, p) => {
    vs.real_servers = items(vs.real_servers, `${p}.real_servers`, realServerSchema);
  });
  top.failover_services = items(top.failover_services, 'failover_services', failoverSchema);
  return { doc: top, issues };
}
