/**
 * Document ↔ model. A document is the native YAML/JSON shape (snake_case, see schema.ts), validated and
 * with defaults filled in; the model is what the daemon reads (model.ts). Derived defaults (a backup is
 * active when it exists, the probe interval equals the timeout, Piranha's port-80 probe, ...) are applied
 * here, once, for every front end.
 */
import { canonicalIP, ipFamily } from '../lib/addr.js';
import * as D from './defaults.js';
import type {
  FailoverService,
  FloatingAddress,
  HeartbeatIsolation,
  LvsModel,
  MonitorConfig,
  ProbeKind,
  RealServer,
  RouterConfig,
  VirtualServer,
} from './model.js';
import type { Document } from './schema.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown, d: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : d);
const bool = (v: unknown, d: boolean): boolean => (typeof v === 'boolean' ? v : d);
/** heartbeat.worker: a mode name, or the earlier boolean (true = worker thread, false = main thread). */
const isolation = (v: unknown): HeartbeatIsolation =>
  v === true ? 'thread' : v === false ? 'off' : v === 'thread' || v === 'off' ? v : 'process';
const ip = (v: unknown): string | undefined => {
  const s = str(v);
  return s === undefined ? undefined : (canonicalIP(s) ?? s);
};
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.map(obj) : []);

function floating(v: unknown): FloatingAddress {
  const o = obj(v);
  const address = ip(o.address) ?? '';
  const fam = ipFamily(address) ?? 4;
  const out: FloatingAddress = { address, prefixLength: num(o.prefix_length, fam === 6 ? 128 : 32) };
  const label = str(o.label);
  const device = str(o.device) ?? (label?.includes(':') ? label.split(':')[0] : label);
  if (device !== undefined) out.device = device;
  if (label !== undefined) out.label = label;
  return out;
}

function router(v: unknown, priority: number): RouterConfig {
  const o = obj(v);
  const r: RouterConfig = { address: ip(o.address) ?? '', priority: num(o.priority, priority) };
  const p = ip(o.private_address);
  if (p !== undefined) r.privateAddress = p;
  return r;
}

function loadMonitor(text: string): MonitorConfig['loadMonitor'] {
  const t = text.trim();
  if (t === '' || t === 'none') return { kind: 'none' };
  if (t === 'uptime' || t === 'rup' || t === 'ruptime') return { kind: 'piranha', method: t };
  if (/^https?:\/\//i.test(t)) return { kind: 'http', url: t };
  return { kind: 'command', command: t };
}

function monitor(v: unknown, protocol: string, port: number): MonitorConfig {
  const o = obj(v);
  let send = str(o.send);
  let expect = str(o.expect);
  const sendProgram = str(o.send_program);
  let kind = str(o.kind) as ProbeKind | undefined;
  if (kind === undefined) {
    if (sendProgram !== undefined) kind = 'program';
    else if (protocol === 'udp') kind = 'udp';
    else if (send !== undefined || expect !== undefined) kind = 'send_expect';
    else if (port === 80) {
      kind = 'send_expect';
      send = D.HTTP_DEFAULT_SEND;
      expect = D.HTTP_DEFAULT_EXPECT;
    } else kind = 'tcp';
  }
  const timeoutMs = num(o.timeout_ms, D.PROBE_TIMEOUT_MS);
  const m: MonitorConfig = {
    kind,
    useRegex: bool(o.use_regex, false),
    timeoutMs,
    intervalMs: num(o.interval_ms, timeoutMs),
    fall: num(o.fall, D.PROBE_FALL),
    rise: num(o.rise, D.PROBE_RISE),
    jitterMs: num(o.jitter_ms, D.PROBE_JITTER_MS),
    quiesce: bool(o.quiesce, false),
    loadMonitor: loadMonitor(str(o.load_monitor) ?? 'none'),
    slowStartMs: num(o.slow_start_ms, 0),
  };
  if (send !== undefined) m.send = send;
  if (expect !== undefined) m.expect = expect;
  if (sendProgram !== undefined) m.sendProgram = sendProgram;
  if (kind === 'http' || kind === 'https') {
    const h = obj(o.http);
    m.http = {
      path: str(h.path) ?? '/',
      status: Array.isArray(h.status) ? h.status.filter((s): s is number => typeof s === 'number') : [],
      insecure: bool(h.insecure, false),
    };
    if (bool(h.keep_alive, false)) m.http.keepAlive = true;
    for (const [k, key] of [
      ['bodyRegex', 'body_regex'],
      ['host', 'host'],
      ['sni', 'sni'],
    ] as const) {
      const s = str(h[key]);
      if (s !== undefined) m.http[k] = s;
    }
  }
  if (kind === 'dns') {
    const d = obj(o.dns);
    m.dns = { name: str(d.name) ?? '', type: (str(d.type) ?? 'A') as 'A' };
  }
  const src = ip(o.source_address);
  if (src !== undefined) m.sourceAddress = src;
  if (bool(o.tcp_full_handshake, false)) m.tcpFullHandshake = true;
  const fb = str(o.feedback) ?? 'none';
  if (fb === 'exit-code') m.feedback = { kind: 'exit-code' };
  else if (fb.startsWith('header:')) m.feedback = { kind: 'header', name: fb.slice('header:'.length) };
  if (typeof o.load_interval_ms === 'number') m.loadIntervalMs = o.load_interval_ms;
  return m;
}

function realServer(v: Obj, vport: number): RealServer {
  const r: RealServer = {
    name: str(v.name) ?? '',
    address: ip(v.address) ?? '',
    port: num(v.port, vport),
    weight: num(v.weight, D.REAL_SERVER_WEIGHT),
    active: bool(v.active, true),
  };
  const f = str(v.forwarding);
  if (f !== undefined) r.forwarding = f as RealServer['forwarding'];
  return r;
}

function virtualServer(v: Obj): VirtualServer {
  const protocol = str(v.protocol) === 'udp' ? 'udp' : 'tcp';
  const port = num(v.port, D.VIRTUAL_PORT);
  const vs: VirtualServer = {
    name: str(v.name) ?? '',
    active: bool(v.active, true),
    vip: floating(v.vip),
    protocol,
    port,
    scheduler: (str(v.scheduler) ?? D.SCHEDULER) as VirtualServer['scheduler'],
    persistentS: num(v.persistent, 0),
    monitor: monitor(v.monitor, protocol, port),
    realServers: list(v.real_servers).map((r) => realServer(r, port)),
  };
  if (typeof v.fwmark === 'number') vs.fwmark = v.fwmark;
  const pmask = str(v.pmask);
  if (pmask !== undefined) vs.pmask = pmask;
  const sorry = obj(v.sorry_server);
  const sorryAddr = ip(sorry.address);
  if (sorryAddr !== undefined) vs.sorryServer = { address: sorryAddr, port: num(sorry.port, port) };
  const cm = str(v.client_monitor);
  if (cm !== undefined) vs.clientMonitor = cm;
  return vs;
}

function failover(v: Obj): FailoverService {
  const f: FailoverService = {
    name: str(v.name) ?? '',
    active: bool(v.active, true),
    vip: floating(v.vip),
    port: num(v.port, D.VIRTUAL_PORT),
    timeoutMs: num(v.timeout_ms, D.FOS_TIMEOUT_MS),
  };
  for (const [k, key] of [
    ['send', 'send'],
    ['expect', 'expect'],
    ['startCmd', 'start_cmd'],
    ['stopCmd', 'stop_cmd'],
  ] as const) {
    const s = str(v[key]);
    if (s !== undefined) f[k] = s;
  }
  return f;
}

/** Builds the model from a validated document (see schema.ts validateDocument). Never throws. */
export function documentToModel(doc: Document): LvsModel {
  const hb = obj(doc.heartbeat);
  const mc = obj(hb.multicast);
  const an = obj(doc.announce);
  const sd = obj(doc.sync_daemon);
  const to = obj(doc.timeouts);
  const hk = obj(doc.hooks);
  const lb = obj(doc.lb);
  const lg = obj(doc.legacy);
  const backupDoc = obj(doc.backup);
  const keyFile = str(hb.key_file);
  const model: LvsModel = {
    serialNo: num(doc.serial_no, 0),
    service: str(doc.service) === 'fos' ? 'fos' : 'lvs',
    primary: router(doc.primary, D.PRIMARY_PRIORITY),
    backupActive: bool(doc.backup_active, ip(backupDoc.address) !== undefined),
    heartbeat: {
      port: num(hb.port, D.HEARTBEAT_PORT),
      keepaliveMs: num(hb.keepalive_ms, D.KEEPALIVE_MS),
      deadtimeMs: num(hb.deadtime_ms, D.DEADTIME_MS),
      auth: (str(hb.auth) ?? (keyFile !== undefined ? 'hmac' : 'none')) as 'hmac' | 'none',
      piranhaCompat: bool(hb.piranha_compat, false),
      preempt: bool(hb.preempt, false),
      preemptDelayMs: num(hb.preempt_delay_ms, 0),
      handoverTimeoutMs: num(hb.handover_timeout_ms, D.HANDOVER_TIMEOUT_MS),
      rtPriority: num(hb.rt_priority, 0),
      isolation: isolation(hb.worker),
    },
    announce: {
      count: num(an.count, D.ARP_COUNT),
      intervalMs: num(an.interval_ms, D.ARP_INTERVAL_MS),
      repeatDelayMs: num(an.repeat_delay_ms, D.ARP_REPEAT_DELAY_MS),
      repeatCount: num(an.repeat_count, D.ARP_REPEAT_COUNT),
      refreshMs: num(an.refresh_ms, D.ARP_REFRESH_MS),
      form: (str(an.form) ?? D.ARP_FORM) as 'both',
    },
    network: (str(doc.network) ?? D.NETWORK) as LvsModel['network'],
    monitorLinks: bool(doc.monitor_links, false),
    linkInterfaces: Array.isArray(doc.link_interfaces)
      ? doc.link_interfaces.filter((s) => typeof s === 'string')
      : [],
    syncDaemon: {
      enabled: bool(sd.enabled, false),
      interface: str(sd.interface) ?? D.SYNCD_INTERFACE,
      id: num(sd.id, 0),
    },
    timeouts: { tcp: num(to.tcp, 0), tcpfin: num(to.tcpfin, 0), udp: num(to.udp, 0) },
    hardShutdown: bool(doc.hard_shutdown, true),
    hooks: { timeoutMs: num(hk.timeout_ms, D.HOOK_TIMEOUT_MS) },
    lb: {
      backend: (str(lb.backend) ?? 'auto') as LvsModel['lb']['backend'],
      ipvsadmPath: str(lb.ipvsadm) ?? D.IPVSADM_PATH,
      hotStandby: bool(lb.hot_standby, true),
      onStop: str(lb.on_stop) === 'keep' ? 'keep' : 'clear',
    },
    logLevel: (str(doc.log_level) ?? 'info') as LvsModel['logLevel'],
    metrics: { listen: str(obj(doc.metrics).listen) ?? '' },
    legacy: {},
    virtualServers: list(doc.virtual_servers).map(virtualServer),
    failoverServices: list(doc.failover_services).map(failover),
  };
  if (ip(backupDoc.address) !== undefined) model.backup = router(backupDoc, D.BACKUP_PRIORITY);
  if (keyFile !== undefined) model.heartbeat.keyFile = keyFile;
  const oldKey = str(hb.key_file_old);
  if (oldKey !== undefined) model.heartbeat.previousKeyFile = oldKey;
  const group = ip(mc.group);
  if (group !== undefined) {
    model.heartbeat.multicast = { group, ttl: num(mc.ttl, D.MULTICAST_TTL) };
    const mif = str(mc.interface);
    if (mif !== undefined) model.heartbeat.multicast.interface = mif;
  }
  if (ip(obj(doc.nat_router).address) !== undefined) model.natRouter = floating(doc.nat_router);
  for (const [k, key] of [
    ['activeCmd', 'active_cmd'],
    ['inactiveCmd', 'inactive_cmd'],
    ['notifyCmd', 'notify_cmd'],
  ] as const) {
    const s = str(hk[key]);
    if (s !== undefined) model.hooks[k] = s;
  }
  for (const [k, key] of [
    ['rshCommand', 'rsh_command'],
    ['primaryShared', 'primary_shared'],
    ['backupShared', 'backup_shared'],
    ['reservationConflictAction', 'reservation_conflict_action'],
  ] as const) {
    const s = str(lg[key]);
    if (s !== undefined) model.legacy[k] = s;
  }
  if (typeof lg.sync === 'number') model.legacy.sync = lg.sync;
  if (typeof lg.heartbeat === 'number') model.legacy.heartbeat = lg.heartbeat;
  return model;
}

/** Drops undefined values, empty mappings. */
function prune(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(prune);
  if (typeof v !== 'object' || v === null) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) {
    const p = prune(x);
    if (p === undefined) continue;
    if (typeof p === 'object' && p !== null && !Array.isArray(p) && Object.keys(p).length === 0) continue;
    out[k] = p;
  }
  return out;
}

const floatingDoc = (f: FloatingAddress) => ({
  address: f.address || undefined,
  device: f.device,
  label: f.label,
  prefix_length: f.prefixLength,
});

/** The native document of a model: every value explicit (defaults included), in schema order. */
export function modelToDocument(m: LvsModel): Document {
  const hb = m.heartbeat;
  const doc = {
    serial_no: m.serialNo,
    service: m.service,
    primary: {
      address: m.primary.address || undefined,
      private_address: m.primary.privateAddress,
      priority: m.primary.priority,
    },
    backup: m.backup
      ? { address: m.backup.address, private_address: m.backup.privateAddress, priority: m.backup.priority }
      : undefined,
    backup_active: m.backupActive,
    network: m.network,
    nat_router: m.natRouter ? floatingDoc(m.natRouter) : undefined,
    heartbeat: {
      port: hb.port,
      keepalive_ms: hb.keepaliveMs,
      deadtime_ms: hb.deadtimeMs,
      auth: hb.auth,
      key_file: hb.keyFile,
      key_file_old: hb.previousKeyFile,
      multicast: hb.multicast
        ? { group: hb.multicast.group, interface: hb.multicast.interface, ttl: hb.multicast.ttl }
        : undefined,
      piranha_compat: hb.piranhaCompat,
      preempt: hb.preempt,
      preempt_delay_ms: hb.preemptDelayMs,
      handover_timeout_ms: hb.handoverTimeoutMs,
      rt_priority: hb.rtPriority,
      worker: hb.isolation,
    },
    announce: {
      count: m.announce.count,
      interval_ms: m.announce.intervalMs,
      repeat_delay_ms: m.announce.repeatDelayMs,
      repeat_count: m.announce.repeatCount,
      refresh_ms: m.announce.refreshMs,
      form: m.announce.form,
    },
    monitor_links: m.monitorLinks,
    link_interfaces: [...m.linkInterfaces],
    sync_daemon: { enabled: m.syncDaemon.enabled, interface: m.syncDaemon.interface, id: m.syncDaemon.id },
    timeouts: { tcp: m.timeouts.tcp, tcpfin: m.timeouts.tcpfin, udp: m.timeouts.udp },
    hard_shutdown: m.hardShutdown,
    hooks: {
      active_cmd: m.hooks.activeCmd,
      inactive_cmd: m.hooks.inactiveCmd,
      notify_cmd: m.hooks.notifyCmd,
      timeout_ms: m.hooks.timeoutMs,
    },
    lb: {
      backend: m.lb.backend,
      ipvsadm: m.lb.ipvsadmPath,
      hot_standby: m.lb.hotStandby,
      on_stop: m.lb.onStop,
    },
    log_level: m.logLevel,
    metrics: { listen: m.metrics.listen },
    legacy: {
      rsh_command: m.legacy.rshCommand,
      sync: m.legacy.sync,
      heartbeat: m.legacy.heartbeat,
      primary_shared: m.legacy.primaryShared,
      backup_shared: m.legacy.backupShared,
      reservation_conflict_action: m.legacy.reservationConflictAction,
    },
    virtual_servers: m.virtualServers.map((vs) => {
      const mo = vs.monitor;
      const lm = mo.loadMonitor;
      return {
        name: vs.name,
        active: vs.active,
        vip: floatingDoc(vs.vip),
        protocol: vs.protocol,
        port: vs.port,
        fwmark: vs.fwmark,
        scheduler: vs.scheduler,
        persistent: vs.persistentS,
        pmask: vs.pmask,
        sorry_server: vs.sorryServer
          ? { address: vs.sorryServer.address, port: vs.sorryServer.port }
          : undefined,
        client_monitor: vs.clientMonitor,
        monitor: {
          kind: mo.kind,
          send: mo.send,
          expect: mo.expect,
          use_regex: mo.useRegex,
          send_program: mo.sendProgram,
          timeout_ms: mo.timeoutMs,
          interval_ms: mo.intervalMs,
          fall: mo.fall,
          rise: mo.rise,
          jitter_ms: mo.jitterMs,
          quiesce: mo.quiesce,
          load_monitor:
            lm.kind === 'none'
              ? 'none'
              : lm.kind === 'piranha'
                ? lm.method
                : lm.kind === 'http'
                  ? lm.url
                  : lm.command,
          load_interval_ms: mo.loadIntervalMs,
          feedback: !mo.feedback
            ? 'none'
            : mo.feedback.kind === 'exit-code'
              ? 'exit-code'
              : `header:${mo.feedback.name}`,
          slow_start_ms: mo.slowStartMs,
          http: mo.http
            ? {
                path: mo.http.path,
                status: [...mo.http.status],
                body_regex: mo.http.bodyRegex,
                host: mo.http.host,
                sni: mo.http.sni,
                insecure: mo.http.insecure,
                keep_alive: mo.http.keepAlive === true ? true : undefined,
              }
            : undefined,
          dns: mo.dns ? { name: mo.dns.name, type: mo.dns.type } : undefined,
          source_address: mo.sourceAddress,
          tcp_full_handshake: mo.tcpFullHandshake === true ? true : undefined,
        },
        real_servers: vs.realServers.map((r) => ({
          name: r.name,
          address: r.address,
          port: r.port,
          weight: r.weight,
          active: r.active,
          forwarding: r.forwarding,
        })),
      };
    }),
    failover_services: m.failoverServices.map((f) => ({
      name: f.name,
      active: f.active,
      vip: floatingDoc(f.vip),
      port: f.port,
      send: f.send,
      expect: f.expect,
      timeout_ms: f.timeoutMs,
      start_cmd: f.startCmd,
      stop_cmd: f.stopCmd,
    })),
  };
  return prune(doc) as Document;
}
