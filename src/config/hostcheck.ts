/**
 * Host checks (I/O edge): what the config names on this machine — key files, hook programs, probe
 * programs, interfaces. `pulse --check-config` checks the file, not the host, so each finding is a
 * warning, never an error.
 */
import { existsSync } from 'node:fs';
import { isInterfaceName, sysClassNetPath } from '../lib/ifname.js';
import type { LvsModel } from './model.js';
import type { SemanticIssue } from './semantic.js';

/** What the checks ask of the host (injected in tests). */
export interface Host {
  fileExists(path: string): boolean;
  interfaceExists(name: string): boolean;
}

/** The real host: files by path, interfaces under /sys/class/net. */
export const localHost: Host = {
  fileExists: (p) => existsSync(p),
  interfaceExists: (n) => isInterfaceName(n) && existsSync(sysClassNetPath(n, 'ifindex')),
};

/** Warnings for files, programs and interfaces the config names that this host lacks. */
export function checkHost(m: LvsModel, host: Host = localHost): SemanticIssue[] {
  const out: SemanticIssue[] = [];
  const warn = (path: string, message: string) => out.push({ severity: 'warning', path, message });
  const file = (path: string, f: string | undefined, what: string) => {
    if (f && !host.fileExists(f)) warn(path, `${what} ${f} does not exist on this host`);
  };
  const program = (path: string, cmd: string | undefined, what: string) => {
    const prog = cmd?.trim().split(/\s+/)[0];
    if (!prog) return;
    if (!prog.startsWith('/'))
      warn(path, `${what} '${prog}' is not an absolute path (no shell, no PATH search)`);
    else if (!host.fileExists(prog)) warn(path, `${what} ${prog} does not exist on this host`);
  };
  const iface = (path: string, name: string | undefined, what: string) => {
    if (name && !host.interfaceExists(name))
      warn(path, `${what} interface ${name} does not exist on this host`);
  };
  file('heartbeat.key_file', m.heartbeat.keyFile, 'heartbeat key file');
  file('heartbeat.key_file_old', m.heartbeat.previousKeyFile, 'previous heartbeat key file');
  program('hooks.active_cmd', m.hooks.activeCmd, 'active_cmd');
  program('hooks.inactive_cmd', m.hooks.inactiveCmd, 'inactive_cmd');
  program('hooks.notify_cmd', m.hooks.notifyCmd, 'notify_cmd');
  if (m.lb.backend === 'ipvsadm') program('lb.ipvsadm', m.lb.ipvsadmPath, 'ipvsadm');
  // conntrackd carries the connections on the nftables backend (auto picks it where IPVS is missing).
  if (m.syncDaemon.enabled && m.lb.backend !== 'ipvsadm' && m.lb.backend !== 'none')
    program('sync_daemon.conntrackd', m.syncDaemon.conntrackdPath, 'conntrackd');
  iface('heartbeat.multicast.interface', m.heartbeat.multicast?.interface, 'multicast');
  iface('nat_router.device', m.natRouter?.device, 'nat_router');
  if (m.syncDaemon.enabled) iface('sync_daemon.interface', m.syncDaemon.interface, 'syncd_iface');
  if (m.monitorLinks)
    m.linkInterfaces.forEach((n, i) => {
      iface(`link_interfaces.${i}`, n, 'link_interfaces');
    });
  m.virtualServers.forEach((vs, i) => {
    iface(`virtual_servers.${i}.vip.device`, vs.vip.device, `virtual server '${vs.name}'`);
    program(
      `virtual_servers.${i}.monitor.send_program`,
      vs.monitor.sendProgram,
      `virtual server '${vs.name}' send_program`,
    );
    if (vs.monitor.loadMonitor.kind === 'command')
      program(
        `virtual_servers.${i}.monitor.load_monitor`,
        vs.monitor.loadMonitor.command,
        `virtual server '${vs.name}' load_monitor`,
      );
  });
  m.failoverServices.forEach((f, i) => {
    program(`failover_services.${i}.start_cmd`, f.startCmd, `failover '${f.name}' start_cmd`);
    program(`failover_services.${i}.stop_cmd`, f.stopCmd, `failover '${f.name}' stop_cmd`);
  });
  return out;
}
