/**
 * Builds the probe for one real server from its virtual's monitor config. Each probe kind is an I/O edge of
 * its own file; tcp, send/expect and HTTP run on the transport ladder (transport.ts: the engine, else
 * net/tls). This file only chooses and configures.
 */
import type { MonitorConfig, Protocol, RealServer } from '../../config/model';
import type { Probe, ProbeTarget } from './exchange';
import { dnsProbe } from './dns';
import { httpProbe } from './http';
import { noneProbe } from './none';
import { programProbe } from './program';
import { sendExpectProbe, tcpConnectProbe } from './tcp';
import { udpProbe } from './udp';

export { describeError, replyMatcher } from './common';
export type { EngineStatus } from './epoll';
export type { Exchange, Probe, ProbeResult, ProbeTarget, Transport } from './exchange';
export { dnsProbe } from './dns';
export { httpProbe } from './http';
export { noneProbe } from './none';
export { chopNewline, programArgv, programProbe } from './program';
export { sendExpectProbe, tcpConnectProbe } from './tcp';
export { engineStatus } from './transport';
export { udpProbe } from './udp';

/**
 * The probe for `rs` under `monitor`. For a UDP virtual, `tcp` and `send_expect` become the UDP probe.
 * Throws (an Error saying which server and why) on a config the probe cannot run, e.g. a bad regex.
 */
export function createProbe(monitor: MonitorConfig, rs: RealServer, protocol: Protocol): Probe {
  const t: ProbeTarget = { address: rs.address, port: rs.port, timeoutMs: monitor.timeoutMs };
  if (monitor.sourceAddress) t.sourceAddress = monitor.sourceAddress;
  const se = { send: monitor.send, expect: monitor.expect, useRegex: monitor.useRegex };
  try {
    switch (monitor.kind) {
      case 'none':
        return noneProbe();
      case 'tcp':
        return protocol === 'udp'
          ? udpProbe(t, se)
          : tcpConnectProbe(t, { fullHandshake: monitor.tcpFullHandshake });
      case 'send_expect':
        return protocol === 'udp' ? udpProbe(t, se) : sendExpectProbe(t, se);
      case 'udp':
        return udpProbe(t, se);
      case 'program':
        if (!monitor.sendProgram) throw new Error('probe kind program needs send_program');
        return programProbe(t, {
          command: monitor.sendProgram,
          expect: monitor.expect,
          exitCodeFeedback: monitor.feedback?.kind === 'exit-code',
        });
      case 'http':
      case 'https': {
        const h = monitor.http ?? { path: '/', status: [], insecure: false };
        return httpProbe(t, {
          tls: monitor.kind === 'https',
          path: h.path,
          status: h.status,
          bodyRegex: h.bodyRegex,
          host: h.host,
          sni: h.sni,
          insecure: h.insecure,
          weightHeader: monitor.feedback?.kind === 'header' ? monitor.feedback.name : undefined,
          keepAlive: h.keepAlive ?? false,
        });
      }
      case 'dns':
        if (!monitor.dns) throw new Error('probe kind dns needs a query name and type');
        return dnsProbe(t, monitor.dns);
      default: {
        const k: never = monitor.kind;
        throw new Error(`unknown probe kind ${String(k)}`);
      }
    }
  } catch (err) {
    throw new Error(`nanny ${rs.name} ${rs.address}:${rs.port}: ${(err as Error).message}`);
  }
}
