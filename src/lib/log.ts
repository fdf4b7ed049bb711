/**
 * The logging surface every concern uses. Pure cores take a `Log` (no winston import), so tests pass a
 * recording logger; the daemon passes the winston-backed one from `src/daemon/logging.ts`.
 *
 * A log event is a short message plus key/value fields (`op`, `reason`, `vip`, …) — MetalLB style —
 * so syslog lines carry the evidence for each decision.
 */
export type LogFields = Record<string, unknown>;

/** A key/value logger: a short message plus fields. */
export interface Log {
  error(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  /** A logger whose events all carry `fields` (e.g. `{ component: 'heartbeat' }`). */
  child(fields: LogFields): Log;
}

/** One event kept by {@link MemoryLog}. */
export interface LogRecord {
  level: 'error' | 'warn' | 'info' | 'debug';
  msg: string;
  fields: LogFields;
}

/** A logger that keeps its events in memory (tests read `records`). */
export class MemoryLog implements Log {
  constructor(
    readonly records: LogRecord[] = [],
    private readonly base: LogFields = {},
  ) {}
  private push(level: LogRecord['level'], msg: string, fields?: LogFields): void {
    this.records.push({ level, msg, fields: { ...this.base, ...fields } });
  }
  error(msg: string, fields?: LogFields): void {
    this.push('error', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.push('warn', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.push('info', msg, fields);
  }
  debug(msg: string, fields?: LogFields): void {
    this.push('debug', msg, fields);
  }
  child(fields: LogFields): Log {
    return new MemoryLog(this.records, { ...this.base, ...fields });
  }
}

/** Discards everything. */
export const nullLog: Log = {
  error() {},
  warn() {},
  info() {},
  debug() {},
  child() {
    return nullLog;
  },
};
