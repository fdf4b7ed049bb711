/**
 * What the console lets an operator edit: one table of fields per form (global settings, redundancy,
 * virtual server, real server). Each field names its path in the model, its type, and the document
 * (YAML) and lvs.cf keys that write it, so a validator diagnostic on a line can be shown at its field.
 *
 * Deliberately NOT editable from the web (shown read-only): anything naming a program the daemon runs —
 * hook commands, send_program, a load_monitor command, the ipvsadm path. The web console never decides
 * what root executes (Piranha's CVE-2000-0248 was exactly that).
 */
import { expandEscapes } from '../config/lvscf';
import { SCHEDULERS } from '../config/model';
import type { MonitorConfig, RealServer, VirtualServer } from '../config/model';

export type FieldType = 'string' | 'int' | 'bool' | 'enum' | 'list' | 'intlist';
export type Scope = 'global' | 'redundancy' | 'virtual' | 'real';

// biome-ignore lint/suspicious/noExplicitAny: field accessors walk model objects generically.
type Any = any;

/** One form field. */
export interface FieldDef {
  /** Form field name: a dot path in the scope object (the model, a VirtualServer or a RealServer). */
  id: string;
  label: string;
  type: FieldType;
  /** Empty input removes the value (or the whole optional group when `groupKey`). */
  optional?: boolean;
  options?: readonly string[];
  help?: string;
  /** Shown but never written from the web. */
  readOnly?: boolean;
  /** Document (YAML) path relative to the scope object, snake_case (`monitor.timeout_ms`). */
  doc: string;
  /** lvs.cf key writing it (`timeout`). */
  cf?: string;
  /** Path of the optional object holding this field (`natRouter`). */
  group?: string;
  /** This field decides whether the group exists: empty removes it, a value creates it. */
  groupKey?: boolean;
  /** New group object when the group key gets a value. */
  groupInit?: (scope: Any) => object;
  /** Custom read (form value from the scope object). */
  get?: (scope: Any) => unknown;
  /** Custom write of an already-converted value. Returns an error message to refuse it. */
  set?: (scope: Any, value: unknown) => string | undefined;
}

const f = (
  id: string,
  label: string,
  type: FieldType,
  doc: string,
  cf: string | undefined,
  more: Partial<FieldDef> = {},
): FieldDef => ({
  id,
  label,
  type,
  doc,
  ...(cf ? { cf } : {}),
  ...more,
});

const FORWARDING = ['nat', 'direct', 'tunnel'] as const;

/** GLOBAL SETTINGS: the primary router, forwarding, NAT router, LB backend, sync daemon, kernel timeouts. */
export const GLOBAL_FIELDS: FieldDef[] = [
  f('primary.address', 'Primary server public IP', 'string', 'primary.address', 'primary'),
  f(
    'primary.privateAddress',
    'Primary server private IP',
    'string',
    'primary.private_address',
    'primary_private',
    {
      optional: true,
    },
  ),
  f('network', 'Use network type', 'enum', 'network', 'network', { options: FORWARDING }),
  f('natRouter.address', 'NAT router IP', 'string', 'nat_router.address', 'nat_router', {
    optional: true,
    group: 'natRouter',
    groupKey: true,
    groupInit: () => ({ address: '', prefixLength: 32 }),
    help: 'The real servers’ gateway, floating with the VIPs (NAT only). Empty = none.',
  }),
  f('natRouter.prefixLength', 'NAT router prefix length', 'int', 'nat_router.prefix_length', 'nat_nmask', {
    group: 'natRouter',
  }),
  f('natRouter.device', 'NAT router device', 'string', 'nat_router.device', 'nat_router', {
    optional: true,
    group: 'natRouter',
  }),
  f('natRouter.label', 'NAT router label (eth1:1)', 'string', 'nat_router.label', 'nat_router', {
    optional: true,
    group: 'natRouter',
  }),
  f('lb.backend', 'LB backend', 'enum', 'lb.backend', 'lb_backend', {
    options: ['auto', 'ipvsadm', 'nftables', 'none'],
  }),
  f('lb.hotStandby', 'Keep the LB table on the standby too', 'bool', 'lb.hot_standby', 'hot_standby'),
  f('lb.onStop', 'On graceful stop', 'enum', 'lb.on_stop', 'lb_on_stop', { options: ['keep', 'clear'] }),
  f('lb.ipvsadmPath', 'ipvsadm path', 'string', 'lb.ipvsadm', 'ipvsadm', { readOnly: true }),
  f('hardShutdown', 'Hand over when a child fails', 'bool', 'hard_shutdown', 'hard_shutdown'),
  f('syncDaemon.enabled', 'Connection sync daemon', 'bool', 'sync_daemon.enabled', 'syncdaemon'),
  f('syncDaemon.interface', 'Sync daemon interface', 'string', 'sync_daemon.interface', 'syncd_iface'),
  f('syncDaemon.id', 'Sync daemon id', 'int', 'sync_daemon.id', 'syncd_id'),
  f('timeouts.tcp', 'TCP timeout (s, 0 = kernel’s)', 'int', 'timeouts.tcp', 'tcp_timeout'),
  f('timeouts.tcpfin', 'TCP FIN timeout (s)', 'int', 'timeouts.tcpfin', 'tcpfin_timeout'),
  f('timeouts.udp', 'UDP timeout (s)', 'int', 'timeouts.udp', 'udp_timeout'),
  f('logLevel', 'Log level', 'enum', 'log_level', 'debug_level', {
    options: ['error', 'warn', 'info', 'debug'],
  }),
  f(
    'metrics.listen',
    'Metrics listener (HOST:PORT, empty = off)',
    'string',
    'metrics.listen',
    'metrics_listen',
  ),
  f('hooks.activeCmd', 'Command on becoming active', 'string', 'hooks.active_cmd', 'active_cmd', {
    readOnly: true,
  }),
  f('hooks.inactiveCmd', 'Command on becoming inactive', 'string', 'hooks.inactive_cmd', 'inactive_cmd', {
    readOnly: true,
  }),
  f('hooks.notifyCmd', 'Command on every state change', 'string', 'hooks.notify_cmd', 'notify_cmd', {
    readOnly: true,
  }),
];

/** REDUNDANCY: the backup router, heartbeat, election, announcements, link monitoring. */
export const REDUNDANCY_FIELDS: FieldDef[] = [
  f('backupActive', 'Backup router runs', 'bool', 'backup_active', 'backup_active'),
  f('backup.address', 'Backup server public IP', 'string', 'backup.address', 'backup', {
    optional: true,
    group: 'backup',
    groupKey: true,
    groupInit: () => ({ address: '', priority: 100 }),
  }),
  f(
    'backup.privateAddress',
    'Backup server private IP',
    'string',
    'backup.private_address',
    'backup_private',
    {
      optional: true,
      group: 'backup',
    },
  ),
  f('primary.priority', 'Primary priority', 'int', 'primary.priority', 'primary_priority'),
  f('backup.priority', 'Backup priority', 'int', 'backup.priority', 'backup_priority', { group: 'backup' }),
  f('heartbeat.port', 'Heartbeat runs on port', 'int', 'heartbeat.port', 'heartbeat_port'),
  f('heartbeat.keepaliveMs', 'Heartbeat interval (ms)', 'int', 'heartbeat.keepalive_ms', 'keepalive'),
  f('heartbeat.deadtimeMs', 'Assume dead after (ms)', 'int', 'heartbeat.deadtime_ms', 'deadtime'),
  f('heartbeat.auth', 'Heartbeat authentication', 'enum', 'heartbeat.auth', 'heartbeat_auth', {
    options: ['hmac', 'none'],
  }),
  f('heartbeat.keyFile', 'Heartbeat key file', 'string', 'heartbeat.key_file', 'heartbeat_key_file', {
    optional: true,
  }),
  f(
    'heartbeat.previousKeyFile',
    'Previous key file (rotation)',
    'string',
    'heartbeat.key_file_old',
    'heartbeat_key_file_old',
    {
      optional: true,
    },
  ),
  f(
    'heartbeat.multicast.group',
    'Multicast group (extra path)',
    'string',
    'heartbeat.multicast.group',
    'heartbeat_multicast_group',
    {
      optional: true,
      group: 'heartbeat.multicast',
      groupKey: true,
      groupInit: () => ({ group: '', ttl: 1 }),
    },
  ),
  f(
    'heartbeat.multicast.interface',
    'Multicast interface',
    'string',
    'heartbeat.multicast.interface',
    'heartbeat_multicast_interface',
    {
      optional: true,
      group: 'heartbeat.multicast',
    },
  ),
  f('heartbeat.multicast.ttl', 'Multicast TTL', 'int', 'heartbeat.multicast.ttl', 'heartbeat_multicast_ttl', {
    group: 'heartbeat.multicast',
  }),
  f('heartbeat.preempt', 'Fail back to the higher priority', 'bool', 'heartbeat.preempt', 'preempt'),
  f('heartbeat.preemptDelayMs', 'Preempt delay (ms)', 'int', 'heartbeat.preempt_delay_ms', 'preempt_delay'),
  f(
    'heartbeat.handoverTimeoutMs',
    'Handover timeout (ms)',
    'int',
    'heartbeat.handover_timeout_ms',
    'handover_timeout',
  ),
  f(
    'heartbeat.piranhaCompat',
    'Speak Piranha’s heartbeat too',
    'bool',
    'heartbeat.piranha_compat',
    'piranha_compat',
  ),
  f('heartbeat.rtPriority', 'Real-time priority (0 = off)', 'int', 'heartbeat.rt_priority', 'rt_priority'),
  f('heartbeat.isolation', 'Heartbeat runs in', 'enum', 'heartbeat.worker', 'heartbeat_worker', {
    options: ['process', 'thread', 'off'],
  }),
  f('announce.count', 'ARP/NA frames per burst', 'int', 'announce.count', 'arp_count'),
  f('announce.intervalMs', 'Gap between frames (ms)', 'int', 'announce.interval_ms', 'arp_interval'),
  f(
    'announce.repeatDelayMs',
    'Second burst after (ms)',
    'int',
    'announce.repeat_delay_ms',
    'arp_repeat_delay',
  ),
  f('announce.repeatCount', 'Frames in second burst', 'int', 'announce.repeat_count', 'arp_repeat_count'),
  f('announce.refreshMs', 'Periodic refresh (ms, 0 = off)', 'int', 'announce.refresh_ms', 'arp_refresh'),
  f('announce.form', 'ARP form', 'enum', 'announce.form', 'arp_form', {
    options: ['request', 'reply', 'both'],
  }),
  f('monitorLinks', 'Monitor NIC links for failures', 'bool', 'monitor_links', 'monitor_links'),
  f('linkInterfaces', 'Watched interfaces', 'list', 'link_interfaces', 'link_interfaces', {
    help: 'Space or comma separated; empty = the devices of the VIPs and router addresses.',
  }),
];

/** load_monitor as a form string; a command is never accepted from the web. */
function loadMonitorText(m: MonitorConfig['loadMonitor']): string {
  switch (m.kind) {
    case 'none':
      return 'none';
    case 'http':
      return m.url;
    case 'command':
      return m.command;
    case 'piranha':
      return m.method;
  }
}

function setLoadMonitor(vs: VirtualServer, v: unknown): string | undefined {
  const t = String(v ?? '').trim();
  if (t === '' || t === 'none') vs.monitor.loadMonitor = { kind: 'none' };
  else if (t === 'uptime' || t === 'rup' || t === 'ruptime')
    vs.monitor.loadMonitor = { kind: 'piranha', method: t };
  else if (/^https?:\/\/\S+$/i.test(t)) vs.monitor.loadMonitor = { kind: 'http', url: t };
  else if (vs.monitor.loadMonitor.kind === 'command' && vs.monitor.loadMonitor.command === t)
    return undefined;
  else
    return 'must be none, uptime, rup, ruptime or an http(s):// URL (commands are set in the file, not from the web)';
  return undefined;
}

/** Control characters as the lvs.cf escapes an operator types (`\r\n`): a text input cannot hold a newline. */
export function escapeControls(s: string): string {
  return s.replace(/[\\\r\n\t]/g, (c) => ({ '\\': '\\\\', '\r': '\\r', '\n': '\\n', '\t': '\\t' })[c]!);
}

const escapedText = (key: 'send' | 'expect'): Partial<FieldDef> => ({
  optional: true,
  help: 'Escapes \\r \\n \\t \\\\ as in lvs.cf.',
  get: (vs: VirtualServer) => (vs.monitor[key] === undefined ? '' : escapeControls(vs.monitor[key]!)),
  set: (vs: VirtualServer, v: unknown) => {
    if (v === undefined) delete vs.monitor[key];
    else vs.monitor[key] = expandEscapes(String(v));
    return undefined;
  },
});

/** VIRTUAL SERVER: service, scheduling, persistence, sorry server, monitoring options. */
export const VIRTUAL_FIELDS: FieldDef[] = [
  f('name', 'Name', 'string', 'name', 'virtual'),
  f('active', 'Active', 'bool', 'active', 'active'),
  f('vip.address', 'Virtual IP address', 'string', 'vip.address', 'address'),
  f('vip.prefixLength', 'VIP prefix length', 'int', 'vip.prefix_length', 'vip_nmask'),
  f('vip.device', 'VIP device', 'string', 'vip.device', undefined, { optional: true }),
  f('vip.label', 'VIP label (eth0:1)', 'string', 'vip.label', undefined, { optional: true }),
  f('protocol', 'Protocol', 'enum', 'protocol', 'protocol', { options: ['tcp', 'udp'] }),
  f('port', 'Application port', 'int', 'port', 'port'),
  f('fwmark', 'Firewall mark', 'int', 'fwmark', 'fwmark', { optional: true }),
  f('scheduler', 'Scheduling', 'enum', 'scheduler', 'scheduler', { options: SCHEDULERS }),
  f('persistentS', 'Persistence (s, 0 = off)', 'int', 'persistent', 'persistent'),
  f('pmask', 'Persistence network mask', 'string', 'pmask', 'pmask', { optional: true }),
  f('sorryServer.address', 'Sorry server', 'string', 'sorry_server.address', 'sorry_server', {
    optional: true,
    group: 'sorryServer',
    groupKey: true,
    groupInit: (vs: VirtualServer) => ({ address: '', port: vs.port }),
  }),
  f('sorryServer.port', 'Sorry server port', 'int', 'sorry_server.port', 'sorry_server', {
    group: 'sorryServer',
  }),
  f('monitor.kind', 'Probe', 'enum', 'monitor.kind', 'probe', {
    options: ['tcp', 'send_expect', 'program', 'udp', 'http', 'https', 'dns', 'none'],
  }),
  f('monitor.send', 'Send', 'string', 'monitor.send', 'send', escapedText('send')),
  f('monitor.expect', 'Expect', 'string', 'monitor.expect', 'expect', escapedText('expect')),
  f('monitor.useRegex', 'Treat expect as a regular expression', 'bool', 'monitor.use_regex', 'use_regex'),
  f('monitor.sendProgram', 'Sending program', 'string', 'monitor.send_program', 'send_program', {
    readOnly: true,
  }),
  f('monitor.timeoutMs', 'Probe timeout (ms)', 'int', 'monitor.timeout_ms', 'timeout'),
  f('monitor.intervalMs', 'Probe interval (ms)', 'int', 'monitor.interval_ms', 'interval'),
  f('monitor.fall', 'Failures to mark down', 'int', 'monitor.fall', 'fall'),
  f('monitor.rise', 'Successes to mark up', 'int', 'monitor.rise', 'rise'),
  f('monitor.jitterMs', 'Probe jitter (ms)', 'int', 'monitor.jitter_ms', 'jitter'),
  f('monitor.quiesce', 'Quiesce server (weight 0 on failure)', 'bool', 'monitor.quiesce', 'quiesce_server'),
  f('monitor.slowStartMs', 'Slow start (ms, 0 = off)', 'int', 'monitor.slow_start_ms', 'slow_start'),
  f('monitor.loadMonitor', 'Load monitoring tool', 'string', 'monitor.load_monitor', 'load_monitor', {
    get: (vs: VirtualServer) => loadMonitorText(vs.monitor.loadMonitor),
    set: setLoadMonitor,
  }),
  f('monitor.http.path', 'HTTP probe path', 'string', 'monitor.http.path', 'http_path', {
    optional: true,
    group: 'monitor.http',
    groupKey: true,
    groupInit: () => ({ path: '/', status: [], insecure: false }),
  }),
  f('monitor.http.status', 'HTTP accepted status codes', 'intlist', 'monitor.http.status', 'http_status', {
    group: 'monitor.http',
  }),
  f('monitor.http.host', 'HTTP Host header', 'string', 'monitor.http.host', 'http_host', {
    optional: true,
    group: 'monitor.http',
  }),
  f('monitor.dns.name', 'DNS probe name', 'string', 'monitor.dns.name', 'dns_name', {
    optional: true,
    group: 'monitor.dns',
    groupKey: true,
    groupInit: () => ({ name: '', type: 'A' }),
  }),
  f('monitor.dns.type', 'DNS record type', 'enum', 'monitor.dns.type', 'dns_type', {
    options: ['A', 'AAAA', 'SOA', 'NS', 'TXT'],
    group: 'monitor.dns',
  }),
];

/** REAL SERVER: address, port, weight, activation. */
export const REAL_FIELDS: FieldDef[] = [
  f('name', 'Name', 'string', 'name', 'server'),
  f('address', 'Address', 'string', 'address', 'address'),
  f('port', 'Port', 'int', 'port', 'port'),
  f('weight', 'Weight', 'int', 'weight', 'weight'),
  f('active', 'Active', 'bool', 'active', 'active'),
  f('forwarding', 'Forwarding (empty = global)', 'enum', 'forwarding', 'forwarding', {
    optional: true,
    options: ['', ...FORWARDING],
  }),
];

/** The field table of a form. */
export function fieldsOf(scope: Scope): FieldDef[] {
  switch (scope) {
    case 'global':
      return GLOBAL_FIELDS;
    case 'redundancy':
      return REDUNDANCY_FIELDS;
    case 'virtual':
      return VIRTUAL_FIELDS;
    case 'real':
      return REAL_FIELDS;
  }
}

/** Reads a dot path (`heartbeat.multicast.ttl`) from an object; undefined when a step is missing. */
export function getPath(obj: Any, path: string): unknown {
  let o = obj;
  for (const k of path.split('.')) {
    if (o === null || typeof o !== 'object') return undefined;
    o = o[k];
  }
  return o;
}

/** Writes a dot path; `undefined` deletes the last key. Intermediate objects must exist. */
export function setPath(obj: Any, path: string, value: unknown): void {
  const keys = path.split('.');
  const last = keys.pop()!;
  let o = obj;
  for (const k of keys) o = o[k];
  if (value === undefined) delete o[last];
  else o[last] = value;
}

/** A field as the browser sees it: definition plus current value. */
export interface FieldView {
  id: string;
  label: string;
  type: FieldType;
  optional: boolean;
  readOnly: boolean;
  options?: readonly string[];
  help?: string;
  value: unknown;
}

/** The form of a scope object: every field with its value as the form shows it. */
export function viewFields(scope: Scope, obj: Any): FieldView[] {
  return fieldsOf(scope).map((d) => {
    const raw = d.get ? d.get(obj) : getPath(obj, d.id);
    let value: unknown = raw;
    if (d.type === 'list' || d.type === 'intlist') value = Array.isArray(raw) ? raw.join(' ') : '';
    else if (raw === undefined || raw === null) value = d.type === 'bool' ? false : '';
    return {
      id: d.id,
      label: d.label,
      type: d.type,
      optional: !!d.optional,
      readOnly: !!d.readOnly,
      ...(d.options ? { options: d.options } : {}),
      ...(d.help ? { help: d.help } : {}),
      value,
    };
  });
}

/** Default objects for "add" forms. */
export function newVirtualServer(): VirtualServer {
  return {
    name: '',
    active: true,
    vip: { address: '', prefixLength: 32 },
    protocol: 'tcp',
    port: 80,
    scheduler: 'wlc',
    persistentS: 0,
    monitor: {
      kind: 'tcp',
      useRegex: false,
      timeoutMs: 500,
      intervalMs: 500,
      fall: 1,
      rise: 2,
      jitterMs: 0,
      quiesce: false,
      loadMonitor: { kind: 'none' },
      slowStartMs: 0,
    },
    realServers: [],
  };
}

export function newRealServer(vs: VirtualServer): RealServer {
  return { name: '', address: '', port: vs.port, weight: 1, active: true };
}
