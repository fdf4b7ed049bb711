/**
 * Building models in code (tests, benchmarks, tools) without a config file: complete objects with quiet,
 * explicit values — not the shipped defaults, which belong to the config front ends — so a caller states
 * only what it cares about.
 */
import type { HeartbeatConfig, LvsModel, MonitorConfig, RealServer, VirtualServer } from './model.js';

/** A TCP-connect monitor, 1 s timeout and interval, fall 1 / rise 1, no jitter. */
export function monitorConfig(over: Partial<MonitorConfig> = {}): MonitorConfig {
  return {
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
    ...over,
  };
}

/** An active real server on port 80, weight 1. */
export function realServerConfig(name: string, address: string, over: Partial<RealServer> = {}): RealServer {
  return { name, address, port: 80, weight: 1, active: true, ...over };
}

/** An active TCP virtual server on port 80, wlc, no persistence, no real servers. */
export function virtualServerConfig(
  name: string,
  address: string,
  over: Partial<VirtualServer> = {},
): VirtualServer {
  return {
    name,
    active: true,
    vip: { address, prefixLength: 32 },
    protocol: 'tcp',
    port: 80,
    scheduler: 'wlc',
    persistentS: 0,
    monitor: monitorConfig(),
    realServers: [],
    ...over,
  };
}

/** Heartbeat settings: unauthenticated, 100/500 ms, main thread, normal scheduling. */
export function heartbeatConfig(over: Partial<HeartbeatConfig> = {}): HeartbeatConfig {
  return {
    port: 539,
    keepaliveMs: 100,
    deadtimeMs: 500,
    auth: 'none',
    piranhaCompat: false,
    preempt: false,
    preemptDelayMs: 0,
    handoverTimeoutMs: 1000,
    rtPriority: 0,
    isolation: 'off',
    ...over,
  };
}

/** Connection sync settings, off by default: the shipped values otherwise (docs/sync.md). */
export function syncDaemonConfig(over: Partial<LvsModel['syncDaemon']> = {}): LvsModel['syncDaemon'] {
  return {
    enabled: false,
    id: 0,
    ttl: 1,
    maxlen: 80,
    version: 1,
    threshold: 3,
    period: 0,
    refreshPeriodS: 1,
    persistMode: 0,
    mode: 'ftfw',
    transport: 'udp',
    resyncTimeoutMs: 5000,
    conntrackdPath: '/usr/sbin/conntrackd',
    ...over,
  };
}

/** A complete model: primary 198.18.0.11 only, NAT, LB backend `none`, no virtual servers. */
export function baseModel(over: Partial<LvsModel> = {}): LvsModel {
  return {
    serialNo: 1,
    service: 'lvs',
    primary: { address: '198.18.0.11', priority: 200 },
    backupActive: false,
    heartbeat: heartbeatConfig(),
    announce: { count: 1, intervalMs: 100, repeatDelayMs: 0, repeatCount: 0, refreshMs: 0, form: 'request' },
    network: 'nat',
    monitorLinks: false,
    linkInterfaces: [],
    syncDaemon: syncDaemonConfig(),
    timeouts: { tcp: 0, tcpfin: 0, udp: 0 },
    hardShutdown: true,
    hooks: { timeoutMs: 5000 },
    lb: { backend: 'none', ipvsadmPath: '/sbin/ipvsadm', hotStandby: false, onStop: 'keep' },
    logLevel: 'info',
    metrics: { listen: '' },
    legacy: {},
    virtualServers: [],
    failoverServices: [],
    ...over,
  };
}
