import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { serialize } from 'node:v8';
import {
  baseModel,
  heartbeatConfig,
  realServerConfig,
  virtualServerConfig,
} from '../../../src/config/build.js';
import type { LvsModel } from '../../../src/config/model.js';
import {
  Heartbeat,
  type HeartbeatSettings,
  type HeartbeatTransition,
  heartbeatSettings,
} from '../../../src/heartbeat/index.js';
import type { HeartbeatEvent } from '../../../src/heartbeat/ipc.js';
import { idleStatus } from '../../../src/heartbeat/status.js';
import type { ForkFn } from '../../../src/heartbeat/supervisor.js';
import { MemoryLog } from '../../../src/lib/log.js';

/** A stand-in for the heartbeat process: records what the daemon sends, replies as the child would. */
class FakeChild extends EventEmitter {
  readonly sent: unknown[] = [];
  readonly pid = 4242;
  connected = true;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  forkedWith: { file: string; execArgv: string[]; env: NodeJS.ProcessEnv } | undefined;

  send(m: unknown): boolean {
    this.sent.push(m);
    const init = (m as { init?: HeartbeatSettings }).init;
    if (init)
      setImmediate(() =>
        this.reply({ ev: 'started', status: { ...idleStatus(init.node), role: 'standby' } }),
      );
    if ((m as { cmd?: string }).cmd === 'stop') setImmediate(() => this.exit(0, null));
    return true;
  }

  reply(e: HeartbeatEvent): void {
    this.emit('message', e);
  }

  exit(code: number | null, signal: NodeJS.Signals | null): void {
    this.connected = false;
    this.exitCode = code;
    this.signalCode = signal;
    this.emit('exit', code, signal);
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    setImmediate(() => this.exit(null, signal));
    return true;
  }
}

function fakeFork(): { fork: ForkFn; child: () => FakeChild } {
  let c: FakeChild | undefined;
  return {
    fork: (file, _args, options) => {
      c = new FakeChild();
      c.forkedWith = { file, execArgv: options.execArgv ?? [], env: options.env ?? {} };
      return c as unknown as ChildProcess;
    },
    child: () => c!,
  };
}

/** A pair model whose primary carries `virtuals` × `servers` real servers. */
function model(servers: number, virtuals = 1, keepaliveMs = 20): LvsModel {
  return baseModel({
    primary: { address: '198.18.0.11', priority: 200 },
    backup: { address: '198.18.0.12', priority: 100 },
    backupActive: true,
    heartbeat: heartbeatConfig({ keepaliveMs, deadtimeMs: 100, isolation: 'process' }),
    virtualServers: Array.from({ length: virtuals }, (_, v) =>
      virtualServerConfig(`vs${v}`, `198.18.0.${100 + v}`, {
        realServers: Array.from({ length: servers }, (_, i) =>
          realServerConfig(`rs${i}`, `198.19.${Math.floor(i / 250)}.${(i % 250) + 1}`),
        ),
      }),
    ),
  });
}

async function started(m: LvsModel) {
  const f = fakeFork();
  const log = new MemoryLog();
  const hb = new Heartbeat({ model: m, node: 'primary', log, configHash: 'feedfacefeedface', fork: f.fork });
  const transitions: HeartbeatTransition[] = [];
  hb.on('transition', (t: HeartbeatTransition) => transitions.push(t));
  await hb.start();
  return { hb, log, child: f.child(), transitions };
}

describe('heartbeat supervisor (supervisor.ts) with a fake heartbeat process', () => {
  it('forks child.ts with the V8 flags and the daemon pid; sends the settings and nothing else', async () => {
    const m = model(3);
    const { hb, child } = await started(m);
    assert.match(child.forkedWith!.file, /heartbeat[/\\]child\.(ts|js)$/);
    assert.ok(child.forkedWith!.execArgv.includes('--single-threaded-gc'));
    assert.equal(child.forkedWith!.env.LVS_PULSE_HB_CHILD, String(process.pid));
    assert.deepEqual(child.sent, [{ init: heartbeatSettings(m, 'primary', 'feedfacefeedface') }]);
    assert.equal(hb.pid, 4242);
    assert.equal(hb.status().role, 'standby', 'the snapshot from the heartbeat process');
  });

  it('start and reload messages do not grow with the real servers (1 vs 20 × 1,000)', async () => {
    const a = await started(model(1));
    const b = await started(model(1000, 20));
    a.hb.reconfigure(model(1, 1, 50));
    b.hb.reconfigure(model(1000, 20, 50));
    assert.equal(a.child.sent.length, 2);
    assert.equal(b.child.sent.length, 2);
    for (const i of [0, 1]) {
      assert.equal(serialize(b.child.sent[i]).length, serialize(a.child.sent[i]).length, `message ${i}`);
      assert.doesNotMatch(JSON.stringify(b.child.sent[i]), /198\.19\.|realServers|virtualServers/);
    }
    const reload = b.child.sent[1] as { cmd: string; settings: HeartbeatSettings };
    assert.equal(reload.cmd, 'reconfigure');
    assert.equal(reload.settings.keepaliveMs, 50);
    assert.deepEqual(Object.keys(reload), ['cmd', 'settings']);
  });

  it('commands cross as ipc.ts messages; a new config hash reaches the next reload too', async () => {
    const { hb, child } = await started(model(1));
    hb.requestTakeover();
    hb.requestRelease();
    hb.setFault('lb', true, 'apply failed');
    hb.setConfigHash('0123456789abcdef');
    hb.reconfigure(model(1));
    assert.deepEqual(child.sent.slice(1, 5), [
      { cmd: 'takeover' },
      { cmd: 'release' },
      { cmd: 'fault', source: 'lb', on: true, detail: 'apply failed' },
      { cmd: 'config-hash', hash: '0123456789abcdef' },
    ]);
    assert.equal((child.sent[5] as { settings: HeartbeatSettings }).settings.configHash, '0123456789abcdef');
  });

  it('relays events and log records; a reload without this router is refused, not sent', async () => {
    const { hb, child, log, transitions } = await started(model(1));
    const t: HeartbeatTransition = { from: 'standby', to: 'active', reason: 'peer-dead', evidence: 'silent' };
    child.reply({ ev: 'transition', t, status: { ...idleStatus('primary'), role: 'active' } });
    child.reply({ ev: 'log', level: 'warn', msg: 'from the child', fields: { op: 'x' } });
    assert.deepEqual(transitions, [t]);
    assert.equal(hb.status().role, 'active');
    assert.ok(
      log.records.some((r) => r.level === 'warn' && r.msg === 'from the child' && r.fields.op === 'x'),
    );
    const f = fakeFork();
    const hb2 = new Heartbeat({ model: model(1), node: 'backup', log, configHash: 'h', fork: f.fork });
    await hb2.start();
    hb2.reconfigure(baseModel());
    assert.ok(log.records.some((r) => r.level === 'error' && /heartbeat not reconfigured/.test(r.msg)));
    assert.equal(f.child().sent.length, 1, 'only the init');
  });

  it('a death outside stop() leaves active at once (reason worker-exit); a stop does not', async () => {
    const a = await started(model(1));
    a.child.reply({
      ev: 'transition',
      t: { from: 'standby', to: 'active', reason: 'peer-dead', evidence: '' },
      status: { ...idleStatus('primary'), role: 'active' },
    });
    a.child.exit(null, 'SIGKILL');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(
      [a.transitions.at(-1)!.from, a.transitions.at(-1)!.to, a.transitions.at(-1)!.reason],
      ['active', 'fault', 'worker-exit'],
    );
    assert.equal(a.hb.status().role, 'fault');
    assert.ok(a.log.records.some((r) => /heartbeat process exited \(signal SIGKILL\)/.test(r.msg)));

    const b = await started(model(1));
    await b.hb.stop({ graceful: true });
    assert.deepEqual(b.child.sent.at(-1), { cmd: 'stop', graceful: true });
    assert.deepEqual(b.transitions, []);
  });

  it('start rejects when the heartbeat process reports an error', async () => {
    const fork: ForkFn = () => {
      const c = new FakeChild();
      c.send = (m: unknown) => {
        if ((m as { init?: unknown }).init)
          setImmediate(() => c.reply({ ev: 'error', msg: 'EADDRINUSE 198.18.0.11:539' }));
        return true;
      };
      return c as unknown as ChildProcess;
    };
    const hb = new Heartbeat({
      model: model(1),
      node: 'primary',
      log: new MemoryLog(),
      configHash: 'h',
      fork,
    });
    await assert.rejects(hb.start(), /EADDRINUSE/);
  });
});
