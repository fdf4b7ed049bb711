/**
 * The transport ladder's chooser, used by the tcp, send/expect and HTTP probes: each probe is built on the
 * first rung that takes it — the engine (epoll.ts: our own sockets, one per real server, what holds us
 * level with HAProxy at 10,000 probes a second) when this machine passed its ABI check and the target and
 * options are ones it runs, else net/tls sockets (netsocket.ts), which take everything.
 */
import { epoll, type EngineStatus } from './epoll';
import type { ConnectOptions, Exchange, ExchangeOptions, Probe, ProbeTarget, Transport } from './exchange';
import { netTransport } from './netsocket';

/** The rungs, first choice first; the last one must take every probe. */
export const LADDER: readonly Transport[] = [epoll, netTransport];

/** Builds the probe on the first rung of `ladder` that takes it; the rungs below run overlapping runs. */
function climb(
  ladder: readonly Transport[],
  build: (tr: Transport, below: () => Probe) => Probe | undefined,
): Probe {
  const from = (i: number): Probe => {
    const tr = ladder[i];
    if (!tr) throw new Error('transport ladder: no rung took the probe');
    return build(tr, () => from(i + 1)) ?? from(i + 1);
  };
  return from(0);
}

/**
 * A TCP connect probe: up iff the connection is established within the timeout; reset at once.
 * `halfOpen` where the transport can hold the handshake's ACK (the engine); net/tls always completes it.
 */
export function connectProbe(
  t: ProbeTarget,
  o: ConnectOptions,
  ladder: readonly Transport[] = LADDER,
): Probe {
  return climb(ladder, (tr, below) => tr.connectProbe(t, o, below));
}

/** A request/reply exchange (`make()`'s logic per run) against `t`, on the first rung that takes it. */
export function exchangeProbe(
  t: ProbeTarget,
  make: () => Exchange,
  o: ExchangeOptions = {},
  ladder: readonly Transport[] = LADDER,
): Probe {
  return climb(ladder, (tr, below) => tr.exchangeProbe(t, make, o, below));
}

/** Whether this process's probes run on the engine, and if not why (the pool logs it once). */
export function engineStatus(): EngineStatus {
  return epoll.status();
}
