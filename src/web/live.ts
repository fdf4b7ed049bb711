/**
 * Live updates for the browsers: one upstream follower of the daemon's event stream shared by every open
 * page, plus a periodic status poll (and an immediate one after each daemon event), fanned out to
 * Server-Sent Events subscribers. Runs only while somebody is watching.
 */
import type { StatusJson } from '../daemon/status';
import type { Log } from '../lib/log';
import type { DaemonClient } from './daemon-client';

/** One message to the browsers: a status snapshot, a daemon event, or the daemon unreachable. */
export type LiveMessage =
  | { event: 'status'; data: StatusJson }
  | { event: 'daemon'; data: unknown }
  | { event: 'down'; data: { error: string } };

/** Options of {@link LiveHub}. */
export interface LiveOptions {
  /** Status poll period while subscribed, ms (default 2000). */
  statusIntervalMs?: number;
  /** Retry period of the event stream after it ends, ms (default 1000). */
  reconnectMs?: number;
  /** Delay before the status refresh that follows a daemon event, ms (default 20). */
  refreshDelayMs?: number;
  log: Log;
}

/** Fans the daemon's events and status out to the pages' event streams, while anyone subscribes. */
export class LiveHub {
  private readonly subs = new Set<(m: LiveMessage) => void>();
  private follower?: { done: Promise<void>; stop(): void };
  private poll?: NodeJS.Timeout;
  private retry?: NodeJS.Timeout;
  private refresh?: NodeJS.Timeout;
  private last?: LiveMessage;
  private running = false;
  private fetching = false;
  private fetchAgain = false;

  constructor(
    private readonly daemon: DaemonClient,
    private readonly opts: LiveOptions,
  ) {}

  /** Adds a subscriber; it gets the last known status at once. Returns the unsubscribe function. */
  subscribe(send: (m: LiveMessage) => void): () => void {
    this.subs.add(send);
    if (this.last) send(this.last);
    if (!this.running) this.start();
    else this.scheduleRefresh();
    return () => {
      this.subs.delete(send);
      if (this.subs.size === 0) this.stop();
    };
  }

  get subscribers(): number {
    return this.subs.size;
  }

  private broadcast(m: LiveMessage): void {
    if (m.event !== 'daemon') this.last = m;
    for (const s of this.subs) {
      try {
        s(m);
      } catch {
        /* a broken subscriber is removed by its connection's close */
      }
    }
  }

  private start(): void {
    this.running = true;
    this.connect();
    this.fetchStatus();
    this.poll = setInterval(() => this.fetchStatus(), this.opts.statusIntervalMs ?? 2000);
  }

  /** Stops following and polling (also called when the last subscriber leaves). */
  stop(): void {
    this.running = false;
    clearInterval(this.poll);
    clearTimeout(this.retry);
    clearTimeout(this.refresh);
    this.follower?.stop();
    this.follower = undefined;
  }

  private connect(): void {
    if (!this.running) return;
    const f = this.daemon.follow((ev) => {
      this.broadcast({ event: 'daemon', data: ev });
      this.scheduleRefresh();
    });
    this.follower = f;
    const again = (why: string) => {
      if (!this.running || this.follower !== f) return;
      this.opts.log.debug('event stream ended; retrying', { reason: why });
      this.retry = setTimeout(() => this.connect(), this.opts.reconnectMs ?? 1000);
    };
    f.done.then(
      () => again('closed'),
      (err: Error) => {
        this.broadcast({ event: 'down', data: { error: err.message } });
        again(err.message);
      },
    );
  }

  private scheduleRefresh(): void {
    if (this.refresh) return;
    this.refresh = setTimeout(() => {
      this.refresh = undefined;
      this.fetchStatus();
    }, this.opts.refreshDelayMs ?? 20);
  }

  private fetchStatus(): void {
    if (!this.running) return;
    if (this.fetching) {
      // A status asked for while one is in flight may be older than the event that asked: fetch again after.
      this.fetchAgain = true;
      return;
    }
    this.fetching = true;
    const done = () => {
      this.fetching = false;
      if (this.fetchAgain) {
        this.fetchAgain = false;
        this.fetchStatus();
      }
    };
    this.daemon.status().then(
      (s) => {
        if (this.running) this.broadcast({ event: 'status', data: s });
        done();
      },
      (err: Error) => {
        if (this.running) this.broadcast({ event: 'down', data: { error: err.message } });
        done();
      },
    );
  }
}
