/**
 * The net/tls transport: probes on Node's own sockets (net.Socket, tls.TLSSocket). The last rung of the
 * ladder (transport.ts): it takes every target and option, so it runs whatever the engine does not —
 * HTTPS, HTTP keep-alive, scoped IPv6 addresses, a source address of the other family — and everything
 * when the engine is unavailable. It cannot hold the handshake's ACK (Node sets no socket option between
 * socket() and connect()), so its connect probe is always a full handshake.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { TLSSocket, connect as tlsConnect } from 'node:tls';
import { describeError, withDeadline } from './common';
import type {
  ConnectOptions,
  Exchange,
  ExchangeOptions,
  Probe,
  ProbeTarget,
  TlsOptions,
  Transport,
} from './exchange';

/** The net/tls rung: always builds the probe. */
export const netTransport: Transport = {
  name: 'net',
  connectProbe: (t: ProbeTarget, _o: ConnectOptions) => netTcpConnectProbe(t),
  exchangeProbe: (t: ProbeTarget, make: () => Exchange, o: ExchangeOptions) =>
    o.keepAlive ? netKeepAliveExchangeProbe(t, make, o.tls) : netExchangeProbe(t, make, o.tls),
};

/** Up iff net.connect establishes the connection within the timeout; closed at once with a reset. */
export function netTcpConnectProbe(t: ProbeTarget): Probe {
  const opts = { host: t.address, port: t.port, localAddress: t.sourceAddress };
  return () =>
    withDeadline(t.timeoutMs, (finish) => {
      const sock = tcpConnect(opts);
      sock.once('connect', () => finish(true, 'connected'));
      sock.once('error', (err) => finish(false, describeError(err)));
      return () => closeFast(sock);
    });
}

/** An exchange on a fresh net.Socket / tls.TLSSocket per run, closed with a reset (closeFast) after the verdict. */
export function netExchangeProbe(t: ProbeTarget, make: () => Exchange, tls?: TlsOptions): Probe {
  const tcpOpts = { host: t.address, port: t.port, localAddress: t.sourceAddress };
  const tlsOpts = tls ? { ...tcpOpts, ...tls } : undefined;
  return () =>
    withDeadline(t.timeoutMs, (finish) => {
      const x = make();
      const sock: Socket = tlsOpts ? tlsConnect(tlsOpts) : tcpConnect(tcpOpts);
      sock.once(tlsOpts ? 'secureConnect' : 'connect', () => {
        if (x.payload) {
          sock.write(x.payload, (err) => {
            if (err) finish(false, `send failed: ${describeError(err)}`);
            else x.afterSend?.(finish);
          });
        } else x.afterSend?.(finish);
      });
      sock.on('data', (chunk: Buffer) => x.onData(chunk, finish));
      sock.once('end', () => x.onEnd(finish));
      sock.once('error', (err) => finish(false, describeError(err)));
      return () => closeFast(sock);
    });
}

/** Our listeners on a socket, so they can be removed without touching net/tls's own. */
interface Listeners {
  data: (chunk: Buffer) => void;
  end: () => void;
  error: (err: Error) => void;
  close: () => void;
}

function listen(sock: Socket, l: Listeners): () => void {
  sock.on('data', l.data);
  sock.on('end', l.end);
  sock.on('error', l.error);
  sock.on('close', l.close);
  return () => {
    sock.off('data', l.data);
    sock.off('end', l.end);
    sock.off('error', l.error);
    sock.off('close', l.close);
  };
}

/**
 * An exchange over a kept-alive net.Socket / tls.TLSSocket (HTTP keep-alive): the connection of a run whose exchange says
 * `reusable()` is parked, and the next run writes its request on it instead of connecting. While parked it
 * is watched: an orderly close, a reset or unexpected bytes from the server discard it. A reused connection
 * that fails before the first byte of the reply (closed, reset, write error: the server dropped an idle
 * connection just as we wrote) is not a verdict: the run retries once on a fresh connection within the same
 * deadline, so a dead service still fails this very probe (connection refused) and a live one passes. A
 * timeout on a reused connection is a verdict (down), and the connection is dropped. `dispose()` closes
 * the parked connection.
 */
export function netKeepAliveExchangeProbe(t: ProbeTarget, make: () => Exchange, tls?: TlsOptions): Probe {
  const tcpOpts = { host: t.address, port: t.port, localAddress: t.sourceAddress };
  const tlsOpts = tls ? { ...tcpOpts, ...tls } : undefined;
  let parked: { sock: Socket; unlisten: () => void } | undefined;
  let disposed = false;
  const drop = (sock: Socket): void => {
    if (parked?.sock === sock) {
      parked.unlisten();
      parked = undefined;
    }
    closeFast(sock);
  };
  const park = (sock: Socket): void => {
    if (disposed || sock.destroyed || !sock.writable) {
      closeFast(sock);
      return;
    }
    sock.unref();
    // anything from the server while idle ends the connection
    const gone = (): void => drop(sock);
    parked = { sock, unlisten: listen(sock, { data: gone, end: gone, error: gone, close: gone }) };
  };
  const probe: Probe = () =>
    withDeadline(t.timeoutMs, (finish) => {
      let x = make();
      let sock: Socket;
      let unlisten: () => void = () => {};
      let reused = false;
      let replied = false;
      let done = false;
      const send = (): void => {
        if (x.payload) {
          sock.write(x.payload, (err) => {
            if (err) fail(`send failed: ${describeError(err)}`);
            else x.afterSend?.(finish);
          });
        } else x.afterSend?.(finish);
      };
      // a reused connection that fails before any reply: retry once on a fresh one
      const fail = (detail: string): void => {
        if (done) return;
        if (reused && !replied) {
          unlisten();
          closeFast(sock);
          x = make();
          open(fresh(), false);
        } else finish(false, detail);
      };
      const fresh = (): Socket => (tlsOpts ? tlsConnect(tlsOpts) : tcpConnect(tcpOpts));
      const open = (s: Socket, isReused: boolean): void => {
        sock = s;
        reused = isReused;
        unlisten = listen(s, {
          data: (chunk) => {
            replied = true;
            x.onData(chunk, finish);
          },
          end: () => (reused && !replied ? fail('connection closed') : x.onEnd(finish)),
          error: (err) => fail(describeError(err)),
          close: () => fail('connection closed'),
        });
        if (isReused) {
          s.ref();
          send();
        } else s.once(tlsOpts ? 'secureConnect' : 'connect', send);
      };
      const idle = parked;
      parked = undefined;
      if (idle) {
        idle.unlisten();
        open(idle.sock, true);
      } else open(fresh(), false);
      return () => {
        done = true;
        unlisten();
        if (x.reusable?.()) park(sock);
        else closeFast(sock);
      };
    });
  probe.dispose = () => {
    disposed = true;
    if (parked) drop(parked.sock);
  };
  return probe;
}

/**
 * Closes a probe connection with a reset when it is established, so ten thousand probes a second leave no
 * TIME_WAIT behind on the router (as haproxy's health checks do); plain destroy otherwise (not connected,
 * or TLS).
 */
export function closeFast(sock: Socket): void {
  sock.on('error', () => {});
  // a TLSSocket cannot reset (resetAndDestroy throws ERR_INVALID_HANDLE_TYPE on its TLS handle, which left
  // the connection open): it is destroyed, i.e. closed with a FIN after close_notify
  if (
    !(sock instanceof TLSSocket) &&
    sock.readyState === 'open' &&
    typeof sock.resetAndDestroy === 'function'
  )
    sock.resetAndDestroy();
  else sock.destroy();
}
