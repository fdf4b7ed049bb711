/**
 * DNS rebinding and cross-origin defence (pure). A page on `evil.example` whose name the attacker then
 * points at the router's address makes the browser send the console `Host: evil.example` — and an Origin
 * of `http://evil.example`, which equals its own Host, so comparing the two proves nothing. So:
 * - a request is answered only when its Host names the console: the listen address, `localhost` when
 *   listening on loopback, a name of `--allowed-host`, or (listening on every address) any IP literal —
 *   an IP literal cannot be rebound;
 * - a state-changing request's Origin must be on the same list, and be the Host the request came to.
 * The port is not compared with the listen port: an SSH tunnel (`ssh -L 8080:127.0.0.1:3636`) has the
 * browser send its own local port, and a rebinding attack is stopped by the name alone.
 */
import { parseIP } from '../lib/addr';

/** Which Host names the console answers to. */
export interface HostPolicy {
  /** Names and addresses accepted (lower case, IPv6 without brackets). */
  names: ReadonlySet<string>;
  /** Listening on every address (0.0.0.0 / ::): any IP literal is accepted as well. */
  anyAddress: boolean;
}

const isLoopback = (h: string) => h === 'localhost' || h === '::1' || /^127\./.test(h);

/** The policy for a listen host and the configured extra names. */
export function hostPolicy(listenHost: string, allowed: readonly string[] = []): HostPolicy {
  const names = new Set(allowed.map((n) => n.toLowerCase().replace(/^\[(.*)\]$/, '$1')));
  const h = listenHost.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  const anyAddress = h === '0.0.0.0' || h === '::' || h === '';
  if (!anyAddress) names.add(h);
  if (isLoopback(h)) names.add('localhost');
  return { names, anyAddress };
}

/** The host name of a Host header or an origin's authority (`[::1]:3636` → `::1`); undefined if malformed. */
export function hostName(authority: string): string | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9._-]+))(?::(\d{1,5}))?$/.exec(authority);
  if (!m) return undefined;
  return (m[1] ?? m[2]!).toLowerCase().replace(/\.$/, '');
}

/** Whether a Host header names the console. */
export function hostAllowed(host: string | undefined, p: HostPolicy): boolean {
  if (host === undefined) return false;
  const name = hostName(host);
  if (name === undefined) return false;
  if (p.names.has(name)) return true;
  return p.anyAddress && parseIP(name) !== undefined;
}

/**
 * Whether an Origin header may make a state-changing request that came to `host`: same scheme as the
 * console, a host name the policy accepts, and exactly the Host of the request.
 */
export function originAllowed(
  origin: string,
  host: string | undefined,
  tls: boolean,
  p: HostPolicy,
): boolean {
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return false;
  }
  if (u.protocol !== (tls ? 'https:' : 'http:') || u.pathname !== '/' || u.username || u.password)
    return false;
  if (!hostAllowed(u.host, p) || host === undefined) return false;
  // Same name and port as the Host header, a missing port being the scheme's (a browser leaves out :80).
  const m = /^(.*?)(?::(\d{1,5}))?$/.exec(host);
  const dflt = tls ? '443' : '80';
  return hostName(u.host) === hostName(host) && (u.port || dflt) === (m?.[2] ?? dflt);
}
