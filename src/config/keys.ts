/**
 * The config grammar as one table of data: every key of the native document (YAML/JSON), once, with its
 * format, its one default, its documentation (and Piranha's default), the lvs.cf key that writes it and
 * how its words convert, the model field it fills and the web console's label. Everything else is
 * derived from this table: the convict schema (schema.ts), the lvs.cf reader's key table (lvscf.ts) and
 * writer (dump.ts), the document ↔ model mapping (document.ts), docs/config-reference.md (reference.ts)
 * and the console's form fields (web/fields.ts). Adding a key is adding an entry here (and its field in
 * model.ts, which the typecheck asks for); its behaviour is then the concern of whoever reads the model.
 *
 * Defaults that depend on other keys (a backup is active when it is named, the probe interval is the
 * timeout, Piranha's port-80 probe, ...) are the `unset` functions of their entries, named below the
 * table's helpers ("Derived defaults").
 */
import { ipFamily, isMulticast } from '../lib/addr.js';
import * as D from './defaults.js';
import type { Format, FormatValue } from './formats.js';
import {
  type FailoverService,
  type LvsModel,
  type MonitorConfig,
  type RealServer,
  SCHEDULERS,
  type VirtualServer,
} from './model.js';

/** The four places a key can be written: the top level, a virtual server, a real server, a failover service. */
export type Scope = 'global' | 'virtual' | 'server' | 'failover';

/** The model object each scope fills. */
export interface ScopeModels {
  global: LvsModel;
  virtual: VirtualServer;
  server: RealServer;
  failover: FailoverService;
}

/**
 * How the words of an lvs.cf value are read (lvscf.ts) and written (dump.ts): integers as strtol, 0/1
 * booleans, a word, a word with escapes, a whole command line, seconds, a port or service name, an
 * address, `ADDRESS dev:N`, a netmask, Piranha's debug_level, a list of words, a list of status codes,
 * `ADDRESS PORT` and reentry seconds.
 */
export type CfConv =
  | 'int'
  | 'bool'
  | 'str'
  | 'esc'
  | 'cmd'
  | 'sec'
  | 'port'
  | 'ip'
  | 'ipdev'
  | 'mask'
  | 'loglevel'
  | 'list'
  | 'status'
  | 'sorry'
  | 'reentry';

/** A key's place in lvs.cf. */
export interface CfSpec {
  /** The lvs.cf key in its block (for a block name: the block word, `virtual`). */
  key: string;
  /** How its words are read and written. Absent for a `part` or a `block` name. */
  conv?: CfConv;
  /** The value is a word of the composite key `key` (conv ipdev / sorry): which word. */
  part?: 'device' | 'label' | 'port';
  /** The value is the NAME of `key NAME {`. */
  block?: true;
  /** Older names of the key, still read. */
  aliases?: readonly string[];
  /** lvs.cf words read as these document values (before the document is checked). */
  words?: Readonly<Record<string, unknown>>;
  /** Always written quoted (a path or pattern, as Piranha's GUI wrote them). */
  quote?: 'always';
  /** Left out of a written lvs.cf while it has its default. */
  omitDefault?: true;
  /** Written by this function of the document value instead of by `conv`; `word` quotes as dump.ts does. */
  write?: (value: never, word: (s: string, forceQuote?: boolean) => string) => string;
  /** Written right after this key of its block instead of in table order (Piranha's GUI order). */
  after?: string;
  /** Another key that sets this value, read only: `reentry` sets rise (see closeBlock in lvscf.ts). */
  also?: { key: string; conv: 'reentry' };
}

/** A value read but no longer written: replaced before the model is built, with an optional warning. */
export interface ReadAs {
  value: unknown;
  as: unknown;
  warning?: string;
}

/** The console's form field for a key (the field's type, options and read-only flag are derived). */
export interface WebSpec {
  label: string;
  help?: string;
}

/**
 * A default computed when the document leaves a key unset (null): from the mapping the key sits in, its
 * scope object and, for a real server, its virtual server. Parameter types are written structurally.
 */
export type Unset = (group: never, scope: never, parent: never) => unknown;

/** One key. `S` is its scope: `model` is a path in that scope's model object. */
export interface KeyDef<S extends Scope = Scope> {
  /** Path in the document within its scope (`heartbeat.deadtime_ms`, `monitor.timeout_ms`). */
  path: string;
  format: Format;
  /** A check of the value beyond its format: what it must be, or undefined when it is fine. */
  check?: (value: never) => string | undefined;
  /** The one default; null = unset (the model field is absent, or `unset` computes it). */
  default: unknown;
  /** One line for the reference. */
  doc: string;
  /** Piranha's default, where it had the key. */
  piranha?: string;
  /** Older document paths (in the same scope) still read. */
  aliases?: readonly string[];
  /** Values read but no longer written. */
  readAs?: readonly ReadAs[];
  /** Field in the scope's model object (`heartbeat.deadtimeMs`). */
  model: ModelPath<ScopeModels[S]>;
  /** The model field may be absent (`?:` in model.ts; the typecheck below keeps the two in step). */
  optional?: true;
  /** Model value when the document value is null. */
  unset?: Unset;
  /** Document value → model value (default: canonical address for addresses, copied lists, else as is). */
  toModel?: (value: never) => unknown;
  /** Model value → document value (default: as is; undefined leaves the key out of a dump). */
  toDoc?: (value: never) => unknown;
  /** A list of mappings of this scope (virtual_servers, real_servers, failover_services). */
  items?: Scope;
  cf?: CfSpec;
  web?: WebSpec;
  /**
   * The value names a program that root runs (a hook, send_program, the ipvsadm path): never written
   * from the web. A function: only the model values for which it returns true do (a load_monitor command).
   */
  runsProgram?: true | ((value: never) => boolean);
  /**
   * The value is security-sensitive though it names no program (heartbeat authentication, key files,
   * real-time priority, the metrics listener, a URL the root daemon fetches): shown read-only in the web
   * console and refused in a peer push unless the receiver accepts such changes. The text says why.
   */
  webReadOnly?: string;
}

/**
 * An optional object of the model (`backup`, `natRouter`, `monitor.http`): present when its key field
 * has a value (or when `present` says so), absent otherwise; written to the document only when present.
 */
export interface GroupDef {
  /** Path of the object in the scope's model. */
  model: string;
  /** The model field whose value creates the object (the web's group key). */
  key: string;
  /** Presence by another rule than the key field having a value. */
  present?: (scope: never) => boolean;
}

/** Everything about one scope. */
export interface ScopeDef {
  /** lvs.cf block word (`virtual NAME {`); undefined for the top level. */
  block?: 'virtual' | 'server' | 'failover';
  keys: readonly KeyDef[];
  groups: readonly GroupDef[];
}

// ---------------------------------------------------------------------------------------------------
// Typing helpers: model paths, and the document type derived from the table.

/** Every dotted path into a model object (objects only; lists stop the walk). */
export type ModelPath<T> = T extends readonly unknown[]
  ? never
  : T extends object
    ? { [K in keyof T & string]-?: K | SubPath<K, NonNullable<T[K]>> }[keyof T & string]
    : never;
type SubPath<K extends string, V> = V extends readonly unknown[]
  ? never
  : V extends object
    ? `${K}.${ModelPath<V>}`
    : never;

type Nest<P extends string, V> = P extends `${infer H}.${infer R}`
  ? { [K in H]: Nest<R, V> }
  : { [K in P]: V };
type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void
  ? I
  : never;
type Expand<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]: Expand<T[K]> } : T;
type ValueOf<E> = E extends { items: infer S extends Scope }
  ? DocumentOf<S>[]
  : E extends { format: infer F; default: infer Dflt }
    ? FormatValue<F> | (null extends Dflt ? null : never)
    : never;
type DocOf<E extends readonly unknown[]> = Expand<
  UnionToIntersection<
    { [I in keyof E]: E[I] extends { path: infer P extends string } ? Nest<P, ValueOf<E[I]>> : never }[number]
  >
>;
interface Tables {
  global: typeof GLOBAL_KEYS;
  virtual: typeof VIRTUAL_KEYS;
  server: typeof SERVER_KEYS;
  failover: typeof FAILOVER_KEYS;
}
/** The validated document of a scope: every key present, null where unset (derived from the table). */
export type DocumentOf<S extends Scope> = DocOf<Tables[S]>;

/** Checks a scope's entries against KeyDef<S> and keeps their literal types (for DocumentOf). */
const keysOf =
  <S extends Scope>() =>
  <const E extends readonly KeyDef<S>[]>(entries: E): E =>
    entries;

// ---------------------------------------------------------------------------------------------------
// Value conversions and derived defaults (used by entries below).

/** An unset name or address is empty in the model (the semantic checks say it is missing). */
const blank = (): string => '';
/** An empty address is left out of a dump. */
const dropBlank = (v: string) => (v === '' ? undefined : v);
/** A switch that the model carries only when on (absent = off). */
const onlyTrue = (v: boolean | undefined) => (v === true ? true : undefined);
/** load_monitor text → the model's load monitor. */
export function parseLoadMonitor(text: string): MonitorConfig['loadMonitor'] {
  const t = text.trim();
  if (t === '' || t === 'none') return { kind: 'none' };
  if (t === 'uptime' || t === 'rup' || t === 'ruptime') return { kind: 'piranha', method: t };
  if (/^https?:\/\//i.test(t)) return { kind: 'http', url: t };
  return { kind: 'command', command: t };
}

/** The model's load monitor → load_monitor text. */
export function loadMonitorText(m: MonitorConfig['loadMonitor']): string {
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

const parseFeedback = (fb: string): MonitorConfig['feedback'] =>
  fb === 'exit-code'
    ? { kind: 'exit-code' }
    : fb.startsWith('header:')
      ? { kind: 'header', name: fb.slice('header:'.length) }
      : undefined;
const feedbackText = (f: MonitorConfig['feedback']) =>
  f === undefined ? 'none' : f.kind === 'exit-code' ? 'exit-code' : `header:${f.name}`;

/** The heartbeat's worker-thread mode is gone; files that asked for it get the child process. */
const THREAD_REMOVED = 'thread isolation was removed; the heartbeat runs in a child process';

// Derived defaults.

/** Prefix length of a floating address left unset: the whole address (32 for IPv4, 128 for IPv6). */
const hostPrefix = (g: { address: string | null }) => (ipFamily(g.address ?? '') === 6 ? 128 : 32);
/** Device of a floating address left unset: the label's interface (`eth0:1` → eth0). */
const labelDevice = (g: { label: string | null }) =>
  g.label === null ? undefined : g.label.includes(':') ? g.label.split(':')[0] : g.label;
/** backup_active left unset: a backup router that is named runs. */
const backupNamed = (_g: unknown, d: { backup: { address: string | null } }) => d.backup.address !== null;
/** heartbeat.auth left unset: hmac when a key file is given, else none (warned). */
const authByKey = (hb: { key_file: string | null }) => (hb.key_file !== null ? 'hmac' : 'none');
/** A port left unset: the virtual server's (a sorry server's in its virtual, a real server's in its parent). */
const virtualPort = (_g: unknown, vs: { port: number }) => vs.port;
const parentPort = (_g: unknown, _rs: unknown, vs: { port: number }) => vs.port;
/** interval left unset: the timeout, as Piranha probed every `timeout` seconds. */
const timeoutInterval = (mo: { timeout_ms: number }) => mo.timeout_ms;

interface ProbeDoc {
  kind: string | null;
  send: string | null;
  expect: string | null;
  send_program: string | null;
}
interface ServiceDoc {
  protocol: string;
  port: number;
}
/** Piranha's nanny probed a TCP port-80 service that named no probe with GET / HTTP/1.0, expecting HTTP. */
const piranhaHttp = (mo: ProbeDoc, vs: ServiceDoc) =>
  mo.kind === null &&
  mo.send_program === null &&
  vs.protocol !== 'udp' &&
  mo.send === null &&
  mo.expect === null &&
  vs.port === 80;
/** The probe left unset: program, udp, send_expect (also Piranha's port-80 probe) or tcp. */
const probeKind = (mo: ProbeDoc, vs: ServiceDoc) =>
  mo.send_program !== null
    ? 'program'
    : vs.protocol === 'udp'
      ? 'udp'
      : mo.send !== null || mo.expect !== null || vs.port === 80
        ? 'send_expect'
        : 'tcp';
const piranhaSend = (mo: ProbeDoc, vs: ServiceDoc) => (piranhaHttp(mo, vs) ? D.HTTP_DEFAULT_SEND : undefined);
const piranhaExpect = (mo: ProbeDoc, vs: ServiceDoc) =>
  piranhaHttp(mo, vs) ? D.HTTP_DEFAULT_EXPECT : undefined;

/** The four keys of a floating address (VIP, NAT router): `ADDRESS dev:N` and a netmask key in lvs.cf. */
function floating<const P extends string, const M extends string>(
  path: P,
  model: M,
  what: string,
  cf: { key: string; mask: string },
  opts: { group?: true; web?: { address: WebSpec; prefix: string; device: string; label: string } } = {},
) {
  return [
    {
      path: `${path}.address`,
      format: 'lvs-ip',
      default: null,
      doc: `${what}: the address.`,
      model: `${model}.address`,
      ...(opts.group ? {} : { unset: blank }),
      toDoc: dropBlank,
      cf: { key: cf.key, conv: 'ipdev' },
      ...(opts.web ? { web: opts.web.address } : {}),
    },
    {
      path: `${path}.device`,
      format: 'lvs-ifname',
      default: null,
      doc: `Interface the ${what} goes on (eth0); unset = the interface that routes to it.`,
      model: `${model}.device`,
      optional: true,
      unset: labelDevice,
      cf: { key: cf.key, part: 'device' },
      ...(opts.web ? { web: { label: opts.web.device } } : {}),
    },
    {
      path: `${path}.label`,
      format: 'lvs-iflabel',
      default: null,
      doc: `iproute2 label (eth0:1), as Piranha's interface aliases.`,
      model: `${model}.label`,
      optional: true,
      cf: { key: cf.key, part: 'label' },
      ...(opts.web ? { web: { label: opts.web.label } } : {}),
    },
    {
      path: `${path}.prefix_length`,
      format: 'lvs-prefix',
      default: null,
      doc: `Prefix length of the ${what}; unset = 32 (IPv4) / 128 (IPv6).`,
      piranha: '255.255.255.255',
      model: `${model}.prefixLength`,
      unset: hostPrefix,
      cf: { key: cf.mask, conv: 'mask' },
      ...(opts.web ? { web: { label: opts.web.prefix } } : {}),
    },
  ] as const;
}

const FORWARDING = ['nat', 'direct', 'tunnel'] as const;

// ---------------------------------------------------------------------------------------------------
// The table. Order is the order of the reference, of a YAML dump and of an lvs.cf dump.

const GLOBAL_KEYS = keysOf<'global'>()([
  {
    path: 'serial_no',
    format: 'lvs-uint',
    default: 0,
    doc: 'Serial number of the configuration (Piranha bumps it on each GUI save).',
    model: 'serialNo',
    cf: { key: 'serial_no', conv: 'int' },
  },
  {
    path: 'service',
    format: ['lvs', 'fos'],
    default: 'lvs',
    doc: 'lvs (virtual servers) or fos (Piranha failover services: parsed and reported, not run).',
    piranha: 'lvs',
    model: 'service',
    cf: { key: 'service', conv: 'str' },
  },
  {
    path: 'primary.address',
    format: 'lvs-ip',
    default: null,
    doc: 'Public address of the primary router: heartbeat path 1 and who-am-I detection.',
    model: 'primary.address',
    unset: blank,
    toDoc: dropBlank,
    cf: { key: 'primary', conv: 'ip' },
    web: { label: 'Primary server public IP' },
  },
  {
    path: 'primary.private_address',
    format: 'lvs-ip',
    default: null,
    doc: 'Private address of the primary router: heartbeat path 2.',
    model: 'primary.privateAddress',
    optional: true,
    cf: { key: 'primary_private', conv: 'ip' },
    web: { label: 'Primary server private IP' },
  },
  {
    path: 'primary.priority',
    format: 'lvs-uint',
    default: D.PRIMARY_PRIORITY,
    doc: 'Election priority (higher wins; ties go to the lower address).',
    model: 'primary.priority',
    cf: { key: 'primary_priority', conv: 'int' },
    web: { label: 'Primary priority' },
  },
  {
    path: 'backup.address',
    format: 'lvs-ip',
    default: null,
    doc: 'Public address of the backup router: heartbeat path 1 and who-am-I detection.',
    model: 'backup.address',
    cf: { key: 'backup', conv: 'ip' },
    web: { label: 'Backup server public IP' },
  },
  {
    path: 'backup.private_address',
    format: 'lvs-ip',
    default: null,
    doc: 'Private address of the backup router: heartbeat path 2.',
    model: 'backup.privateAddress',
    optional: true,
    cf: { key: 'backup_private', conv: 'ip' },
    web: { label: 'Backup server private IP' },
  },
  {
    path: 'backup.priority',
    format: 'lvs-uint',
    default: D.BACKUP_PRIORITY,
    doc: 'Election priority (higher wins; ties go to the lower address).',
    model: 'backup.priority',
    cf: { key: 'backup_priority', conv: 'int' },
    web: { label: 'Backup priority' },
  },
  {
    path: 'backup_active',
    format: 'lvs-bool',
    default: null,
    doc: 'Whether the backup router runs; unset = true when a backup address is set.',
    piranha: '0',
    model: 'backupActive',
    unset: backupNamed,
    cf: { key: 'backup_active', conv: 'bool' },
    web: { label: 'Backup router runs' },
  },
  {
    path: 'network',
    format: FORWARDING,
    default: D.NETWORK,
    doc: 'Forwarding method of the real servers: nat, direct or tunnel.',
    piranha: 'nat',
    model: 'network',
    cf: { key: 'network', conv: 'str' },
    web: { label: 'Use network type' },
  },
  ...floating(
    'nat_router',
    'natRouter',
    'NAT router address (the real servers’ gateway, floating with the VIPs)',
    { key: 'nat_router', mask: 'nat_nmask' },
    {
      group: true,
      web: {
        address: {
          label: 'NAT router IP',
          help: 'The real servers’ gateway, floating with the VIPs (NAT only). Empty = none.',
        },
        prefix: 'NAT router prefix length',
        device: 'NAT router device',
        label: 'NAT router label (eth1:1)',
      },
    },
  ),
  {
    path: 'heartbeat.port',
    format: 'lvs-port',
    default: D.HEARTBEAT_PORT,
    doc: 'Heartbeat UDP port.',
    piranha: '539',
    model: 'heartbeat.port',
    cf: { key: 'heartbeat_port', conv: 'port' },
    web: { label: 'Heartbeat runs on port' },
  },
  {
    path: 'heartbeat.keepalive_ms',
    format: 'lvs-ms',
    default: D.KEEPALIVE_MS,
    doc: 'Interval between heartbeats, ms. Fast profile (dedicated, quiet links; docs/fast-profile.md): 2 ms with deadtime 12 ms.',
    piranha: '2 s',
    model: 'heartbeat.keepaliveMs',
    cf: { key: 'keepalive', conv: 'sec' },
    web: { label: 'Heartbeat interval (ms)' },
  },
  {
    path: 'heartbeat.deadtime_ms',
    format: 'lvs-ms',
    default: D.DEADTIME_MS,
    doc: 'Silence on every path for this long means the peer is dead, ms. Fast profile: 12 ms with keepalive 2 ms (crash outage ~14 ms; a heartbeat late by more than 10 ms is a false failover).',
    piranha: '5 s',
    model: 'heartbeat.deadtimeMs',
    cf: { key: 'deadtime', conv: 'sec' },
    web: { label: 'Assume dead after (ms)' },
  },
  {
    path: 'heartbeat.auth',
    format: ['hmac', 'none'],
    default: null,
    doc: 'hmac (needs key_file) or none (unauthenticated, warned); unset = hmac when key_file is set, else none in lvs.cf (as Piranha), while a YAML/JSON file with a backup and no key_file is refused unless it writes none.',
    model: 'heartbeat.auth',
    unset: authByKey,
    cf: { key: 'heartbeat_auth', conv: 'str' },
    web: { label: 'Heartbeat authentication' },
    webReadOnly: 'turning authentication off lets anyone on the heartbeat link force a failover',
  },
  {
    path: 'heartbeat.key_file',
    format: 'lvs-str',
    default: null,
    doc: 'Root-only file holding the shared heartbeat key.',
    model: 'heartbeat.keyFile',
    optional: true,
    cf: { key: 'heartbeat_key_file', conv: 'str' },
    web: { label: 'Heartbeat key file' },
    webReadOnly: 'a key file path is read by root; pointing it elsewhere breaks or weakens authentication',
  },
  {
    path: 'heartbeat.key_file_old',
    format: 'lvs-str',
    default: null,
    doc: 'Previous key, still accepted during a key rotation.',
    model: 'heartbeat.previousKeyFile',
    optional: true,
    cf: { key: 'heartbeat_key_file_old', conv: 'str' },
    web: { label: 'Previous key file (rotation)' },
    webReadOnly: 'a key file path is read by root; an old key accepted forever weakens authentication',
  },
  {
    path: 'heartbeat.multicast.group',
    format: 'lvs-ip',
    default: null,
    doc: 'Multicast group of an extra heartbeat path (unset = unicast only).',
    model: 'heartbeat.multicast.group',
    cf: { key: 'heartbeat_multicast_group', conv: 'ip' },
    web: { label: 'Multicast group (extra path)' },
  },
  {
    path: 'heartbeat.multicast.interface',
    format: 'lvs-ifname',
    default: null,
    doc: 'Interface the multicast path joins and sends on.',
    model: 'heartbeat.multicast.interface',
    optional: true,
    cf: { key: 'heartbeat_multicast_interface', conv: 'str' },
    web: { label: 'Multicast interface' },
  },
  {
    path: 'heartbeat.multicast.ttl',
    format: 'lvs-ttl',
    default: D.MULTICAST_TTL,
    doc: 'Multicast TTL.',
    model: 'heartbeat.multicast.ttl',
    cf: { key: 'heartbeat_multicast_ttl', conv: 'int' },
    web: { label: 'Multicast TTL' },
  },
  {
    path: 'heartbeat.piranha_compat',
    format: 'lvs-bool',
    default: false,
    doc: "Also speak Piranha's 4-byte heartbeat (migration; unauthenticated).",
    model: 'heartbeat.piranhaCompat',
    cf: { key: 'piranha_compat', conv: 'bool' },
    web: { label: 'Speak Piranha’s heartbeat too' },
    webReadOnly: 'Piranha’s 4-byte heartbeats are unauthenticated',
  },
  {
    path: 'heartbeat.preempt',
    format: 'lvs-bool',
    default: false,
    doc: 'Fail back to the higher-priority router when it returns.',
    piranha: 'never',
    model: 'heartbeat.preempt',
    cf: { key: 'preempt', conv: 'bool' },
    web: { label: 'Fail back to the higher priority' },
  },
  {
    path: 'heartbeat.preempt_delay_ms',
    format: 'lvs-ms',
    default: 0,
    doc: 'Wait this long before preempting, ms.',
    model: 'heartbeat.preemptDelayMs',
    cf: { key: 'preempt_delay', conv: 'sec' },
    web: { label: 'Preempt delay (ms)' },
  },
  {
    path: 'heartbeat.handover_timeout_ms',
    format: 'lvs-ms',
    default: D.HANDOVER_TIMEOUT_MS,
    doc: 'Graceful handover: wait at most this long for the peer to confirm active before dropping the VIPs, ms.',
    model: 'heartbeat.handoverTimeoutMs',
    cf: { key: 'handover_timeout', conv: 'sec' },
    web: { label: 'Handover timeout (ms)' },
  },
  {
    path: 'heartbeat.rt_priority',
    format: 'lvs-rtprio',
    default: D.RT_PRIORITY,
    doc: 'SCHED_RR priority of the heartbeat (0 = off), as keepalived vrrp_rt_priority.',
    model: 'heartbeat.rtPriority',
    cf: { key: 'rt_priority', conv: 'int' },
    web: { label: 'Real-time priority (0 = off)' },
    webReadOnly: 'a high real-time priority can starve the router’s other processes',
  },
  {
    path: 'heartbeat.isolation',
    format: ['process', 'off'],
    default: D.HEARTBEAT_ISOLATION,
    doc: 'Where the heartbeat runs: process (a child process of its own, as keepalived runs VRRP) or off (the daemon’s main thread).',
    // The old name, and its values: `thread` (lvs.cf 1, YAML true) and `off` (0, false).
    aliases: ['heartbeat.worker'],
    readAs: [
      { value: 'thread', as: 'process', warning: THREAD_REMOVED },
      { value: true, as: 'process', warning: THREAD_REMOVED },
      { value: false, as: 'off' },
    ],
    model: 'heartbeat.isolation',
    cf: {
      key: 'heartbeat_isolation',
      conv: 'str',
      aliases: ['heartbeat_worker'],
      words: { '1': true, '0': false },
    },
    web: { label: 'Heartbeat runs in' },
  },
  {
    path: 'announce.count',
    format: 'lvs-pos',
    default: D.ARP_COUNT,
    doc: 'Gratuitous ARP / unsolicited NA frames in the first burst (the first leaves at once).',
    piranha: '5',
    model: 'announce.count',
    cf: { key: 'arp_count', conv: 'int' },
    web: { label: 'ARP/NA frames per burst' },
  },
  {
    path: 'announce.interval_ms',
    format: 'lvs-ms',
    default: D.ARP_INTERVAL_MS,
    doc: 'Gap between frames of a burst, ms.',
    piranha: '1 s',
    model: 'announce.intervalMs',
    cf: { key: 'arp_interval', conv: 'sec' },
    web: { label: 'Gap between frames (ms)' },
  },
  {
    path: 'announce.repeat_delay_ms',
    format: 'lvs-ms',
    default: D.ARP_REPEAT_DELAY_MS,
    doc: 'Second burst this long after the first, ms (0 = none).',
    model: 'announce.repeatDelayMs',
    cf: { key: 'arp_repeat_delay', conv: 'sec' },
    web: { label: 'Second burst after (ms)' },
  },
  {
    path: 'announce.repeat_count',
    format: 'lvs-uint',
    default: D.ARP_REPEAT_COUNT,
    doc: 'Frames in the second burst.',
    model: 'announce.repeatCount',
    cf: { key: 'arp_repeat_count', conv: 'int' },
    web: { label: 'Frames in second burst' },
  },
  {
    path: 'announce.refresh_ms',
    format: 'lvs-ms',
    default: D.ARP_REFRESH_MS,
    doc: 'Re-announce periodically while active, ms (0 = off).',
    piranha: 'off',
    model: 'announce.refreshMs',
    cf: { key: 'arp_refresh', conv: 'sec' },
    web: { label: 'Periodic refresh (ms, 0 = off)' },
  },
  {
    path: 'announce.form',
    format: ['request', 'reply', 'both'],
    default: D.ARP_FORM,
    doc: 'ARP form: request, reply (Piranha send_arp) or both.',
    piranha: 'reply',
    model: 'announce.form',
    cf: { key: 'arp_form', conv: 'str' },
    web: { label: 'ARP form' },
  },
  {
    path: 'monitor_links',
    format: 'lvs-bool',
    default: false,
    doc: 'Hand over when a watched link goes down.',
    piranha: '0',
    model: 'monitorLinks',
    cf: { key: 'monitor_links', conv: 'bool' },
    web: { label: 'Monitor NIC links for failures' },
  },
  {
    path: 'link_interfaces',
    format: 'lvs-ifname-list',
    default: [],
    doc: 'Interfaces watched when monitor_links (empty = the devices of the VIPs and router addresses).',
    model: 'linkInterfaces',
    cf: { key: 'link_interfaces', conv: 'list' },
    web: {
      label: 'Watched interfaces',
      help: 'Space or comma separated; empty = the devices of the VIPs and router addresses.',
    },
  },
  {
    path: 'sync_daemon.enabled',
    format: 'lvs-bool',
    default: false,
    doc: 'Connection sync: the IPVS sync daemon (ipvsadm backend) or conntrackd (nftables backend).',
    piranha: '0',
    model: 'syncDaemon.enabled',
    cf: { key: 'syncdaemon', conv: 'bool' },
    web: { label: 'Connection sync daemon' },
  },
  {
    path: 'sync_daemon.interface',
    format: 'lvs-ifname',
    default: null,
    doc: 'Interface the connection sync runs on; unset = the interface holding this router’s private address (else its public one).',
    piranha: 'eth0',
    model: 'syncDaemon.interface',
    optional: true,
    cf: { key: 'syncd_iface', conv: 'str' },
    web: { label: 'Sync daemon interface' },
  },
  {
    path: 'sync_daemon.mcast_group',
    format: 'lvs-ip',
    check: (a: string) =>
      isMulticast(a) ? undefined : 'must be a multicast address (224.0.0.0/4 or ff00::/8)',
    default: null,
    doc: 'Multicast group of the IPVS sync daemon (ipvsadm --mcast-group); unset = the kernel’s default, 224.0.0.81.',
    model: 'syncDaemon.mcastGroup',
    optional: true,
    cf: { key: 'syncd_mcast_group', conv: 'ip' },
    web: { label: 'Sync daemon multicast group' },
  },
  {
    path: 'sync_daemon.id',
    format: 'lvs-uint',
    check: (n: number) => (n <= 255 ? undefined : 'must be a sync id 0–255 (ipvsadm --syncid)'),
    default: 0,
    doc: 'Sync id (ipvsadm --syncid): a backup takes only messages with its id; 0 = any.',
    piranha: '0',
    model: 'syncDaemon.id',
    cf: { key: 'syncd_id', conv: 'int' },
    web: { label: 'Sync daemon id' },
  },
  {
    path: 'sync_daemon.port',
    format: 'lvs-port',
    default: null,
    doc: 'UDP port of the sync messages; unset = 8848 (IPVS, ipvsadm --mcast-port) or 3780 (conntrackd).',
    model: 'syncDaemon.port',
    optional: true,
    cf: { key: 'syncd_port', conv: 'int' },
    web: { label: 'Sync daemon port' },
  },
  {
    path: 'sync_daemon.ttl',
    format: 'lvs-ttl',
    default: D.SYNCD_TTL,
    doc: 'Multicast TTL of the sync messages (ipvsadm --mcast-ttl).',
    model: 'syncDaemon.ttl',
    cf: { key: 'syncd_ttl', conv: 'int', omitDefault: true },
    web: { label: 'Sync daemon multicast TTL' },
  },
  {
    path: 'sync_daemon.maxlen',
    format: 'lvs-uint',
    check: (n: number) => (n >= 1 && n <= 65507 ? undefined : 'must be a sync message length 1–65507 bytes'),
    default: D.SYNCD_MAXLEN,
    doc: 'Largest IPVS sync message, bytes of UDP payload (ipvsadm --sync-maxlen). Small = each connection leaves sooner (docs/sync.md).',
    model: 'syncDaemon.maxlen',
    cf: { key: 'syncd_maxlen', conv: 'int', omitDefault: true },
    web: { label: 'Sync message length (bytes)' },
  },
  {
    path: 'sync_daemon.version',
    format: 'lvs-uint',
    check: (n: number) => (n <= 1 ? undefined : 'must be a sync protocol version 0 or 1'),
    default: D.SYNCD_VERSION,
    doc: 'IPVS sync protocol version sent (sysctl net.ipv4.vs.sync_version); 0 only for a peer older than Linux 2.6.39.',
    model: 'syncDaemon.version',
    cf: { key: 'syncd_version', conv: 'int', omitDefault: true },
    web: { label: 'Sync protocol version' },
  },
  {
    path: 'sync_daemon.threshold',
    format: 'lvs-uint',
    default: D.SYNC_THRESHOLD,
    doc: 'sysctl net.ipv4.vs.sync_threshold, first value: a connection is synced when its packet count modulo sync_daemon.period is this (only while period > 0).',
    model: 'syncDaemon.threshold',
    cf: { key: 'syncd_threshold', conv: 'int', omitDefault: true },
    web: { label: 'Sync threshold (packets)' },
  },
  {
    path: 'sync_daemon.period',
    format: 'lvs-uint',
    default: D.SYNC_PERIOD,
    doc: 'sysctl net.ipv4.vs.sync_threshold, second value (packets); 0 = sync by time (refresh_period), not by packet count.',
    model: 'syncDaemon.period',
    cf: { key: 'syncd_period', conv: 'int', omitDefault: true },
    web: { label: 'Sync period (packets, 0 = by time)' },
  },
  {
    path: 'sync_daemon.refresh_period',
    format: 'lvs-uint',
    check: (n: number) => (n <= 86400 ? undefined : 'must be 0–86400 seconds'),
    default: D.SYNC_REFRESH_PERIOD_S,
    doc: 'sysctl net.ipv4.vs.sync_refresh_period, seconds: a live connection is synced again after this long (0 = only on state changes).',
    model: 'syncDaemon.refreshPeriodS',
    cf: { key: 'syncd_refresh_period', conv: 'int', omitDefault: true },
    web: { label: 'Sync refresh period (s)' },
  },
  {
    path: 'sync_daemon.persist_mode',
    format: 'lvs-uint',
    check: (n: number) => (n <= 1 ? undefined : 'must be 0 or 1'),
    default: D.SYNC_PERSIST_MODE,
    doc: 'sysctl net.ipv4.vs.sync_persist_mode: 1 = persistent services sync only their templates (needs sloppy_tcp on the backup).',
    model: 'syncDaemon.persistMode',
    cf: { key: 'syncd_persist_mode', conv: 'int', omitDefault: true },
    web: { label: 'Sync persistence templates only' },
  },
  {
    path: 'sync_daemon.mode',
    format: ['ftfw', 'notrack'],
    default: D.SYNCD_MODE,
    doc: 'conntrackd (nftables backend) protocol: ftfw (acknowledged, resent on loss) or notrack.',
    model: 'syncDaemon.mode',
    cf: { key: 'syncd_mode', conv: 'str', omitDefault: true },
    web: { label: 'conntrackd sync mode' },
  },
  {
    path: 'sync_daemon.transport',
    format: ['udp', 'multicast'],
    default: D.SYNCD_TRANSPORT,
    doc: 'conntrackd transport: udp = unicast to the peer’s private (else public) address; multicast = the sync multicast group.',
    model: 'syncDaemon.transport',
    cf: { key: 'syncd_transport', conv: 'str', omitDefault: true },
    web: { label: 'conntrackd transport' },
  },
  {
    path: 'sync_daemon.resync_timeout_ms',
    format: 'lvs-ms',
    default: D.SYNC_RESYNC_TIMEOUT_MS,
    doc: 'A returning router takes over by preemption or planned switchover only after its connection resync, or this long, ms.',
    model: 'syncDaemon.resyncTimeoutMs',
    cf: { key: 'syncd_resync_timeout', conv: 'sec', omitDefault: true },
    web: { label: 'Resync wait before a planned takeover (ms)' },
  },
  {
    path: 'sync_daemon.conntrackd',
    format: 'lvs-str',
    default: D.CONNTRACKD_PATH,
    doc: 'Path of conntrackd (the nftables backend’s connection sync).',
    model: 'syncDaemon.conntrackdPath',
    cf: { key: 'conntrackd', conv: 'str', omitDefault: true },
    web: { label: 'conntrackd path' },
    runsProgram: true,
  },
  {
    path: 'timeouts.tcp',
    format: 'lvs-uint',
    default: 0,
    doc: 'ipvsadm --set tcp timeout, seconds (0 = leave the kernel’s).',
    model: 'timeouts.tcp',
    cf: { key: 'tcp_timeout', conv: 'int' },
    web: { label: 'TCP timeout (s, 0 = kernel’s)' },
  },
  {
    path: 'timeouts.tcpfin',
    format: 'lvs-uint',
    default: 0,
    doc: 'ipvsadm --set tcpfin timeout, seconds (0 = leave).',
    model: 'timeouts.tcpfin',
    cf: { key: 'tcpfin_timeout', conv: 'int' },
    web: { label: 'TCP FIN timeout (s)' },
  },
  {
    path: 'timeouts.udp',
    format: 'lvs-uint',
    default: 0,
    doc: 'ipvsadm --set udp timeout, seconds (0 = leave).',
    model: 'timeouts.udp',
    cf: { key: 'udp_timeout', conv: 'int' },
    web: { label: 'UDP timeout (s)' },
  },
  {
    path: 'hard_shutdown',
    format: 'lvs-bool',
    default: true,
    doc: 'A failed child (LB apply, probe worker) makes this router hand over.',
    piranha: '1',
    model: 'hardShutdown',
    cf: { key: 'hard_shutdown', conv: 'bool' },
    web: { label: 'Hand over when a child fails' },
  },
  {
    path: 'hooks.active_cmd',
    format: 'lvs-str',
    default: null,
    doc: 'Program run on becoming active (no shell).',
    model: 'hooks.activeCmd',
    optional: true,
    cf: { key: 'active_cmd', conv: 'cmd' },
    web: { label: 'Command on becoming active' },
    runsProgram: true,
  },
  {
    path: 'hooks.inactive_cmd',
    format: 'lvs-str',
    default: null,
    doc: 'Program run on becoming inactive (no shell).',
    model: 'hooks.inactiveCmd',
    optional: true,
    cf: { key: 'inactive_cmd', conv: 'cmd' },
    web: { label: 'Command on becoming inactive' },
    runsProgram: true,
  },
  {
    path: 'hooks.notify_cmd',
    format: 'lvs-str',
    default: null,
    doc: 'Program run on every state change with the new state as argument.',
    model: 'hooks.notifyCmd',
    optional: true,
    cf: { key: 'notify_cmd', conv: 'cmd' },
    web: { label: 'Command on every state change' },
    runsProgram: true,
  },
  {
    path: 'hooks.timeout_ms',
    format: 'lvs-ms',
    default: D.HOOK_TIMEOUT_MS,
    doc: 'Hook programs are killed after this long, ms.',
    model: 'hooks.timeoutMs',
    cf: { key: 'hook_timeout', conv: 'sec' },
  },
  {
    path: 'lb.backend',
    format: ['auto', 'ipvsadm', 'nftables', 'none'],
    default: 'auto',
    doc: 'Load-balancing table: auto, ipvsadm, nftables or none.',
    model: 'lb.backend',
    cf: { key: 'lb_backend', conv: 'str' },
    web: { label: 'LB backend' },
  },
  {
    path: 'lb.ipvsadm',
    format: 'lvs-str',
    default: D.IPVSADM_PATH,
    doc: 'Path of ipvsadm.',
    piranha: '/sbin/ipvsadm',
    model: 'lb.ipvsadmPath',
    cf: { key: 'ipvsadm', conv: 'str' },
    web: { label: 'ipvsadm path' },
    runsProgram: true,
  },
  {
    path: 'lb.hot_standby',
    format: 'lvs-bool',
    default: true,
    doc: 'Keep the LB table built on the standby too, so a takeover only moves addresses.',
    piranha: 'off',
    model: 'lb.hotStandby',
    cf: { key: 'hot_standby', conv: 'bool' },
    web: { label: 'Keep the LB table on the standby too' },
  },
  {
    path: 'lb.on_stop',
    format: ['keep', 'clear'],
    default: 'clear',
    doc: 'On a graceful stop: keep our LB entries in the kernel, or clear them.',
    model: 'lb.onStop',
    cf: { key: 'lb_on_stop', conv: 'str' },
    web: { label: 'On graceful stop' },
  },
  {
    path: 'log_level',
    format: ['error', 'warn', 'info', 'debug'],
    default: 'info',
    doc: 'Log level: error, warn, info, debug.',
    piranha: 'NONE',
    model: 'logLevel',
    cf: { key: 'debug_level', conv: 'loglevel' },
    web: { label: 'Log level' },
  },
  {
    path: 'metrics.listen',
    format: 'lvs-str',
    default: D.METRICS_LISTEN,
    doc: 'Prometheus metrics listener, HOST:PORT (loopback by default; empty = off).',
    model: 'metrics.listen',
    cf: { key: 'metrics_listen', conv: 'str', omitDefault: true },
    web: { label: 'Metrics listener (HOST:PORT, empty = off)' },
    webReadOnly: 'the metrics listener exposes the router’s state; 0.0.0.0 publishes it to every network',
  },
  {
    path: 'legacy.rsh_command',
    format: 'lvs-str',
    default: null,
    doc: 'Piranha rsh_command (unused; kept).',
    model: 'legacy.rshCommand',
    optional: true,
    cf: { key: 'rsh_command', conv: 'cmd' },
    runsProgram: true,
  },
  {
    path: 'legacy.sync',
    format: 'lvs-uint',
    default: null,
    doc: 'Piranha sync (unused; kept).',
    model: 'legacy.sync',
    optional: true,
    cf: { key: 'sync', conv: 'int' },
  },
  {
    path: 'legacy.heartbeat',
    format: 'lvs-uint',
    default: null,
    doc: 'Piranha heartbeat switch (unused by Piranha too; kept).',
    model: 'legacy.heartbeat',
    optional: true,
    cf: { key: 'heartbeat', conv: 'int' },
  },
  {
    path: 'legacy.primary_shared',
    format: 'lvs-str',
    default: null,
    doc: 'Piranha fos shared disk of the primary (kept).',
    model: 'legacy.primaryShared',
    optional: true,
    cf: { key: 'primary_shared', conv: 'str' },
  },
  {
    path: 'legacy.backup_shared',
    format: 'lvs-str',
    default: null,
    doc: 'Piranha fos shared disk of the backup (kept).',
    model: 'legacy.backupShared',
    optional: true,
    cf: { key: 'backup_shared', conv: 'str' },
  },
  {
    path: 'legacy.reservation_conflict_action',
    format: ['nothing', 'preempt'],
    default: null,
    doc: 'Piranha fos SCSI reservation action (kept).',
    model: 'legacy.reservationConflictAction',
    optional: true,
    cf: { key: 'reservation_conflict_action', conv: 'str' },
  },
  {
    path: 'virtual_servers',
    format: 'lvs-items',
    default: [],
    doc: 'The virtual servers (each a mapping, see the virtual server keys).',
    model: 'virtualServers',
    items: 'virtual',
  },
  {
    path: 'failover_services',
    format: 'lvs-items',
    default: [],
    doc: 'Piranha failover services (each a mapping, see the failover keys).',
    model: 'failoverServices',
    items: 'failover',
  },
]);

const VIRTUAL_KEYS = keysOf<'virtual'>()([
  {
    path: 'name',
    format: 'lvs-str',
    default: null,
    doc: 'Name of the virtual server (unique).',
    model: 'name',
    unset: blank,
    cf: { key: 'virtual', block: true },
    web: { label: 'Name' },
  },
  {
    path: 'active',
    format: 'lvs-bool',
    default: true,
    doc: 'Whether the virtual server is used at all.',
    piranha: '0',
    model: 'active',
    cf: { key: 'active', conv: 'bool' },
    web: { label: 'Active' },
  },
  ...floating(
    'vip',
    'vip',
    'virtual IP',
    { key: 'address', mask: 'vip_nmask' },
    {
      web: {
        address: { label: 'Virtual IP address' },
        prefix: 'VIP prefix length',
        device: 'VIP device',
        label: 'VIP label (eth0:1)',
      },
    },
  ),
  {
    path: 'protocol',
    format: ['tcp', 'udp'],
    default: 'tcp',
    doc: 'tcp or udp.',
    piranha: 'tcp',
    model: 'protocol',
    cf: { key: 'protocol', conv: 'str' },
    web: { label: 'Protocol' },
  },
  {
    path: 'port',
    format: 'lvs-port',
    default: D.VIRTUAL_PORT,
    doc: 'Service port (lvs.cf also takes a service name such as http).',
    piranha: '80',
    model: 'port',
    cf: { key: 'port', conv: 'port' },
    web: { label: 'Application port' },
  },
  {
    path: 'fwmark',
    format: 'lvs-uint',
    default: null,
    doc: 'Firewall mark: the LB service is `-f MARK` and `port` is not used by the table (the VIP is still needed).',
    model: 'fwmark',
    optional: true,
    cf: { key: 'fwmark', conv: 'int' },
    web: { label: 'Firewall mark' },
  },
  {
    path: 'scheduler',
    format: SCHEDULERS,
    default: D.SCHEDULER,
    doc: 'IPVS scheduler.',
    piranha: 'wlc',
    model: 'scheduler',
    cf: { key: 'scheduler', conv: 'str' },
    web: { label: 'Scheduling' },
  },
  {
    path: 'persistent',
    format: 'lvs-uint',
    default: 0,
    doc: 'Persistence timeout in seconds (0 = off).',
    piranha: '0',
    model: 'persistentS',
    cf: { key: 'persistent', conv: 'int' },
    web: { label: 'Persistence (s, 0 = off)' },
  },
  {
    path: 'pmask',
    format: 'lvs-netmask',
    default: null,
    doc: 'Persistence netmask (ipvsadm -M).',
    model: 'pmask',
    optional: true,
    cf: { key: 'pmask', conv: 'str' },
    web: { label: 'Persistence network mask' },
  },
  {
    path: 'sorry_server.address',
    format: 'lvs-ip',
    default: null,
    doc: 'Server used only while no real server is up.',
    model: 'sorryServer.address',
    cf: { key: 'sorry_server', conv: 'sorry' },
    web: { label: 'Sorry server' },
  },
  {
    path: 'sorry_server.port',
    format: 'lvs-port',
    default: null,
    doc: "Port of the sorry server; unset = the virtual server's port.",
    model: 'sorryServer.port',
    unset: virtualPort,
    cf: { key: 'sorry_server', part: 'port' },
    web: { label: 'Sorry server port' },
  },
  {
    path: 'client_monitor',
    format: 'lvs-str',
    default: null,
    doc: 'Piranha client_monitor (kept for reporting only).',
    model: 'clientMonitor',
    optional: true,
    cf: { key: 'client_monitor', conv: 'cmd' },
    runsProgram: true,
  },
  {
    path: 'monitor.kind',
    format: ['tcp', 'send_expect', 'program', 'udp', 'http', 'https', 'dns', 'none'],
    default: null,
    doc:
      'Probe: tcp (connect), send_expect, program, udp, http, https, dns, none. Unset = program when ' +
      'send_program is set, send_expect when send/expect is set (or port 80, with Piranha\'s "GET / ' +
      'HTTP/1.0" / "HTTP"), udp for UDP services, else tcp.',
    model: 'monitor.kind',
    unset: probeKind,
    cf: { key: 'probe', conv: 'str' },
    web: { label: 'Probe' },
  },
  {
    path: 'monitor.send',
    format: 'lvs-str',
    default: null,
    doc: 'String sent after connecting (escapes \\n \\r \\t \\\\ \\" \\\' expanded).',
    model: 'monitor.send',
    optional: true,
    unset: piranhaSend,
    cf: { key: 'send', conv: 'esc' },
    web: { label: 'Send' },
  },
  {
    path: 'monitor.expect',
    format: 'lvs-str',
    default: null,
    doc: 'Expected reply prefix (`*` = anything), or a POSIX extended regular expression when use_regex (as Piranha: unanchored, the first 254 bytes of the first read).',
    model: 'monitor.expect',
    optional: true,
    unset: piranhaExpect,
    cf: { key: 'expect', conv: 'esc' },
    web: { label: 'Expect' },
  },
  {
    path: 'monitor.use_regex',
    format: 'lvs-bool',
    default: false,
    doc: 'Treat expect as a POSIX extended regular expression (matched in linear time).',
    piranha: '0',
    model: 'monitor.useRegex',
    cf: { key: 'use_regex', conv: 'bool' },
    web: { label: 'Treat expect as a regular expression' },
  },
  {
    path: 'monitor.send_program',
    format: 'lvs-str',
    default: null,
    doc: 'Program run per probe (no shell; %h = real server address, %p = port); its output must equal expect.',
    model: 'monitor.sendProgram',
    optional: true,
    cf: { key: 'send_program', conv: 'cmd' },
    web: { label: 'Sending program' },
    runsProgram: true,
  },
  {
    path: 'monitor.timeout_ms',
    format: 'lvs-ms',
    default: D.PROBE_TIMEOUT_MS,
    doc: 'Per-probe timeout, ms.',
    piranha: '10 s',
    model: 'monitor.timeoutMs',
    cf: { key: 'timeout', conv: 'sec' },
    web: { label: 'Probe timeout (ms)' },
  },
  {
    path: 'monitor.interval_ms',
    format: 'lvs-ms',
    default: null,
    doc: 'Interval between probes, ms; unset = the timeout (as Piranha).',
    piranha: '= timeout',
    model: 'monitor.intervalMs',
    unset: timeoutInterval,
    cf: { key: 'interval', conv: 'sec' },
    web: { label: 'Probe interval (ms)' },
  },
  {
    path: 'monitor.fall',
    format: 'lvs-pos',
    default: D.PROBE_FALL,
    doc: 'Failed probes in a row that take a real server out.',
    piranha: '1',
    model: 'monitor.fall',
    cf: { key: 'fall', conv: 'int' },
    web: { label: 'Failures to mark down' },
  },
  {
    path: 'monitor.rise',
    format: 'lvs-pos',
    default: D.PROBE_RISE,
    doc: 'Good probes in a row that put it back (lvs.cf `reentry` R seconds gives ceil(R / interval)).',
    piranha: 'reentry 180 s / timeout',
    model: 'monitor.rise',
    cf: { key: 'rise', conv: 'int', also: { key: 'reentry', conv: 'reentry' } },
    web: { label: 'Successes to mark up' },
  },
  {
    path: 'monitor.jitter_ms',
    format: 'lvs-ms',
    default: D.PROBE_JITTER_MS,
    doc: 'Random spread of probe start, ms.',
    model: 'monitor.jitterMs',
    cf: { key: 'jitter', conv: 'sec' },
    web: { label: 'Probe jitter (ms)' },
  },
  {
    path: 'monitor.quiesce',
    format: 'lvs-bool',
    default: false,
    doc: 'On failure set weight 0 instead of removing the real server.',
    piranha: '0',
    model: 'monitor.quiesce',
    cf: { key: 'quiesce_server', conv: 'bool' },
    web: { label: 'Quiesce server (weight 0 on failure)' },
  },
  {
    path: 'monitor.load_monitor',
    format: 'lvs-str',
    default: 'none',
    doc:
      'Dynamic weights: none; uptime | rup | ruptime (Piranha, reported only); an http(s):// URL of a load ' +
      'agent; or a command printing the load average.',
    piranha: 'none',
    model: 'monitor.loadMonitor',
    toModel: parseLoadMonitor,
    toDoc: loadMonitorText,
    cf: {
      key: 'load_monitor',
      conv: 'cmd',
      // none and Piranha's rsh methods are words; a URL or a command is a quoted string.
      write: (t: string, word) => (['none', 'uptime', 'rup', 'ruptime'].includes(t) ? t : word(t, true)),
    },
    web: { label: 'Load monitoring tool' },
    runsProgram: (m: MonitorConfig['loadMonitor']) => m.kind === 'command',
    webReadOnly:
      'the root daemon fetches a load-monitor URL every few seconds (blind SSRF) or runs a command',
  },
  {
    path: 'monitor.load_interval_ms',
    format: 'lvs-ms',
    default: null,
    doc: 'How often load_monitor reads the load, ms; unset = the prober’s default (5 s).',
    model: 'monitor.loadIntervalMs',
    optional: true,
    cf: { key: 'load_interval', conv: 'sec' },
  },
  {
    path: 'monitor.feedback',
    format: 'lvs-feedback',
    default: 'none',
    doc:
      'Dynamic weight from the probe: none; exit-code (send_program exit 0 = up at the configured weight, 1 = down, ' +
      '2..255 = up with weight code − 2); or header:NAME (an HTTP(S) response header holding the weight).',
    model: 'monitor.feedback',
    optional: true,
    toModel: parseFeedback,
    toDoc: feedbackText,
    cf: { key: 'feedback', conv: 'str' },
  },
  {
    path: 'monitor.slow_start_ms',
    format: 'lvs-ms',
    default: 0,
    doc: 'Slow start after a failure: weight ramps up over this long, ms (0 = off).',
    model: 'monitor.slowStartMs',
    cf: { key: 'slow_start', conv: 'sec' },
    web: { label: 'Slow start (ms, 0 = off)' },
  },
  {
    path: 'monitor.http.path',
    format: 'lvs-str',
    default: '/',
    doc: 'HTTP probe: request path.',
    model: 'monitor.http.path',
    cf: { key: 'http_path', conv: 'str', quote: 'always' },
    web: { label: 'HTTP probe path' },
  },
  {
    path: 'monitor.http.status',
    format: 'lvs-status-list',
    default: [],
    doc: 'HTTP probe: accepted status codes (empty = any 2xx or 3xx).',
    model: 'monitor.http.status',
    cf: { key: 'http_status', conv: 'status' },
    web: { label: 'HTTP accepted status codes' },
  },
  {
    path: 'monitor.http.body_regex',
    format: 'lvs-str',
    default: null,
    doc: 'HTTP probe: POSIX extended regular expression the body (its first 16 KiB) must match.',
    model: 'monitor.http.bodyRegex',
    optional: true,
    cf: { key: 'http_body_regex', conv: 'str', quote: 'always' },
  },
  {
    path: 'monitor.http.host',
    format: 'lvs-str',
    default: null,
    doc: 'HTTP probe: Host header.',
    model: 'monitor.http.host',
    optional: true,
    cf: { key: 'http_host', conv: 'str' },
    web: { label: 'HTTP Host header' },
  },
  {
    path: 'monitor.http.sni',
    format: 'lvs-str',
    default: null,
    doc: 'HTTPS probe: TLS server name.',
    model: 'monitor.http.sni',
    optional: true,
    cf: { key: 'http_sni', conv: 'str' },
  },
  {
    path: 'monitor.http.insecure',
    format: 'lvs-bool',
    default: false,
    doc: 'HTTPS probe: do not verify the certificate.',
    model: 'monitor.http.insecure',
    cf: { key: 'http_insecure', conv: 'bool' },
  },
  {
    path: 'monitor.http.keep_alive',
    format: 'lvs-bool',
    default: false,
    doc: 'HTTP probe: reuse one kept-alive connection per real server (off: a fresh connection per probe).',
    model: 'monitor.http.keepAlive',
    optional: true,
    toModel: onlyTrue,
    toDoc: onlyTrue,
    cf: { key: 'http_keep_alive', conv: 'bool' },
  },
  {
    path: 'monitor.dns.name',
    format: 'lvs-str',
    default: null,
    doc: 'DNS probe: name to query.',
    model: 'monitor.dns.name',
    unset: blank,
    cf: { key: 'dns_name', conv: 'str' },
    web: { label: 'DNS probe name' },
  },
  {
    path: 'monitor.dns.type',
    format: ['A', 'AAAA', 'SOA', 'NS', 'TXT'],
    default: 'A',
    doc: 'DNS probe: record type.',
    model: 'monitor.dns.type',
    cf: { key: 'dns_type', conv: 'str' },
    web: { label: 'DNS record type' },
  },
  {
    path: 'monitor.source_address',
    format: 'lvs-ip',
    default: null,
    doc: 'Source address to probe from.',
    model: 'monitor.sourceAddress',
    optional: true,
    cf: { key: 'probe_source', conv: 'ip' },
  },
  {
    path: 'monitor.tcp_full_handshake',
    format: 'lvs-bool',
    default: false,
    doc:
      'TCP connect probe: complete the handshake, so the real server accepts the connection before it is reset. ' +
      "Off: SYN, SYN-ACK, reset (half-open, as HAProxy's checks): the server's application never sees the probe.",
    model: 'monitor.tcpFullHandshake',
    optional: true,
    toModel: onlyTrue,
    toDoc: onlyTrue,
    cf: { key: 'tcp_full_handshake', conv: 'bool' },
  },
  {
    path: 'real_servers',
    format: 'lvs-items',
    default: [],
    doc: 'The real servers (each a mapping, see the real server keys).',
    model: 'realServers',
    items: 'server',
  },
]);

const SERVER_KEYS = keysOf<'server'>()([
  {
    path: 'name',
    format: 'lvs-str',
    default: null,
    doc: 'Name of the real server (unique within its virtual server).',
    model: 'name',
    unset: blank,
    cf: { key: 'server', block: true },
    web: { label: 'Name' },
  },
  {
    path: 'address',
    format: 'lvs-ip',
    default: null,
    doc: 'Address of the real server.',
    model: 'address',
    unset: blank,
    cf: { key: 'address', conv: 'ip' },
    web: { label: 'Address' },
  },
  {
    path: 'port',
    format: 'lvs-port',
    default: null,
    doc: "Port on the real server; unset = the virtual server's port.",
    model: 'port',
    unset: parentPort,
    cf: { key: 'port', conv: 'port' },
    web: { label: 'Port' },
  },
  {
    path: 'weight',
    format: 'lvs-uint',
    default: D.REAL_SERVER_WEIGHT,
    doc: 'Scheduler weight (0 = kept but sent nothing).',
    piranha: '1',
    model: 'weight',
    cf: { key: 'weight', conv: 'int' },
    web: { label: 'Weight' },
  },
  {
    path: 'active',
    format: 'lvs-bool',
    default: true,
    doc: 'Whether the real server is used at all.',
    piranha: '0',
    model: 'active',
    cf: { key: 'active', conv: 'bool', after: 'address' },
    web: { label: 'Active' },
  },
  {
    path: 'forwarding',
    format: FORWARDING,
    default: null,
    doc: "Forwarding method for this real server (nat, direct, tunnel); unset = the global 'network'.",
    model: 'forwarding',
    optional: true,
    cf: { key: 'forwarding', conv: 'str' },
    web: { label: 'Forwarding (empty = global)' },
  },
]);

const FAILOVER_KEYS = keysOf<'failover'>()([
  {
    path: 'name',
    format: 'lvs-str',
    default: null,
    doc: 'Name of the failover service.',
    model: 'name',
    unset: blank,
    cf: { key: 'failover', block: true },
  },
  {
    path: 'active',
    format: 'lvs-bool',
    default: true,
    doc: 'Whether the service is used.',
    piranha: '0',
    model: 'active',
    cf: { key: 'active', conv: 'bool' },
  },
  ...floating('vip', 'vip', 'service IP', { key: 'address', mask: 'vip_nmask' }),
  {
    path: 'port',
    format: 'lvs-port',
    default: D.VIRTUAL_PORT,
    doc: 'Port probed.',
    piranha: '80',
    model: 'port',
    cf: { key: 'port', conv: 'port' },
  },
  {
    path: 'send',
    format: 'lvs-str',
    default: null,
    doc: 'String sent by the probe.',
    model: 'send',
    optional: true,
    cf: { key: 'send', conv: 'esc' },
  },
  {
    path: 'expect',
    format: 'lvs-str',
    default: null,
    doc: 'Expected reply prefix.',
    model: 'expect',
    optional: true,
    cf: { key: 'expect', conv: 'esc' },
  },
  {
    path: 'timeout_ms',
    format: 'lvs-ms',
    default: D.FOS_TIMEOUT_MS,
    doc: 'Probe timeout, ms.',
    piranha: '10 s',
    model: 'timeoutMs',
    cf: { key: 'timeout', conv: 'sec' },
  },
  {
    path: 'start_cmd',
    format: 'lvs-str',
    default: null,
    doc: 'Command starting the service.',
    model: 'startCmd',
    optional: true,
    cf: { key: 'start_cmd', conv: 'cmd' },
    runsProgram: true,
  },
  {
    path: 'stop_cmd',
    format: 'lvs-str',
    default: null,
    doc: 'Command stopping the service.',
    model: 'stopCmd',
    optional: true,
    cf: { key: 'stop_cmd', conv: 'cmd' },
    runsProgram: true,
  },
]);

/** The whole grammar, scope by scope. */
export const SCOPES: { readonly [S in Scope]: ScopeDef } = {
  global: {
    keys: GLOBAL_KEYS,
    groups: [
      { model: 'backup', key: 'backup.address' },
      { model: 'natRouter', key: 'natRouter.address' },
      { model: 'heartbeat.multicast', key: 'heartbeat.multicast.group' },
    ],
  },
  virtual: {
    block: 'virtual',
    keys: VIRTUAL_KEYS,
    groups: [
      { model: 'sorryServer', key: 'sorryServer.address' },
      {
        model: 'monitor.http',
        key: 'monitor.http.path',
        present: (vs: VirtualServer) => vs.monitor.kind === 'http' || vs.monitor.kind === 'https',
      },
      {
        model: 'monitor.dns',
        key: 'monitor.dns.name',
        present: (vs: VirtualServer) => vs.monitor.kind === 'dns',
      },
    ],
  },
  server: { block: 'server', keys: SERVER_KEYS, groups: [] },
  failover: { block: 'failover', keys: FAILOVER_KEYS, groups: [] },
};

/** The scopes in the order the reference lists them. */
export const SCOPE_NAMES: readonly Scope[] = ['global', 'virtual', 'server', 'failover'];

/** The group (optional model object) a model path lies in, if any. */
export function groupOf(scope: Scope, modelPath: string): GroupDef | undefined {
  return SCOPES[scope].groups.find((g) => modelPath.startsWith(`${g.model}.`));
}

/** The one default of the key at this document path of a scope. */
export function defaultOf(scope: Scope, path: string): unknown {
  const k = SCOPES[scope].keys.find((x) => x.path === path);
  if (!k) throw new Error(`no key ${path} in ${scope}`);
  return k.default;
}

/** The entry of a scope with this model path. */
export function keyByModel(scope: Scope, modelPath: string): KeyDef | undefined {
  return SCOPES[scope].keys.find((k) => k.model === modelPath);
}

// ---------------------------------------------------------------------------------------------------
// Typecheck-time agreement with model.ts: an entry is `optional` exactly when its model field is `?:`.

type IsOptional<M, P extends string> = P extends `${infer H}.${infer R}`
  ? H extends keyof M
    ? IsOptional<NonNullable<M[H]>, R>
    : never
  : P extends keyof M
    ? Partial<Pick<M, P>> extends Pick<M, P>
      ? true
      : false
    : never;
type OptionalMismatch<S extends Scope, E> = E extends { model: infer P extends string }
  ? IsOptional<ScopeModels[S], P> extends (E extends { optional: true } ? true : false)
    ? never
    : P
  : never;
type Mismatches =
  | OptionalMismatch<'global', (typeof GLOBAL_KEYS)[number]>
  | OptionalMismatch<'virtual', (typeof VIRTUAL_KEYS)[number]>
  | OptionalMismatch<'server', (typeof SERVER_KEYS)[number]>
  | OptionalMismatch<'failover', (typeof FAILOVER_KEYS)[number]>;
/** Fails to typecheck, naming the model paths, when `optional` and model.ts disagree. */
export const OPTIONAL_AGREES_WITH_MODEL: [Mismatches] extends [never]
  ? true
  : { optionalDisagreesWithModelTs: `${Mismatches}` } = true;
