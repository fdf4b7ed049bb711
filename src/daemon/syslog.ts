/**
 * A winston transport to the local syslog socket (/dev/log), facility daemon, ident `pulse`.
 *
 * Written here rather than using winston-syslog: that one needs the native unix-dgram module and emits an
 * unhandled 'error' (crashing the process) when /dev/log is absent. This one sends each line with one
 * non-blocking sendto() through koffi; when /dev/log is missing or gone it counts the loss, tells stderr
 * once, and retries on later lines at most once a second, so syslog comes back by itself.
 */
import TransportStream from 'winston-transport';
import { UnixDatagramSender } from '../lib/libc';

const SEVERITY: Record<string, number> = { error: 3, warn: 4, info: 6, debug: 7 };
const FACILITY_DAEMON = 3;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 3164 line as the local syslog daemon expects it: `<30>Nov 25 17:48:47 pulse[42]: text`. */
export function formatSyslogLine(level: string, text: string, ident: string, pid: number, now: Date): string {
  const pri = FACILITY_DAEMON * 8 + (SEVERITY[level] ?? 6);
  const d = String(now.getDate()).padStart(2, ' ');
  const t = now.toTimeString().slice(0, 8);
  return `<${pri}>${MONTHS[now.getMonth()]} ${d} ${t} ${ident}[${pid}]: ${text}`;
}

/** Options of {@link SyslogTransport}: socket path (default /dev/log), ident (default pulse), retry. */
export interface SyslogTransportOptions extends TransportStream.TransportStreamOptions {
  path?: string;
  ident?: string;
  /** Told once when syslog becomes unavailable and once when it is back. */
  onStateChange?: (available: boolean, errno: number) => void;
  retryMs?: number;
  now?: () => number;
}

/**
 * A winston transport writing RFC 3164 datagrams to the syslog socket; while the socket is absent it drops
 * lines (counted in `lost`) and retries, telling `onStateChange` once each way. Never throws.
 */
export class SyslogTransport extends TransportStream {
  private readonly sender: UnixDatagramSender;
  private readonly ident: string;
  private available = true;
  private nextRetry = 0;
  private readonly retryMs: number;
  private readonly now: () => number;
  private readonly onStateChange?: (available: boolean, errno: number) => void;
  /** Lines that could not be delivered to syslog (they still went to stderr). */
  lost = 0;
  sent = 0;

  constructor(opts: SyslogTransportOptions = {}) {
    super(opts);
    this.sender = new UnixDatagramSender(opts.path ?? '/dev/log');
    this.ident = opts.ident ?? 'pulse';
    this.retryMs = opts.retryMs ?? 1000;
    this.now = opts.now ?? Date.now;
    this.onStateChange = opts.onStateChange;
  }

  override log(info: { level: string; message: unknown; [k: string]: unknown }, callback: () => void): void {
    const now = this.now();
    if (!this.available && now < this.nextRetry) {
      this.lost++;
      callback();
      return;
    }
    const text = String(info[Symbol.for('message') as unknown as string] ?? info.message);
    const errno = this.sender.send(
      formatSyslogLine(info.level, text, this.ident, process.pid, new Date(now)),
    );
    if (errno === 0) {
      this.sent++;
      if (!this.available) {
        this.available = true;
        this.onStateChange?.(true, 0);
      }
    } else {
      this.lost++;
      this.nextRetry = now + this.retryMs;
      if (this.available) {
        this.available = false;
        this.onStateChange?.(false, errno);
      }
    }
    callback();
  }

  override close(): void {
    this.sender.close();
  }
}
