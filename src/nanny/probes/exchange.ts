/**
 * The probe contract, and nothing else: what a probe is, what a request/reply exchange is, and what a
 * transport offers. Imports nothing, so every probe kind, every transport and the chooser can depend on
 * it without closing a circle (a test walks the import graph).
 *
 * The transports (one module each) run TCP connect probes and exchanges: the engine (`epoll.ts`: our own
 * sockets on one epoll set) and net/tls sockets (`netsocket.ts`). `transport.ts` chooses between them.
 */

/** Where and how one probe runs. */
export interface ProbeTarget {
  address: string;
  port: number;
  /** Hard limit for the whole probe, ms. */
  timeoutMs: number;
  /** Local address to probe from. */
  sourceAddress?: string;
}

/** Outcome of one probe. Probes never throw: every failure is `{ ok: false, detail }`. */
export interface ProbeResult {
  ok: boolean;
  /** Why, in an operator's words: `connection refused`, `timeout after 600 ms`, `HTTP 503`. */
  detail: string;
  /** Duration of the probe, ms. */
  ms: number;
  /** Dynamic weight feedback (misc_dynamic style): a weight the real server asked for. */
  weight?: number;
  /**
   * A timeout judged while our own event loop was stalled (the timer fired far too late): it says nothing
   * about the real server, so the nanny does not count it (up to a limit) instead of taking servers out
   * because the router was busy.
   */
  inconclusive?: boolean;
}

/**
 * One probe run against a fixed target; built once per real server by `createProbe`. A probe that keeps
 * state between runs (a socket, an idle keep-alive connection) has `dispose`, which the nanny calls when it
 * stops or replaces the probe.
 */
export type Probe = (() => Promise<ProbeResult>) & { dispose?: () => void };

/** `finish(ok, detail, weight?)`: the first call decides the probe's verdict; later calls are ignored. */
export type Finish = (ok: boolean, detail: string, weight?: number) => void;

/**
 * A probe's logic for one request/reply exchange over one connection (send/expect, HTTP): connect, write
 * `payload`, feed every chunk read to `onData` until it decides, report an orderly close to `onEnd`. A
 * fresh one per probe run (it may keep per-run state).
 */
export interface Exchange {
  /** Written once connected. Without it the exchange waits for the server to speak first (a banner). */
  payload?: Buffer;
  /** Called when the payload (if any) has been written. */
  afterSend?(finish: Finish): void;
  /** Called for each chunk read. */
  onData(chunk: Buffer, finish: Finish): void;
  /** Called on an orderly close by the peer. */
  onEnd(finish: Finish): void;
  /**
   * Keep-alive only: after the verdict, whether the connection is clean for the next request (the whole
   * reply was read and the server agreed to keep the connection open).
   */
  reusable?(): boolean;
}

/** TLS settings of an exchange (HTTPS). */
export interface TlsOptions {
  /** SNI name; unset = none. */
  servername?: string;
  /** false = skip certificate verification (`insecure`). */
  rejectUnauthorized: boolean;
}

/** How a TCP connect probe connects. */
export interface ConnectOptions {
  /**
   * true: half-open (SYN, SYN-ACK, reset: the server's application never sees the probe) where the
   * transport can hold the handshake's last ACK; false: the full handshake before the reset.
   */
  halfOpen: boolean;
}

/** How an exchange runs. */
export interface ExchangeOptions {
  /** Over TLS (HTTPS). */
  tls?: TlsOptions;
  /** Keep the connection between runs while the exchange says `reusable()` (HTTP keep-alive). */
  keepAlive?: boolean;
}

/**
 * One rung of the transport ladder. Each method builds the probe on this transport, or returns undefined
 * when the transport cannot run it (not available on this machine, an address or option it does not take):
 * the chooser then asks the next rung. `overlap` builds the probe for a run started while this probe's
 * previous run is still in flight, for a transport that runs one at a time (a nanny never overlaps runs).
 */
export interface Transport {
  /** For logs and tests: `engine`, `net`. */
  readonly name: string;
  connectProbe(t: ProbeTarget, o: ConnectOptions, overlap: () => Probe): Probe | undefined;
  exchangeProbe(
    t: ProbeTarget,
    make: () => Exchange,
    o: ExchangeOptions,
    overlap: () => Probe,
  ): Probe | undefined;
}
