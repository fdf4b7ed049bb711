/**
 * Semantic checks of a model (pure): everything a schema cannot see — addresses that collide, timers that
 * contradict each other, duplicates, NAT without its router, probes that cannot run. Every problem is
 * collected (none stops the others) and names the document path it is about, so the front end can point
 * at the line.
 */
import { ipFamily, isMulticast } from '../lib/addr.js';
import { ereCheck } from '../lib/regex.js';
import type { LvsModel } from './model.js';

/** A semantic problem about a document path (`virtual_servers.1.real_servers.0.address`). */
export interface SemanticIssue {
  severity: 'error' | 'warning';
  path: string;
  message: string;
}

/** Runs every semantic check; returns all problems found (errors and warnings). */
export function checkSemantics(m: LvsModel): SemanticIssue[] {
  const out: SemanticIssue[] = [];
  const error = (path: string, message: string) => out.push({ severity: 'error', path, message });
  const warning = (path: string, message: string) => out.push({ severity: 'warning', path, message });
  const regexIssues = (path: string, what: string, pattern: string) => {
    const r = ereCheck(pattern);
    if (r.error) error(path, `${what} is not a POSIX extended regular expression the probe can run: ${r.error}`);
    for (const w of r.warnings) warning(path, `${what}: ${w}`);
  };

  // Routers.
  const routerAddrs = new Map<string, string>();
  if (!m.primary.address)
    error('primary.address', 'the primary router address is missing (lvs.cf: primary = ADDRESS)');
  const routers: [string, string | undefined][] = [
    ['primary.address', m.primary.address],
    ['primary.private_address', m.primary.privateAddress],
    ['backup.address', m.backup?.address],
    ['backup.private_address', m.backup?.privateAddress],
  ];
  for (const [path, a] of routers) {
    if (!a) continue;
    const prev = routerAddrs.get(a);
    if (prev) error(path, `${a} is already used by ${prev}: each router address must be different`);
    else routerAddrs.set(a, path);
  }
  if (m.backupActive && !m.backup)
    error('backup_active', 'backup_active is set but no backup router address is given');
  if (m.backup) {
    if (m.primary.privateAddress && !m.backup.privateAddress)
      warning(
        'primary.private_address',
        'primary_private is set but backup_private is not: the private heartbeat path is unused',
      );
    if (!m.primary.privateAddress && m.backup.privateAddress)
      warning(
        'backup.private_address',
        'backup_private is set but primary_private is not: the private heartbeat path is unused',
      );
    if (m.primary.address && ipFamily(m.primary.address) !== ipFamily(m.backup.address))
      error('backup.address', 'primary and backup addresses must be of the same family (IPv4 or IPv6)');
    if (m.primary.priority === m.backup.priority && m.heartbeat.preempt)
      warning('backup.priority', 'preempt with equal priorities: the lower address wins');
  }

  // Heartbeat.
  const hb = m.heartbeat;
  if (hb.keepaliveMs <= 0) error('heartbeat.keepalive_ms', 'keepalive must be greater than 0');
  else if (hb.deadtimeMs <= hb.keepaliveMs)
    error(
      'heartbeat.deadtime_ms',
      `deadtime (${hb.deadtimeMs} ms) must be greater than keepalive (${hb.keepaliveMs} ms)`,
    );
  else if (hb.deadtimeMs < 3 * hb.keepaliveMs)
    warning(
      'heartbeat.deadtime_ms',
      `deadtime (${hb.deadtimeMs} ms) is under 3 × keepalive (${hb.keepaliveMs} ms): one or two lost heartbeats cause a failover`,
    );
  if (hb.auth === 'hmac' && !hb.keyFile)
    error('heartbeat.auth', 'heartbeat auth hmac needs heartbeat_key_file');
  if (hb.auth === 'none' && m.backup && m.backupActive)
    warning(
      'heartbeat.auth',
      'the heartbeat is not authenticated: anyone who can send UDP to it can force a failover (set heartbeat_key_file)',
    );
  if (hb.previousKeyFile && !hb.keyFile)
    error('heartbeat.key_file_old', 'heartbeat_key_file_old needs heartbeat_key_file');
  if (hb.multicast && !isMulticast(hb.multicast.group))
    error('heartbeat.multicast.group', `${hb.multicast.group} is not a multicast address`);
  if (hb.piranhaCompat && hb.auth === 'hmac')
    warning('heartbeat.piranha_compat', "piranha_compat also accepts Piranha's unauthenticated heartbeat");

  // Announcements.
  if (m.announce.repeatCount > 0 && m.announce.repeatDelayMs === 0)
    warning(
      'announce.repeat_count',
      'arp_repeat_count is set but arp_repeat_delay is 0: no second burst is sent',
    );

  // NAT router.
  const lbVirtuals = m.service === 'lvs' ? m.virtualServers.filter((v) => v.active) : [];
  const usesNat = lbVirtuals.some((v) => v.realServers.some((r) => (r.forwarding ?? m.network) === 'nat'));
  if (usesNat && !m.natRouter)
    error(
      'network',
      'NAT forwarding needs nat_router (the real servers’ gateway address, e.g. nat_router = 198.18.1.1 eth1:1)',
    );
  if (m.natRouter) {
    checkFloating(m.natRouter, 'nat_router', error);
    const r = routerAddrs.get(m.natRouter.address);
    if (r)
      error(
        'nat_router.address',
        `nat_router ${m.natRouter.address} is a router's own address (${r}); it must float`,
      );
  }

  // Virtual servers.
  const vipDecl = new Map<string, { label: string; text: string }>();
  const vsNames = new Map<string, number>();
  const services = new Map<string, string>();
  m.virtualServers.forEach((vs, i) => {
    const p = `virtual_servers.${i}`;
    if (!vs.name) error(p, 'a virtual server needs a name');
    else if (vsNames.has(vs.name)) error(`${p}.name`, `virtual server name '${vs.name}' is used twice`);
    else vsNames.set(vs.name, i);
    const label = `virtual server '${vs.name}'`;
    if (!vs.vip.address)
      error(p, `${label} needs address (the VIP)${vs.fwmark !== undefined ? ', also with fwmark' : ''}`);
    else {
      checkFloating(vs.vip, `${p}.vip`, error);
      const r = routerAddrs.get(vs.vip.address);
      if (r)
        error(
          `${p}.vip.address`,
          `${label}: VIP ${vs.vip.address} is a router's own address (${r}); a VIP must float`,
        );
      if (m.natRouter?.address === vs.vip.address)
        error(`${p}.vip.address`, `${label}: VIP ${vs.vip.address} is also the nat_router address`);
      // One VIP, one way to hold it: the takeover adds each floating address once.
      const decl = `${vs.vip.prefixLength} ${vs.vip.device ?? ''} ${vs.vip.label ?? ''}`;
      const seen = vipDecl.get(vs.vip.address);
      if (!seen) vipDecl.set(vs.vip.address, { label, text: decl });
      else if (seen.text !== decl)
        warning(
          `${p}.vip`,
          `${label}: VIP ${vs.vip.address} is declared with another device, label or netmask than in ${seen.label}; the first is used`,
        );
      const key =
        vs.fwmark !== undefined
          ? `fwmark ${vs.fwmark} (${ipFamily(vs.vip.address) === 6 ? 'IPv6' : 'IPv4'})`
          : `${vs.protocol} ${vs.vip.address}:${vs.port}`;
      const prev = services.get(key);
      if (prev)
        error(
          vs.fwmark !== undefined ? `${p}.fwmark` : `${p}.port`,
          `${label}: the service ${key} is already defined by ${prev}`,
        );
      else services.set(key, label);
    }
    if (vs.pmask && ipFamily(vs.vip.address) === 6)
      error(`${p}.pmask`, `${label}: pmask is a netmask for IPv4 services only`);
    if (vs.sorryServer && vs.vip.address && ipFamily(vs.sorryServer.address) !== ipFamily(vs.vip.address))
      error(`${p}.sorry_server.address`, `${label}: sorry_server must be of the VIP's address family`);

    // Monitor.
    const mo = vs.monitor;
    const mp = `${p}.monitor`;
    if (mo.sendProgram !== undefined) {
      const bad = mo.sendProgram.replace(/%[hp%]/g, '').match(/%.?/g);
      if (bad)
        error(
          `${mp}.send_program`,
          `${label}: send_program may only use %h (address) and %p (port), not ${[...new Set(bad)].join(' ')}`,
        );
      if (mo.sendProgram.trim() === '') error(`${mp}.send_program`, `${label}: send_program is empty`);
    }
    if (mo.kind === 'program' && mo.sendProgram === undefined)
      error(`${mp}.kind`, `${label}: probe program needs send_program`);
    if (mo.kind === 'send_expect' && mo.send === undefined && mo.expect === undefined)
      error(`${mp}.kind`, `${label}: probe send_expect needs send and/or expect`);
    // Both are POSIX ERE (as Piranha's regcomp), matched in linear time by the probes (lib/regex.ts): a
    // pattern the engine cannot run is refused here, with its line, not found out by a probe.
    if (mo.useRegex && mo.expect !== undefined && mo.expect !== '*')
      regexIssues(`${mp}.expect`, `${label}: expect`, mo.expect);
    if (mo.http?.bodyRegex !== undefined)
      regexIssues(`${mp}.http.body_regex`, `${label}: http_body_regex`, mo.http.bodyRegex);
    if ((mo.kind === 'http' || mo.kind === 'https') && mo.http && !mo.http.path.startsWith('/'))
      error(`${mp}.http.path`, `${label}: http_path must start with '/'`);
    if (mo.kind === 'dns' && !mo.dns?.name) error(`${mp}.kind`, `${label}: probe dns needs dns_name`);
    if ((mo.kind === 'udp' || mo.kind === 'dns') && vs.protocol === 'tcp' && mo.kind === 'udp')
      warning(`${mp}.kind`, `${label}: a udp probe on a tcp service`);
    if (mo.intervalMs === 0)
      error(`${mp}.interval_ms`, `${label}: the probe interval must be greater than 0`);
    if (mo.timeoutMs === 0) error(`${mp}.timeout_ms`, `${label}: the probe timeout must be greater than 0`);
    if (mo.jitterMs > mo.intervalMs)
      warning(
        `${mp}.jitter_ms`,
        `${label}: jitter (${mo.jitterMs} ms) is larger than the probe interval (${mo.intervalMs} ms)`,
      );
    if (mo.loadMonitor.kind === 'http') {
      try {
        new URL(mo.loadMonitor.url);
      } catch {
        error(`${mp}.load_monitor`, `${label}: load_monitor '${mo.loadMonitor.url}' is not a valid URL`);
      }
    }
    if (mo.feedback?.kind === 'exit-code' && mo.kind !== 'program')
      error(`${mp}.feedback`, `${label}: feedback exit-code needs the program probe (send_program)`);
    if (mo.feedback?.kind === 'header' && mo.kind !== 'http' && mo.kind !== 'https')
      error(`${mp}.feedback`, `${label}: feedback header:${mo.feedback.name} needs an http or https probe`);
    if (mo.loadIntervalMs === 0)
      error(`${mp}.load_interval_ms`, `${label}: load_interval must be greater than 0`);
    if (mo.loadMonitor.kind === 'piranha')
      warning(
        `${mp}.load_monitor`,
        `${label}: load_monitor ${mo.loadMonitor.method} needs rsh to the real servers; lvs-pulse reports it only (weights stay static)`,
      );
    if (mo.sourceAddress && vs.vip.address && ipFamily(mo.sourceAddress) !== ipFamily(vs.vip.address))
      error(`${mp}.source_address`, `${label}: probe_source must be of the VIP's address family`);

    // Real servers.
    if (vs.active && m.service === 'lvs' && vs.realServers.length === 0)
      warning(p, `${label} has no real servers`);
    const rsNames = new Set<string>();
    const rsAddrs = new Map<string, string>();
    vs.realServers.forEach((rs, j) => {
      const rp = `${p}.real_servers.${j}`;
      const rl = `${label}, real server '${rs.name}'`;
      if (!rs.name) error(rp, `${label}: a real server needs a name`);
      else if (rsNames.has(rs.name))
        error(`${rp}.name`, `${label}: real server name '${rs.name}' is used twice`);
      else rsNames.add(rs.name);
      if (!rs.address) {
        error(rp, `${rl}: address is missing`);
        return;
      }
      const ap = `${rs.address}:${rs.port}`;
      const prev = rsAddrs.get(ap);
      if (prev) error(`${rp}.address`, `${rl}: ${ap} is already real server '${prev}'`);
      else rsAddrs.set(ap, rs.name);
      const fw = rs.forwarding ?? m.network;
      if (vs.vip.address && ipFamily(rs.address) !== ipFamily(vs.vip.address) && fw !== 'tunnel')
        error(`${rp}.address`, `${rl}: address family differs from the VIP (only tunnel forwarding can mix)`);
      if (fw !== 'nat' && vs.fwmark === undefined && rs.port !== vs.port)
        warning(
          `${rp}.port`,
          `${rl}: ${fw} forwarding cannot change the port (${vs.port} → ${rs.port}); the port is ignored`,
        );
      if (routerAddrs.has(rs.address))
        warning(`${rp}.address`, `${rl}: ${rs.address} is a router's own address`);
    });
  });

  // Failover services.
  const fosNames = new Set<string>();
  m.failoverServices.forEach((f, i) => {
    const p = `failover_services.${i}`;
    if (!f.name) error(p, 'a failover service needs a name');
    else if (fosNames.has(f.name)) error(`${p}.name`, `failover service name '${f.name}' is used twice`);
    else fosNames.add(f.name);
    if (!f.vip.address) error(p, `failover service '${f.name}' needs address`);
    else checkFloating(f.vip, `${p}.vip`, error);
  });
  if (m.failoverServices.length > 0)
    warning(
      'failover_services.0',
      m.service === 'fos'
        ? 'service = fos: failover services are parsed and reported but not run by lvs-pulse'
        : 'failover blocks are parsed and reported but not run (service = lvs)',
    );
  if (m.service === 'fos' && m.virtualServers.length > 0)
    warning('service', 'service = fos: the virtual servers are not used');

  // Misc.
  if (m.metrics.listen !== '') {
    const mm = /^(.*):(\d+)$/.exec(m.metrics.listen);
    const port = mm ? Number(mm[2]) : 0;
    if (!mm || port < 1 || port > 65535)
      error('metrics.listen', `metrics_listen '${m.metrics.listen}' must be HOST:PORT`);
  }
  const sd = m.syncDaemon;
  // The kernel refuses sync_threshold >= sync_period unless the period is 0 (ip_vs_ctl.c).
  if (sd.period > 0 && sd.threshold >= sd.period)
    error(
      'sync_daemon.threshold',
      `sync threshold ${sd.threshold} must be below the sync period ${sd.period} (or set the period to 0)`,
    );
  if (sd.enabled && !m.backup)
    warning(
      'sync_daemon.enabled',
      'connection sync is on but no backup router is configured: nothing to sync with',
    );
  if (sd.enabled && sd.period === 0 && sd.refreshPeriodS === 0)
    warning(
      'sync_daemon.refresh_period',
      'sync period and refresh period are both 0: the IPVS sync daemon sends a connection only at its state changes',
    );
  return out;
}

function checkFloating(
  f: { address: string; prefixLength: number; device?: string; label?: string },
  path: string,
  error: (p: string, m: string) => void,
): void {
  const fam = ipFamily(f.address);
  if (fam === 4 && f.prefixLength > 32)
    error(`${path}.prefix_length`, `prefix length ${f.prefixLength} is too long for IPv4 ${f.address}`);
  if (
    f.label !== undefined &&
    f.device !== undefined &&
    f.label !== f.device &&
    !f.label.startsWith(`${f.device}:`)
  )
    error(`${path}.label`, `label '${f.label}' must be '${f.device}' or start with '${f.device}:'`);
  // The names themselves are checked by their formats (lvs-ifname, lvs-iflabel: lib/ifname.ts).
}

/**
 * Native YAML/JSON fails closed on heartbeat authentication (issue 17): a file with a peer and no
 * `heartbeat.key_file` must say `heartbeat.auth: none` to run unauthenticated. (lvs.cf keeps Piranha's
 * behaviour: unauthenticated, with the warning of {@link checkSemantics}, at start, in status and metrics.)
 * @param authWritten whether the document itself wrote `heartbeat.auth` (not left it to its default).
 */
export function checkNativeAuth(m: LvsModel, authWritten: boolean): SemanticIssue[] {
  const hb = m.heartbeat;
  if (authWritten || hb.keyFile || !m.backup || !m.backupActive) return [];
  return [
    {
      severity: 'error',
      path: 'heartbeat.auth',
      message:
        'the heartbeat would not be authenticated: set heartbeat.key_file (pulsectl keygen FILE makes one), or write heartbeat.auth: none to run unauthenticated on purpose',
    },
  ];
}
