/** Shared fixtures for nanny unit tests: a minimal model, a fake clock adapter, scripted probes. */
import type sinon from 'sinon';
import {
  baseModel,
  heartbeatConfig,
  monitorConfig,
  realServerConfig,
  virtualServerConfig,
} from '../../../src/config/build';
import type { LvsModel, MonitorConfig, RealServer, VirtualServer } from '../../../src/config/model';
import type { Clock } from '../../../src/nanny/scheduler';
import type { Probe, ProbeResult } from '../../../src/nanny/types';

export function monitor(over: Partial<MonitorConfig> = {}): MonitorConfig {
  return monitorConfig({ rise: 3, ...over });
}

export function rs(name: string, i: number, over: Partial<RealServer> = {}): RealServer {
  return realServerConfig(name, `198.18.1.${20 + i}`, over);
}

export function vs(name: string, servers: RealServer[], over: Partial<VirtualServer> = {}): VirtualServer {
  return virtualServerConfig(name, '198.18.0.10', { monitor: monitor(), realServers: servers, ...over });
}

export function model(virtuals: VirtualServer[]): LvsModel {
  return baseModel({
    heartbeat: heartbeatConfig({ keepaliveMs: 50, deadtimeMs: 150 }),
    announce: { count: 5, intervalMs: 1000, repeatDelayMs: 0, repeatCount: 0, refreshMs: 0, form: 'request' },
    virtualServers: virtuals,
  });
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
