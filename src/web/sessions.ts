/**
 * Console sessions (login throttling is throttle.ts). Pure: the clock and the id source are injected, so
 * expiry is tested with fake time. Sessions live in memory only: restarting `pulse-web` logs everybody out.
 */

/** One logged-in browser. */
export interface Session {
  /** Random id (the cookie value). */
  id: string;
  user: string;
  /** Remote address that logged in (for the audit log). */
  remote: string;
  createdAt: number;
  lastSeenAt: number;
}

/** Options of {@link SessionStore}. */
export interface SessionOptions {
  /** A session unused this long expires, ms (default 15 min). */
  idleMs: number;
  /** A session expires this long after login whatever its use, ms (default 8 h). */
  maxMs: number;
  now: () => number;
  /** Returns a fresh unguessable id (≥ 128 bits). */
  newId: () => string;
  /** Most sessions kept; the least recently used goes first (default 64). */
  maxSessions?: number;
}

/** A session found, or why not (`unknown`: never existed or logged out). */
export type Lookup = { session: Session } | { expired: 'idle' | 'max' | 'unknown' };

/** Sessions by id, with idle and absolute expiry. */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly opts: SessionOptions) {}

  /** Starts a session (always a new id: a login never reuses an id the browser had before). */
  create(user: string, remote: string): Session {
    this.sweep();
    const max = this.opts.maxSessions ?? 64;
    while (this.sessions.size >= max) {
      let oldest: Session | undefined;
      for (const s of this.sessions.values()) if (!oldest || s.lastSeenAt < oldest.lastSeenAt) oldest = s;
      this.sessions.delete(oldest!.id);
    }
    const now = this.opts.now();
    const s: Session = { id: this.opts.newId(), user, remote, createdAt: now, lastSeenAt: now };
    this.sessions.set(s.id, s);
    return s;
  }

  /** Finds a live session; `touch` (default true) counts this as use for the idle timeout. */
  lookup(id: string | undefined, touch = true): Lookup {
    if (!id) return { expired: 'unknown' };
    const s = this.sessions.get(id);
    if (!s) return { expired: 'unknown' };
    const now = this.opts.now();
    if (now - s.createdAt >= this.opts.maxMs) {
      this.sessions.delete(id);
      return { expired: 'max' };
    }
    if (now - s.lastSeenAt >= this.opts.idleMs) {
      this.sessions.delete(id);
      return { expired: 'idle' };
    }
    if (touch) s.lastSeenAt = now;
    return { session: s };
  }

  destroy(id: string): boolean {
    return this.sessions.delete(id);
  }

  /** Ends every session (the password changed); returns how many. */
  revokeAll(): number {
    const n = this.sessions.size;
    this.sessions.clear();
    return n;
  }

  /** Drops expired sessions; returns how many. */
  sweep(): number {
    const now = this.opts.now();
    let n = 0;
    for (const [id, s] of this.sessions)
      if (now - s.createdAt >= this.opts.maxMs || now - s.lastSeenAt >= this.opts.idleMs) {
        this.sessions.delete(id);
        n++;
      }
    return n;
  }

  get size(): number {
    return this.sessions.size;
  }
}
