/** A small but complete LvsModel for the ipvs unit tests. */
import type { LvsModel, MonitorConfig, RealServer, VirtualServer } from '../../../src/config/model';

export const monitor: MonitorConfig = {
  kind: 'tcp',
  useRegex: false,
  timeoutMs: 1000,
  intervalMs: 1000,
  fall: 1,
  rise: 1,
  jitterMs: 0,
  quiesce: false,
  loadMonitor: { kind: 'none' },
  slowStartMs: 0,
};

export function rs(name: string, address: string, extra: Partial<RealServer> = {}): RealServer {
  return { name, address, port: 80, weight: 1, active: true, ...extra };
}

export function vs(name: string, extra: Partial<VirtualServer> = {}): VirtualServer {
  return {
    name,
    active: true,
    vip: { address: '198.18.0.10', prefixLength: 32 },
    protocol: 'tcp',
    port: 80,
    scheduler: 'wlc',
    persistentS: 0,
    monitor,
    realServers: [rs('rs1', '198.18.1.21'), rs('rs2', '198.18.1.22')],
    ...extra,
  };
}

export function model(virtualServers: VirtualServer[], extra: Partial<LvsModel> = {}): LvsModel {
  return {
    serialNo: 1,
    service: 'lvs',
    primary: { address: '198.18.0.11', priority: 200 },
    backupActive: false,
    heartbeat: {
      port: 539,
      keepaliveMs: 1000,
      deadtimeMs: 3000,
      auth: 'none',
      piranhaCompat: false,
      preempt: false,
      preemptDelayMs: 0,
      handoverTimeoutMs: 1000,
      rtPriority: 0,
      worker: false,
    },
    announce: { count: 1, intervalMs: 100, repeatDelayMs: 0, repeatCount: 0, refreshMs: 0, form: 'request' },
    network: 'nat',
    monitorLinks: false,
    linkInterfaces: [],
    syncDaemon: { enabled: false, interface: 'eth0', id: 0 },
    timeouts: { tcp: 0, tcpfin: 0, udp: 0 },
    hardShutdown: true,
    hooks: { timeoutMs: 1000 },
    lb: { backend: 'auto', ipvsadmPath: 'ipvsadm', hotStandby: true, onStop: 'keep' },
    logLevel: 'info',
    metrics: { listen: '' },
    legacy: {},
    virtualServers,
    failoverServices: [],
    ...extra,
  };
}

/** Weights map from `vs/rs → w` pairs. */
export function weights(entries: Record<string, number | null>): Map<string, number | null> {
  return new Map(Object.entries(entries));
}
