/**
 * The daemon's logger: winston with two sinks, stderr (human readable, for foreground runs and journald)
 * and syslog over /dev/log (facility daemon, ident `pulse`). Events are a message plus key=value fields.
 */
import winston from 'winston';
import type { LogLevel } from '../config/model';
import type { Log, LogFields } from '../lib/log';
import { SyslogTransport } from './syslog';

/** Renders fields as `key=value` pairs, quoting values with spaces. */
export function renderFields(fields: LogFields): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined || k === 'level' || k === 'message' || k === 'component' || k === 'timestamp')
      continue;
    let s = typeof v === 'string' ? v : v instanceof Error ? v.message : JSON.stringify(v);
    if (/[\s"=]/.test(s)) s = JSON.stringify(s);
    parts.push(`${k}=${s}`);
  }
  return parts.join(' ');
}

const lineFormat = winston.format.printf((info) => {
  const { message, component } = info as { message: string; component?: string };
  const f = renderFields(info as LogFields);
  return `${component ? `${component}: ` : ''}${message}${f ? ` ${f}` : ''}`;
});

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  level: LogLevel;
  /** Write to syslog too (default true). */
  syslog?: boolean;
  syslogPath?: string;
  /** Where the human-readable sink writes (default process.stderr). */
  stderr?: NodeJS.WritableStream;
}

/** The daemon's logger: a {@link Log} whose level can change on reload, closed on stop. */
export interface DaemonLogger extends Log {
  setLevel(level: LogLevel): void;
  readonly winston: winston.Logger;
  readonly syslog?: SyslogTransport;
  close(): void;
}

/** Creates the daemon logger. Never throws because syslog is absent. */
export function createLogger(opts: LoggerOptions): DaemonLogger {
  const stream = opts.stderr ?? process.stderr;
  const transports: winston.transport[] = [
    new winston.transports.Stream({
      stream,
      format: winston.format.combine(
        winston.format.timestamp(),
        winston.format.printf((info) => {
          const line = (lineFormat.transform(info) as Record<symbol, string>)[Symbol.for('message')];
          return `${info.timestamp} ${String(info.level).padEnd(5)} ${line}`;
        }),
      ),
    }),
  ];
  let syslog: SyslogTransport | undefined;
  if (opts.syslog !== false) {
    syslog = new SyslogTransport({
      path: opts.syslogPath,
      format: lineFormat,
      onStateChange: (available, errno) => {
        stream.write(
          available
            ? `${new Date().toISOString()} info  syslog: ${opts.syslogPath ?? '/dev/log'} is back\n`
            : `${new Date().toISOString()} warn  syslog: ${opts.syslogPath ?? '/dev/log'} unavailable (errno ${errno}); logging to stderr only, retrying\n`,
        );
      },
    });
    transports.push(syslog);
  }
  const w = winston.createLogger({
    level: opts.level,
    levels: { error: 0, warn: 1, info: 2, debug: 3 },
    transports,
  });
  // A transport error must never take the daemon down.
  w.on('error', () => {});
  const wrap = (lg: winston.Logger, base: LogFields): Log => ({
    error: (msg, fields) => lg.log('error', msg, { ...base, ...fields }),
    warn: (msg, fields) => lg.log('warn', msg, { ...base, ...fields }),
    info: (msg, fields) => lg.log('info', msg, { ...base, ...fields }),
    debug: (msg, fields) => lg.log('debug', msg, { ...base, ...fields }),
    child: (fields) => wrap(lg, { ...base, ...fields }),
  });
  const root = wrap(w, {});
  return {
    ...root,
    setLevel: (level) => {
      w.level = level;
    },
    winston: w,
    syslog,
    close: () => {
      syslog?.close();
      w.close();
    },
  };
}

/** Maps Piranha's debug_level (NONE / 0.. / names) and --log-level strings to our levels. */
export function parseLogLevel(s: string): LogLevel | undefined {
  const v = s.trim().toLowerCase();
  if (['error', 'warn', 'info', 'debug'].includes(v)) return v as LogLevel;
  if (v === 'none' || v === '0') return 'info';
  if (v === 'warning') return 'warn';
  if (/^[1-9]\d*$/.test(v)) return 'debug';
  return undefined;
}
