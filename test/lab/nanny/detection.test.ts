/**
 * Detection at the shipped defaults (src/config/defaults.ts), with a NannyPool running in the router
 * namespace: a real server whose service dies (connection refused) is out within 1 s; a host that goes
 * silent (every packet dropped by nftables in the server namespace) is out within 2 s; the sorry server goes
 * in when both are out.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import * as D from '../../../src/config/defaults';
import type { LvsModel, MonitorConfig, RealServer } from '../../../src/config/model';
import { Lab } from '../../../lab/netns';
import { waitReady } from './util';
import { need } from '../../helpers/need';

const RUNNER = join(__dirname, 'runner.ts');
const LISTEN = `const s=require('node:net').createServer(c=>c.on('error',()=>{}));s.listen(Number(process.argv[2]),process.argv[1],()=>console.log('ready'))`;

function defaultsMonitor(): MonitorConfig {
  return {
    kind: 'tcp',
    useRegex: false,
    timeoutMs: D.PROBE_TIMEOUT_MS,
    intervalMs: D.PROBE_INTERVAL_MS,
    fall: D.PROBE_FALL,
    rise: D.PROBE_RISE,
    jitterMs: D.PROBE_JITTER_MS,
    quiesce: false,
    loadMonitor: { kind: 'none' },
    slowStartMs: 0,
  };
}

interface Line {
  t: number;
  type: 'weight' | 'sorry';
  rsName?: string;
  vsName: string;
  state?: string;
  weight?: number | null;
  on?: boolean;
}

describe('nanny detection at shipped defaults (lab)', function () {
  this.timeout(60000);
  let lab: Lab | undefined;
  let pool: ChildProcess | undefined;
  const lines: Line[] = [];

  before(async function () {
    if (process.getuid?.() !== 0) {
      need(this, 'needs root');
    }
    lab = await Lab.create('n');
    await lab.addNs('sw');
    await lab.addBridge('sw', 'lan');
    await lab.addNs('lb');
    await lab.connect('lb', 'eth0', 'sw', 'lan', ['198.18.1.11/24']);
    for (const [ns, addr] of [
      ['rsa', '198.18.1.21'],
      ['rsb', '198.18.1.22'],
    ] as const) {
      await lab.addNs(ns);
      await lab.connect(ns, 'eth0', 'sw', 'lan', [`${addr}/24`]);
    }
  });

  after(async () => {
    await lab?.destroy();
  });

  function waitFor(pred: (l: Line) => boolean, ms: number): Promise<Line> {
    return new Promise((resolve, reject) => {
      const found = lines.find(pred);
      if (found) return resolve(found);
      const t = setTimeout(
        () => reject(new Error(`no matching event in ${ms} ms: ${JSON.stringify(lines)}`)),
        ms,
      );
      const onData = (): void => {
        const f = lines.find(pred);
        if (f) {
          clearTimeout(t);
          pool!.stdout!.off('data', onData);
          resolve(f);
        }
      };
      pool!.stdout!.on('data', onData);
    });
  }

  it('refused: out within 1 s; silent host: out within 2 s; sorry server in', async () => {
    const L = lab!;
    const svcA = L.spawn('rsa', process.execPath, ['-e', LISTEN, '198.18.1.21', '80']);
    await waitReady(svcA, 'rsa service');
    const svcB = L.spawn('rsb', process.execPath, ['-e', LISTEN, '198.18.1.22', '80']);
    await waitReady(svcB, 'rsb service');
    const servers: RealServer[] = [
      { name: 'rsa', address: '198.18.1.21', port: 80, weight: 1, active: true },
      { name: 'rsb', address: '198.18.1.22', port: 80, weight: 1, active: true },
    ];
    const model = {
      virtualServers: [
        {
          name: 'web',
          active: true,
          vip: { address: '198.18.0.10', prefixLength: 32 },
          protocol: 'tcp',
          port: 80,
          scheduler: 'wlc',
          persistentS: 0,
          sorryServer: { address: '198.18.1.99', port: 80 },
          monitor: defaultsMonitor(),
          realServers: servers,
        },
      ],
    } as unknown as LvsModel;
    pool = L.spawn('lb', process.execPath, ['--import', 'tsx', RUNNER, 'pool', JSON.stringify(model)]);
    let buf = '';
    pool.stdout!.on('data', (d: Buffer) => {
      buf += d;
      let i = buf.indexOf('\n');
      while (i >= 0) {
        lines.push(JSON.parse(buf.slice(0, i)) as Line);
        buf = buf.slice(i + 1);
        i = buf.indexOf('\n');
      }
    });
    await waitFor((l) => l.rsName === 'rsa' && l.state === 'up', 10000);
    await waitFor((l) => l.rsName === 'rsb' && l.state === 'up', 10000);
    // run a few probe rounds while healthy, then break both at once, at a random phase of the interval
    await new Promise((r) => setTimeout(r, 1000 + Math.random() * D.PROBE_INTERVAL_MS));
    assert.equal(lines.filter((l) => l.state === 'down').length, 0, 'no false DOWN while healthy');

    const t0 = Date.now();
    if (svcA.pid) process.kill(-svcA.pid, 'SIGKILL');
    await L.exec(
      'rsb',
      'nft',
      ['-f', '-'],
      'table inet lpn {\n chain in {\n type filter hook input priority 0; policy drop;\n }\n}\n',
    );
    const downA = await waitFor((l) => l.rsName === 'rsa' && l.state === 'down', 3000);
    const downB = await waitFor((l) => l.rsName === 'rsb' && l.state === 'down', 4000);
    const sorry = await waitFor((l) => l.type === 'sorry' && l.on === true, 1000);
    const a = downA.t - t0;
    const b = downB.t - t0;
    console.log(`      refused detected in ${a} ms, silent host in ${b} ms`);
    assert.equal(downA.weight, null);
    assert.ok(a < 1000, `refused: ${a} ms`);
    assert.ok(b < 2000, `silent: ${b} ms`);
    assert.ok(sorry.t >= downB.t);

    // and back: service restarts, firewall removed → up after rise successes, sorry out
    const t1 = Date.now();
    const svcA2 = L.spawn('rsa', process.execPath, ['-e', LISTEN, '198.18.1.21', '80']);
    await waitReady(svcA2, 'rsa service again');
    await L.exec('rsb', 'nft', ['delete', 'table', 'inet', 'lpn']);
    const upA = await waitFor((l) => l.rsName === 'rsa' && l.state === 'up' && l.t > t1, 5000);
    await waitFor((l) => l.rsName === 'rsb' && l.state === 'up' && l.t > t1, 5000);
    await waitFor((l) => l.type === 'sorry' && l.on === false, 1000);
    assert.equal(upA.weight, 1);
  });
});
