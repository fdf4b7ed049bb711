/** Shared fixtures for nanny unit tests: a minimal model, a fake clock adapter, scripted probes. */
import type sinon from 'sinon';
import type { LvsModel, MonitorConfig, RealServer, VirtualServer } from '../../../src/config/model';
import type { Clock } from '../../../src/nanny/scheduler';
import type { Probe, ProbeResult } from '../../../src/nanny/types';

export function monitor(over: Partial<MonitorConfig> = {}): MonitorConfig {
  return {
    kind: 'tcp',
    useRegex: false,
    timeoutMs: 1000,
    intervalMs: 1000,
    fall: 1,
    rise: 3,
    jitterMs: 0,
    quiesce: false,
    loadMonitor: { kind: 'none' },
    slowStartMs: 0,
    ...over,
  };
}

export function rs(name: string, i: number, over: Partial<RealServer> = {}): RealServer {
  return { name, address: `198.18.1.${20 + i}`, port: 80, weight: 1, active: true, ...over };
}

export function vs(name: string, servers: RealServer[], over: Partial<VirtualServer> = {}): VirtualServer {
  return {
    name,
    active: true,
    vip: { address: '198.18.0.10', prefixLength: 32 },
    protocol: 'tcp',
    port: 80,
    scheduler: 'wlc',
    persistentS: 0,
    monitor: monitor(),
    realServers: servers,
    ...over,
  };
}

export function model(virtuals: VirtualServer[]): LvsModel {
  return {
    serialNo: 1,
    service: 'lvs',
    primary: { address: '198.18.0.11', priority: 200 },
    backupActive: false,
    heartbeat: {
      port: 539,
      keepaliveMs: 50,
      deadtimeMs: 150,
      auth: 'none',
      piranhaCompat: false,
      preempt: false,
      preemptDelayMs: 0,
      handoverTimeoutMs: 1000,
      rtPriority: 0,
      worker: false,
    },
    announce: { count: 5, intervalMs: 1000, repeatDelayMs: 0, repeatCount: 0, refreshMs: 0, form: 'request' },
    network: 'nat',
    monitorLinks: false,
    linkInterfaces: [],
    syncDaemon: { enabled: false, interface: 'eth0', id: 0 },
    timeouts: { tcp: 0, tcpfin: 0, udp: 0 },
    hardShutdown: true,
    hooks: { timeoutMs: 5000 },
    lb: { backend: 'none', ipvsadmPath: '/sbin/ipvsadm', hotStandby: false, onStop: 'keep' },
    logLevel: 'info',
    metrics: { listen: '' },
    legacy: {},
    virtualServers: virtuals,
    failoverServices: [],
  };
}

/** Adapts a sinon fake clock to the nanny's Clock. */
export function fakeClock(c: sinon.SinonFakeTimers): Clock {
  return {
    now: () => c.now,
    wallNow: () => c.now,
    setTimeout: (fn, ms) => c.setTimeout(fn, ms),
    clearTimeout: (h) => c.clearTimeout(h as number),
  };
}

/**
 * A probe whose outcome is switchable: `set(true|false|'hang')`; each call is recorded with the fake time.
 * `delayMs` makes the probe take that long (fake time).
 */
export class SwitchProbe {
  ok: boolean | 'hang' = true;
  detail = 'connection refused';
  weight: number | undefined;
  calls: number[] = [];
  delayMs = 0;
  constructor(private readonly c: sinon.SinonFakeTimers) {}
  readonly probe: Probe = () => {
    this.calls.push(this.c.now);
    if (this.ok === 'hang') return new Promise<ProbeResult>(() => {});
    const r: ProbeResult = this.ok
      ? { ok: true, detail: 'connected', ms: this.delayMs }
      : { ok: false, detail: this.detail, ms: this.delayMs };
    if (this.weight !== undefined) r.weight = this.weight;
    if (this.delayMs === 0) return Promise.resolve(r);
    return new Promise((res) => this.c.setTimeout(() => res(r), this.delayMs));
  };
}
