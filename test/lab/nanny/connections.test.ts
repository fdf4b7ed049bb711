/**
 * How probe connections end and are reused, against real servers in lab namespaces: a prober namespace
 * (`lb`, 198.18.1.11) and a server namespace (`srv`, 198.18.1.21) on one veth pair. The server counts
 * connections and whether each ended with a reset or a FIN (conn-server.ts); the prober keeps its probes
 * across commands (conn-runner.ts), on both rungs of the transport ladder: the probe-socket engine
 * (epoll) and net/tls sockets (`LVS_PULSE_NANNY_NO_EPOLL=1`).
 */
import { monitorConfig } from '../../../src/config/build';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { MonitorConfig } from '../../../src/config/model';
import { Lab } from '../../../lab/netns';
import type { ProbeResult } from '../../../src/nanny/types';
import type { ProbeSpec } from './runner';
import { waitReady } from './util';
import { need } from '../../helpers/need';

const SRV = '198.18.1.21';
const SRV6 = '2001:db8:1::21';

/** A child speaking one JSON line per command. */
class Session {
  private buf = '';
  private waiters: ((line: string) => void)[] = [];
  private lines: string[] = [];
  constructor(private readonly child: ChildProcess) {
    child.stdout!.on('data', (d: Buffer) => {
      this.buf += d;
      for (let i = this.buf.indexOf('\n'); i >= 0; i = this.buf.indexOf('\n')) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        if (line === 'ready') continue;
        const w = this.waiters.shift();
        if (w) w(line);
        else this.lines.push(line);
      }
    });
  }
  ask<T>(cmd: string): Promise<T> {
    this.child.stdin!.write(`${cmd}\n`);
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(JSON.parse(l) as T);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no answer to ${cmd}`)), 10000);
      this.waiters.push((line) => {
        clearTimeout(t);
        resolve(JSON.parse(line) as T);
      });
    });
  }
}

interface PortStats {
  conns: number;
  ends: { reset: number; fin: number };
}
type Stats = Record<'8080' | '8081', PortStats>;

function spec(
  kind: MonitorConfig['kind'],
  port: number,
  over: Partial<MonitorConfig> = {},
  address = SRV,
): ProbeSpec {
  return {
    id: '',
    monitor: monitorConfig({ kind, timeoutMs: 400, ...over }),
    rs: { name: `c${port}`, address, port, weight: 1, active: true },
  };
}
const keepAlive = (path = '/'): Partial<MonitorConfig> => ({
  http: { path, status: [], insecure: false, keepAlive: true },
});

describe('nanny probe connections: reset close, HTTP keep-alive (lab)', function () {
  this.timeout(60000);
  let lab: Lab | undefined;
  let server: Session;
  let server6: Session;
  type Path = 'epoll' | 'net';
  const probers = {} as Record<Path, Session>;

  before(async function () {
    if (process.getuid?.() !== 0) {
      need(this, 'needs root');
    }
    lab = await Lab.create('lpn6');
    await lab.addNs('lb');
    await lab.addNs('srv');
    await lab.exec('lb', 'ip', ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'lpn6srv']);
    await lab.exec('lb', 'ip', ['link', 'set', 'lpn6srv', 'netns', lab.nsName('srv')]);
    await lab.exec('srv', 'ip', ['link', 'set', 'lpn6srv', 'name', 'eth0']);
    await lab.exec('lb', 'ip', ['addr', 'add', '198.18.1.11/24', 'dev', 'eth0']);
    await lab.exec('srv', 'ip', ['addr', 'add', `${SRV}/24`, 'dev', 'eth0']);
    await lab.exec('lb', 'ip', ['link', 'set', 'eth0', 'up']);
    await lab.exec('srv', 'ip', ['link', 'set', 'eth0', 'up']);
    await lab.exec('lb', 'ip', ['-6', 'addr', 'add', '2001:db8:1::11/64', 'dev', 'eth0', 'nodad']);
    await lab.exec('srv', 'ip', ['-6', 'addr', 'add', `${SRV6}/64`, 'dev', 'eth0', 'nodad']);
    const tsx = (file: string, env: NodeJS.ProcessEnv = {}, args: string[] = []) =>
      lab!.spawn(
        file.includes('server') ? 'srv' : 'lb',
        process.execPath,
        ['--import', 'tsx', file, ...args],
        {
          env: { ...process.env, ...env },
          stdio: ['pipe', 'pipe', 'pipe'],
        },
      );
    const srv = tsx(join(__dirname, 'conn-server.ts'));
    const epoll = tsx(join(__dirname, 'conn-runner.ts'));
    const net = tsx(join(__dirname, 'conn-runner.ts'), { LVS_PULSE_NANNY_NO_EPOLL: '1' });
    const srv6 = tsx(join(__dirname, 'conn-server.ts'), {}, [SRV6]);
    server = new Session(srv);
    server6 = new Session(srv6);
    probers.epoll = new Session(epoll);
    probers.net = new Session(net);
    await Promise.all([
      waitReady(srv, 'conn server'),
      waitReady(srv6, 'conn server (IPv6)'),
      waitReady(epoll, 'epoll runner'),
      waitReady(net, 'net runner'),
    ]);
  });

  after(async () => {
    await lab?.destroy();
  });

  const probe = (p: Session, id: string, s: ProbeSpec) =>
    p.ask<ProbeResult>(JSON.stringify({ op: 'probe', id, spec: { ...s, id } }));
  const stats = async (): Promise<Stats> => {
    await new Promise((r) => setTimeout(r, 150)); // let the server see the last close
    return server.ask<Stats>('stats');
  };

  for (const path of ['epoll', 'net'] as const) {
    const held = path === 'epoll'; // the handshake's ACK is held
    it(`${path} path: tcp, send/expect and HTTP probes close with a reset and leave no TIME-WAIT${held ? '; tcp is half-open' : ''}`, async () => {
      const p = probers[path];
      await stats();
      const kinds: [string, ProbeSpec][] = [
        ['tcp', spec('tcp', 8081)],
        ['se', spec('send_expect', 8081, { send: 'GET / HTTP/1.0\r\n\r\n', expect: 'HTTP/1.0 200' })],
        ['http', spec('http', 8081)],
      ];
      for (const [id, s] of kinds) {
        for (let i = 0; i < 3; i++) {
          const r = await probe(p, `${path}-rst-${id}`, s);
          assert.equal(r.ok, true, `${id}: ${JSON.stringify(r)}`);
        }
      }
      const st = await stats();
      // a held-ACK connect probe never completes the handshake: the server accepts only the other 6
      const n = held ? 6 : 9;
      assert.deepEqual(st['8081'], { conns: n, ends: { reset: n, fin: 0 } });
      assert.equal((await p.ask<{ timeWait: number }>('{"op":"timewait"}')).timeWait, 0);
    });

    it(`${path} path: segments sent per probe and connections accepted (${held ? "the handshake's ACK held: never sent for tcp, riding on the request otherwise" : 'net.Socket cannot hold the ACK'})`, async () => {
      const p = probers[path];
      const segs = async () => (await p.ask<{ outSegs: number }>('{"op":"segs"}')).outSegs;
      // per probe: segments sent, and connections the server accepted
      const perProbe = async (id: string, s: ProbeSpec): Promise<[number, number]> => {
        await stats();
        const before = await segs();
        for (let i = 0; i < 3; i++) assert.equal((await probe(p, `${path}-segs-${id}`, s)).ok, true, id);
        const sent = ((await segs()) - before) / 3;
        return [sent, (await stats())['8081'].conns / 3];
      };
      const tcp = await perProbe('tcp', spec('tcp', 8081));
      const full = await perProbe('full', spec('tcp', 8081, { tcpFullHandshake: true }));
      const se = await perProbe(
        'se',
        spec('send_expect', 8081, { send: 'GET / HTTP/1.0\r\n\r\n', expect: 'HTTP/1.0 200' }),
      );
      if (held) {
        // SYN, RST (never accepted) | SYN, ACK, RST | SYN, request with the ACK, RST
        assert.deepEqual({ tcp, full, se }, { tcp: [2, 0], full: [3, 1], se: [3, 1] });
      } else {
        // without the held ACK (net.Socket): every probe sends SYN, ACK, … and is accepted
        assert.deepEqual({ tcp, full }, { tcp: [3, 1], full: [3, 1] });
        assert.ok(se[0] >= 4 && se[1] === 1, `send/expect ${se}`);
      }
    });

    it(`${path} path: HTTP keep-alive reuses one connection; a server-side close or a dead service is seen`, async () => {
      const p = probers[path];
      const id = `${path}-ka`;
      const s = spec('http', 8080, keepAlive());
      await stats();
      for (let i = 0; i < 4; i++) assert.equal((await probe(p, id, s)).ok, true);
      assert.equal((await stats())['8080'].conns, 1, 'four probes, one connection');

      // the server drops the idle connection (its keep-alive timeout): the next probe reconnects and passes
      await server.ask('kill-idle');
      await new Promise((r) => setTimeout(r, 100));
      const afterIdle = await probe(p, id, s);
      assert.equal(afterIdle.ok, true, JSON.stringify(afterIdle));
      assert.equal((await stats())['8080'].conns, 1, 'one new connection');

      // the service dies: the very next probe fails (refused), never passes on a stale connection
      await server.ask('stop');
      const dead = await probe(p, id, s);
      assert.equal(dead.ok, false);
      assert.match(dead.detail, /connection refused/);
      await server.ask('start');
      assert.equal((await probe(p, id, s)).ok, true);

      // a hung service on a reused connection: timeout = down, and the next probe starts afresh
      await stats();
      await server.ask('hang');
      const hung = await probe(p, id, s);
      assert.equal(hung.ok, false);
      assert.match(hung.detail, /timeout after 400 ms/);
      await server.ask('unhang');
      assert.equal((await probe(p, id, s)).ok, true);
      const st = await stats();
      assert.equal(st['8080'].conns, 1, 'a fresh connection after the timeout');
      assert.equal(st['8080'].ends.reset, 1, 'the timed-out connection was reset');

      // dispose closes the parked connection
      await p.ask(JSON.stringify({ op: 'dispose', id }));
      assert.deepEqual((await stats())['8080'], { conns: 0, ends: { reset: 1, fin: 0 } });
    });

    it(`${path} path: no reuse when the server answers Connection: close, or keep-alive is off`, async () => {
      const p = probers[path];
      await stats();
      for (let i = 0; i < 3; i++)
        assert.equal((await probe(p, `${path}-close`, spec('http', 8080, keepAlive('/close')))).ok, true);
      for (let i = 0; i < 3; i++)
        assert.equal((await probe(p, `${path}-nokeep`, spec('http', 8080))).ok, true);
      assert.equal((await stats())['8080'].conns, 6);
    });
  }

  it('epoll path: one socket per real server, kept between probes; dispose closes it', async () => {
    const p = probers.epoll;
    const sockets = async () => (await p.ask<{ sockets: number }>('{"op":"sockets"}')).sockets;
    const before = await sockets();
    const se = spec('send_expect', 8081, { send: 'GET / HTTP/1.0\r\n\r\n', expect: 'HTTP/1.0 200' });
    for (let i = 0; i < 5; i++) {
      assert.equal((await probe(p, 'keep-tcp', spec('tcp', 8081))).ok, true);
      assert.equal((await probe(p, 'keep-se', se)).ok, true);
      // a failure in between leaves the socket usable: refused, then up again on the same socket
      const refused = await probe(p, 'keep-refused', spec('tcp', 8089));
      assert.equal(refused.ok, false);
      assert.match(refused.detail, /connection refused/);
    }
    assert.equal(await sockets(), before + 3, 'three real servers, three sockets, whatever the probe count');
    for (const id of ['keep-tcp', 'keep-se', 'keep-refused'])
      await p.ask(JSON.stringify({ op: 'dispose', id }));
    assert.equal(await sockets(), before);
  });

  for (const path of ['epoll'] as const)
    it(`IPv6, ${path} path: half-open tcp, full handshake and send/expect (the held-ACK socket is AF_INET6)`, async () => {
      const p = probers[path];
      const s6 = () => server6.ask<Stats>('stats');
      await s6();
      const kinds: [string, ProbeSpec, number][] = [
        ['tcp', spec('tcp', 8081, {}, SRV6), 0],
        ['full', spec('tcp', 8081, { tcpFullHandshake: true }, SRV6), 3],
        ['se', spec('send_expect', 8081, { send: 'x\r\n', expect: 'HTTP/1.0 200' }, SRV6), 3],
      ];
      for (const [id, s, accepted] of kinds) {
        for (let i = 0; i < 3; i++) {
          const r = await probe(p, `v6-${path}-${id}`, s);
          assert.equal(r.ok, true, `${id}: ${JSON.stringify(r)}`);
        }
        await new Promise((r) => setTimeout(r, 150));
        assert.deepEqual((await s6())['8081'], { conns: accepted, ends: { reset: accepted, fin: 0 } }, id);
      }
      const refused = await probe(p, `v6-refused-${path}`, spec('tcp', 8089, {}, SRV6));
      assert.equal(refused.ok, false);
      assert.match(refused.detail, /connection refused/);
    });
});
