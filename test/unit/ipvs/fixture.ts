/** A small but complete LvsModel for the ipvs unit tests. */
import {
  baseModel,
  heartbeatConfig,
  monitorConfig,
  realServerConfig,
  virtualServerConfig,
} from '../../../src/config/build';
import type { LvsModel, MonitorConfig, RealServer, VirtualServer } from '../../../src/config/model';

export const monitor: MonitorConfig = monitorConfig();

export function rs(name: string, address: string, extra: Partial<RealServer> = {}): RealServer {
  return realServerConfig(name, address, extra);
}

export function vs(name: string, extra: Partial<VirtualServer> = {}): VirtualServer {
  return virtualServerConfig(name, '198.18.0.10', {
    monitor,
    realServers: [rs('rs1', '198.18.1.21'), rs('rs2', '198.18.1.22')],
    ...extra,
  });
}

export function model(virtualServers: VirtualServer[], extra: Partial<LvsModel> = {}): LvsModel {
  return baseModel({
    heartbeat: heartbeatConfig({ keepaliveMs: 1000, deadtimeMs: 3000 }),
    hooks: { timeoutMs: 1000 },
    lb: { backend: 'auto', ipvsadmPath: 'ipvsadm', hotStandby: true, onStop: 'keep' },
    virtualServers,
    ...extra,
  });
}

/** Weights map from `vs/rs → w` pairs. */
export function weights(entries: Record<string, number | null>): Map<string, number | null> {
  return new Map(Object.entries(entries));
}
