/**
 * What the console's route modules share: options, clock, audit log, daemon client, sessions, config
 * editor and the live hub. Built once by buildWeb (server.ts); this module imports no route and not the
 * server, so the routes depend on it and never on each other.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Log } from '../lib/log';
import type { DaemonClient } from './daemon-client';
import type { ConfigEditor } from './editor';
import type { LiveHub } from './live';
import type { WebOptions } from './options';
import type { SessionStore } from './sessions';

/** The console's shared state, handed to every route module. */
export interface WebContext {
  opts: WebOptions;
  tls: boolean;
  now: () => number;
  log: Log;
  daemon: DaemonClient;
  sessions: SessionStore;
  editor: ConfigEditor;
  hub: LiveHub;
  /** Open /events responses (ended on close). */
  streams: Set<FastifyReply>;
  /** Logs an audit event with the session's user and the remote address. */
  audit(req: FastifyRequest, level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>): void;
  /** Revokes every session when the password file was changed by someone else. */
  checkPassword(): void;
}

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Headers on every response (also the hijacked event stream). */
export function securityHeaders(tls: boolean): Record<string, string> {
  return {
    'content-security-policy': CSP,
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    // same-origin, not no-referrer: with no-referrer Chrome sends `Origin: null` on form posts.
    'referrer-policy': 'same-origin',
    'cache-control': 'no-store',
    ...(tls ? { 'strict-transport-security': 'max-age=31536000' } : {}),
  };
}

/** Asks the daemon to reload; never throws (an unreachable daemon is reported in the result). */
export async function reloadDaemon(ctx: WebContext): Promise<unknown> {
  try {
    return await ctx.daemon.call('reload');
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}
