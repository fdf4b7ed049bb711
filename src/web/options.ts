/**
 * The options of the web console (`buildWeb` / `startWeb`), apart from the server so the route modules'
 * shared context (context.ts) can name them without importing the server.
 */
import type { Log } from '../lib/log';
import type { DaemonClient } from './daemon-client';
import type { ScryptParams } from './password';
import type { PeerTarget } from './peer';
import type { ThrottleOptions } from './throttle';

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
  /**
   * Host names the console answers to besides its listen address (and `localhost` on loopback): any other
   * Host header gets 421, which stops DNS rebinding. Needed when the console is browsed by name.
   */
  allowedHosts?: string[];
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
  /**
   * Login throttling (default: 5 attempts in 5 min lock the address, an IPv6 /64, for 1 min; 5 checks at
   * once, then one every 2 s, for all clients together).
   */
  throttle?: Partial<Omit<ThrottleOptions, 'now'>>;
  /** scrypt cost of hashes the console writes (default DEFAULT_SCRYPT; a weaker stored hash is upgraded). */
  scrypt?: ScryptParams;
  /**
   * Push key files (`pulsectl keygen` format, owned by the console's user, mode 0600): the first signs the
   * pushes this console sends, any of them verifies a received one (a rotation lists the old key second).
   * Required by `peer` and `acceptPeerPush`.
   */
  pushKeyFiles?: string[];
  /** Push each saved configuration to the peer router's console (HMAC with the push key, https only). */
  peer?: PeerTarget;
  /**
   * Accept configurations pushed by the peer's console at POST /api/peer/config (the one route not behind
   * a session: it is authenticated by the push key's HMAC instead). Needs TLS, `pushKeyFiles` and
   * `peerAddresses`. Off by default: the route then does not exist.
   */
  acceptPeerPush?: boolean;
  /** Source addresses a push is accepted from (the peer router's). */
  peerAddresses?: string[];
  /**
   * Accept pushes that change program-naming or security-sensitive keys (hooks, send_program, heartbeat
   * authentication, …). Off by default: such a push is refused and logged with the keys it would change.
   */
  acceptProgramChanges?: boolean;
}
