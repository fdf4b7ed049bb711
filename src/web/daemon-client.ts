/**
 * The console's only way to the daemon: its control socket (src/daemon/control.ts). No other channel, no
 * command execution: what the web can do is exactly what `pulsectl` can do.
 */
import { followEvents, request } from '../daemon/control';
import type { StatusJson } from '../daemon/status';

/**
 * The control commands the console uses — with `events` (follow), exactly what the daemon grants the
 * console's user (docs/security.md).
 */
export type ConsoleCommand = 'status' | 'takeover' | 'release' | 'drain' | 'enable' | 'reload';

/** The console's view of the daemon (the control socket; tests pass a fake). */
export interface DaemonClient {
  /** Sends a command; resolves with its result, rejects with the daemon's error message. */
  call(cmd: ConsoleCommand, args?: Record<string, unknown>): Promise<unknown>;
  status(): Promise<StatusJson>;
  /** Follows live events until stop() or the daemon closes the stream. */
  follow(onEvent: (ev: unknown) => void): { done: Promise<void>; stop(): void };
}

/** A client for the daemon whose control socket is in `runDir`. */
export function controlClient(runDir: string, timeoutMs = 5000): DaemonClient {
  const call: DaemonClient['call'] = async (cmd, args) => {
    const r = await request(runDir, cmd, args, timeoutMs);
    if (!r.ok) throw new Error(r.error ?? `${cmd} failed`);
    return r.result;
  };
  return {
    call,
    status: async () => (await call('status')) as StatusJson,
    follow(onEvent) {
      const p = followEvents(runDir, onEvent);
      return { done: p, stop: () => p.stop() };
    },
  };
}
