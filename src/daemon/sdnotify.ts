/**
 * systemd notification (sd_notify) without a shell-out: one datagram to $NOTIFY_SOCKET per message.
 * READY=1 after the first role decision, STATUS= with the role, WATCHDOG=1 from the event loop at half of
 * $WATCHDOG_USEC — so a blocked event loop stops the pings and systemd restarts the daemon.
 */
import { UnixDatagramSender } from '../lib/libc';

/** Sends sd_notify messages (a no-op when systemd did not ask for them). */
export interface Notifier {
  notify(fields: Record<string, string | number>): boolean;
  /** Watchdog interval requested by systemd (ms), or undefined when no watchdog is configured. */
  readonly watchdogMs?: number;
  close(): void;
}

/** Formats an sd_notify message: `KEY=value` lines. */
export function formatNotify(fields: Record<string, string | number>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k}=${String(v).replace(/\n/g, ' ')}`)
    .join('\n');
}

/** A notifier for the current environment; a no-op when NOTIFY_SOCKET is not set. */
export function systemdNotifier(env: NodeJS.ProcessEnv = process.env): Notifier {
  const path = env.NOTIFY_SOCKET;
  const usec = Number(env.WATCHDOG_USEC);
  const pidOk = env.WATCHDOG_PID === undefined || Number(env.WATCHDOG_PID) === process.pid;
  const watchdogMs = Number.isFinite(usec) && usec > 0 && pidOk ? usec / 1000 : undefined;
  if (!path) return { notify: () => false, watchdogMs, close() {} };
  const sender = new UnixDatagramSender(path);
  return {
    notify: (fields) => sender.send(formatNotify(fields)) === 0,
    watchdogMs,
    close: () => sender.close(),
  };
}

/**
 * Pings WATCHDOG=1 every half watchdog period from a plain timer on the main event loop: if the loop
 * hangs, the timer cannot fire and systemd's watchdog expires. Returns a stop function.
 */
export function startWatchdog(n: Notifier): () => void {
  if (!n.watchdogMs) return () => {};
  const t = setInterval(() => n.notify({ WATCHDOG: 1 }), Math.max(50, n.watchdogMs / 2));
  t.unref();
  return () => clearInterval(t);
}
