/**
 * The options of the web console (`buildWeb` / `startWeb`), apart from the server so the route modules'
 * shared context (context.ts) can name them without importing the server.
 */
import type { Log } from '../lib/log';
import type { DaemonClient } from './daemon-client';
import type { PeerTarget } from './peer';
import type { ThrottleOptions } from './sessions';

/** How the console runs; only `runDir` and `passwordFile` are required. */
export interface WebOptions {
  /** Run directory of the daemon (its control socket), e.g. /run/lvs-pulse. */
  runDir: string;
  /** Configuration file to edit; default: the one the daemon reports in its status. */
  configPath?: string;
  /** Root-only file with the scrypt hash (`pulse-web --set-password`). Required: no default password. */
  passwordFile: string;
  /** Listen address (default 127.0.0.1) and port (default 3636; 0 = any free port). */
  host?: string;
  port?: number;
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Session idle timeout (default 30 min) and absolute lifetime (default 8 h), ms. */
  sessionIdleMs?: number;
  sessionMaxMs?: number;
  /** Status poll period of the live view, ms (default 2000). */
  statusIntervalMs?: number;
  /** Audit log; default: the daemon logger at level info (syslog + stderr), component `web`. */
  log?: Log;
  /** Clock for sessions and throttling (tests). */
  now?: () => number;
  /** Daemon client (default: the control socket in runDir). */
  daemon?: DaemonClient;
  /** Login throttling (default: 5 failures in 5 min lock the address for 1 min). */
  throttle?: Partial<Omit<ThrottleOptions, 'now'>>;
  /** Push each saved configuration to the peer router's console (HMAC with the heartbeat key; use https). */
  peer?: PeerTarget;
  /**
   * Accept configurations pushed by the peer's console at POST /api/peer/config (the one route not behind
   * a session: it is authenticated by the heartbeat-key HMAC instead). Off by default: the route then
   * does not exist.
   */
  acceptPeerPush?: boolean;
}
