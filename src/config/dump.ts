/**
 * Model → text (pure), deterministic: the same model always gives the same bytes. YAML writes the native
 * document with every value explicit; lvs.cf writes Piranha's keys plus the lvs-pulse extensions, so it
 * reads back into the same model.
 */
import { stringify } from 'yaml';
import { ipFamily, prefixToNetmask } from '../lib/addr.js';
import { modelToDocument } from './document.js';
import type { FloatingAddress, LvsModel } from './model.js';

/** The model as a native YAML document. */
export function dumpYaml(m: LvsModel): string {
  return stringify(modelToDocument(m), { lineWidth: 0, indent: 2 });
}

const BARE = /^[A-Za-z0-9_./:@%+,-]+$/;

/** A value as an lvs.cf word: bare when safe, else "quoted" with escapes. */
export function cfString(s: string, forceQuote = false): string {
  if (!forceQuote && BARE.test(s)) return s;
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}"`;
}
const sec = (ms: number) => String(ms / 1000);
const b = (v: boolean) => (v ? '1' : '0');
const mask = (f: FloatingAddress) =>
  ipFamily(f.address) === 6 ? String(f.prefixLength) : prefixToNetmask(Math.min(32, f.prefixLength));
const where = (f: FloatingAddress) =>
  [f.address, f.label ?? f.device]
    .filter((x) => x !== undefined && x !== '')
    .map((x) => cfString(x!))
    .join(' ');

/** The model as lvs.cf text (Piranha's syntax; extension keys where Piranha had none). */
export function dumpLvsCf(m: LvsModel): string {
  const out: string[] = ['# lvs.cf written by lvs-pulse (pulse --dump-config --format lvs.cf)'];
  const kv = (indent: string, key: string, value: string | number | undefined) => {
    if (value !== undefined) out.push(`${indent}${key} = ${value}`);
  };
  const g = (key: string, value: string | number | undefined) => kv('', key, value);
  const opt = (s: string | undefined, q = false) => (s === undefined ? undefined : cfString(s, q));
  g('serial_no', m.serialNo);
  g('service', m.service);
  if (m.primary.address) g('primary', m.primary.address);
  g('primary_private', m.primary.privateAddress);
  g('primary_priority', m.primary.priority);
  if (m.backup) {
    g('backup', m.backup.address);
    g('backup_private', m.backup.privateAddress);
    g('backup_priority', m.backup.priority);
  }
  g('backup_active', b(m.backupActive));
  g('network', m.network);
  if (m.natRouter) {
    g('nat_router', where(m.natRouter));
    g('nat_nmask', mask(m.natRouter));
  }
  const hb = m.heartbeat;
  g('heartbeat_port', hb.port);
  g('keepalive', sec(hb.keepaliveMs));
  g('deadtime', sec(hb.deadtimeMs));
  g('heartbeat_auth', hb.auth);
  g('heartbeat_key_file', opt(hb.keyFile));
  g('heartbeat_key_file_old', opt(hb.previousKeyFile));
  if (hb.multicast) {
    g('heartbeat_multicast_group', hb.multicast.group);
    g('heartbeat_multicast_interface', opt(hb.multicast.interface));
    g('heartbeat_multicast_ttl', hb.multicast.ttl);
  }
  g('piranha_compat', b(hb.piranhaCompat));
  g('preempt', b(hb.preempt));
  g('preempt_delay', sec(hb.preemptDelayMs));
  g('handover_timeout', sec(hb.handoverTimeoutMs));
  g('rt_priority', hb.rtPriority);
  g('heartbeat_worker', hb.isolation);
  const a = m.announce;
  g('arp_count', a.count);
  g('arp_interval', sec(a.intervalMs));
  g('arp_repeat_delay', sec(a.repeatDelayMs));
  g('arp_repeat_count', a.repeatCount);
  g('arp_refresh', sec(a.refreshMs));
  g('arp_form', a.form);
  g('monitor_links', b(m.monitorLinks));
  if (m.linkInterfaces.length > 0) g('link_interfaces', m.linkInterfaces.map((s) => cfString(s)).join(' '));
  g('syncdaemon', b(m.syncDaemon.enabled));
  g('syncd_iface', cfString(m.syncDaemon.interface));
  g('syncd_id', m.syncDaemon.id);
  g('tcp_timeout', m.timeouts.tcp);
  g('tcpfin_timeout', m.timeouts.tcpfin);
  g('udp_timeout', m.timeouts.udp);
  g('hard_shutdown', b(m.hardShutdown));
  g('active_cmd', opt(m.hooks.activeCmd, true));
  g('inactive_cmd', opt(m.hooks.inactiveCmd, true));
  g('notify_cmd', opt(m.hooks.notifyCmd, true));
  g('hook_timeout', sec(m.hooks.timeoutMs));
  g('lb_backend', m.lb.backend);
  g('ipvsadm', cfString(m.lb.ipvsadmPath));
  g('hot_standby', b(m.lb.hotStandby));
  g('lb_on_stop', m.lb.onStop);
  g('debug_level', m.logLevel === 'info' ? 'NONE' : m.logLevel);
  if (m.metrics.listen !== '') g('metrics_listen', cfString(m.metrics.listen));
  g('rsh_command', opt(m.legacy.rshCommand, true));
  g('sync', m.legacy.sync);
  g('heartbeat', m.legacy.heartbeat);
  g('primary_shared', opt(m.legacy.primaryShared));
  g('backup_shared', opt(m.legacy.backupShared));
  g('reservation_conflict_action', m.legacy.reservationConflictAction);

  for (const vs of m.virtualServers) {
    const v = (key: string, value: string | number | undefined) => kv('\t', key, value);
    const mo = vs.monitor;
    out.push('', `virtual ${cfString(vs.name)} {`);
    v('active', b(vs.active));
    if (vs.vip.address) {
      v('address', where(vs.vip));
      v('vip_nmask', mask(vs.vip));
    }
    v('protocol', vs.protocol);
    v('port', vs.port);
    v('fwmark', vs.fwmark);
    v('scheduler', vs.scheduler);
    v('persistent', vs.persistentS);
    v('pmask', vs.pmask);
    if (vs.sorryServer) v('sorry_server', `${vs.sorryServer.address} ${vs.sorryServer.port}`);
    v('client_monitor', opt(vs.clientMonitor, true));
    v('probe', mo.kind);
    v('send', opt(mo.send, true));
    v('expect', opt(mo.expect, true));
    v('use_regex', b(mo.useRegex));
    v('send_program', opt(mo.sendProgram, true));
    v('timeout', sec(mo.timeoutMs));
    v('interval', sec(mo.intervalMs));
    v('fall', mo.fall);
    v('rise', mo.rise);
    v('jitter', sec(mo.jitterMs));
    v('quiesce_server', b(mo.quiesce));
    const lm = mo.loadMonitor;
    v(
      'load_monitor',
      lm.kind === 'none'
        ? 'none'
        : lm.kind === 'piranha'
          ? lm.method
          : cfString(lm.kind === 'http' ? lm.url : lm.command, true),
    );
    if (mo.loadIntervalMs !== undefined) v('load_interval', sec(mo.loadIntervalMs));
    v(
      'feedback',
      !mo.feedback
        ? 'none'
        : mo.feedback.kind === 'exit-code'
          ? 'exit-code'
          : cfString(`header:${mo.feedback.name}`),
    );
    v('slow_start', sec(mo.slowStartMs));
    if (mo.http) {
      v('http_path', cfString(mo.http.path, true));
      if (mo.http.status.length > 0) v('http_status', mo.http.status.join(' '));
      v('http_body_regex', opt(mo.http.bodyRegex, true));
      v('http_host', opt(mo.http.host));
      v('http_sni', opt(mo.http.sni));
      v('http_insecure', b(mo.http.insecure));
      if (mo.http.keepAlive) v('http_keep_alive', '1');
    }
    if (mo.dns) {
      v('dns_name', cfString(mo.dns.name));
      v('dns_type', mo.dns.type);
    }
    v('probe_source', mo.sourceAddress);
    if (mo.tcpFullHandshake) v('tcp_full_handshake', '1');
    for (const rs of vs.realServers) {
      const r = (key: string, value: string | number | undefined) => kv('\t\t', key, value);
      out.push('', `\tserver ${cfString(rs.name)} {`);
      if (rs.address) r('address', rs.address);
      r('active', b(rs.active));
      r('port', rs.port);
      r('weight', rs.weight);
      r('forwarding', rs.forwarding);
      out.push('\t}');
    }
    out.push('}');
  }
  for (const f of m.failoverServices) {
    const v = (key: string, value: string | number | undefined) => kv('\t', key, value);
    out.push('', `failover ${cfString(f.name)} {`);
    v('active', b(f.active));
    if (f.vip.address) {
      v('address', where(f.vip));
      v('vip_nmask', mask(f.vip));
    }
    v('port', f.port);
    v('send', opt(f.send, true));
    v('expect', opt(f.expect, true));
    v('timeout', sec(f.timeoutMs));
    v('start_cmd', opt(f.startCmd, true));
    v('stop_cmd', opt(f.stopCmd, true));
    out.push('}');
  }
  return `${out.join('\n')}\n`;
}
