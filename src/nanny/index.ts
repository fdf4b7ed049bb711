/**
 * The nanny: health checks and weights of real servers. The daemon uses {@link NannyPool}; the rest is
 * exported for tests, benchmarks and tools.
 */
export { createLoadSource, commandLoadSource, httpLoadSource } from './load';
export {
  type NannyPoolOptions,
  type NannyStats,
  NannyPool,
  type RealServerStatus,
  type VirtualServerStatus,
  type WeightEvent,
} from './pool';
export { createProbe, type EngineStatus, engineStatus, type ProbeTarget } from './probes/index';
export { type Clock, HeapScheduler, type Scheduler, systemClock, TimerEntry } from './scheduler';
export type {
  LastProbe,
  LoadReading,
  LoadSource,
  NannyEvent,
  Probe,
  ProbeResult,
  RealServerState,
} from './types';
export { hostPort } from '../lib/addr';
export { Nanny, type NannyOptions } from './nanny';
export {
  exitCodeFeedback,
  loadMonitorStep,
  parseLoadAverage,
  parseWeight,
  SlowStart,
  slowStartInitial,
} from './weights';
