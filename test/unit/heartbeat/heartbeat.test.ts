import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  Heartbeat,
  type HeartbeatIsolation,
  type HeartbeatTransition,
  keygen,
} from '../../../src/heartbeat/index.js';
import { setThreadNormal, setThreadRealtime } from '../../../src/heartbeat/sched.js';
import { MemoryLog } from '../../../src/lib/log.js';
import { standaloneModel } from '../../lab/heartbeat/run-standalone.js';
import { need } from '../../helpers/need';

/** The lab runner: one Heartbeat in a process of its own, driven over stdin/stdout. */
const RUNNER = resolve(__dirname, '../../lab/heartbeat/run-standalone.ts');

/** Two Heartbeats in one process over real UDP on loopback (127.0.0.1 / 127.0.0.2): no root needed. */
describe('Heartbeat (index.ts) over loopback UDP', function () {
  this.timeout(10_000);
  let dir: string;
  const port = 20000 + Math.floor(Math.random() * 20000);
  const started: Heartbeat[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lph-hb-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => {
    for (const h of started.splice(0)) await h.stop({ graceful: false });
  });

  const model = (keyFile?: string) =>
    standaloneModel({
      node: 'primary',
      primary: { address: '127.0.0.1' },
      backup: { address: '127.0.0.2' },
      port,
      keepaliveMs: 10,
      deadtimeMs: 60,
      ...(keyFile ? { keyFile } : {}),
    });

  /** A Heartbeat on the test model; `isolation` / `rtPriority` set where the engine runs and its priority. */
  function make(
    node: 'primary' | 'backup',
    keyFile?: string,
    o: { isolation?: HeartbeatIsolation; rtPriority?: number } = {},
  ) {
    const m = model(keyFile);
    if (o.isolation) m.heartbeat.isolation = o.isolation;
    if (o.rtPriority !== undefined) m.heartbeat.rtPriority = o.rtPriority;
    const log = new MemoryLog();
    const hb = new Heartbeat({ model: m, node, log, configHash: '0123456789abcdef' });
    const transitions: HeartbeatTransition[] = [];
    hb.on('transition', (t: HeartbeatTransition) => transitions.push(t));
    started.push(hb);
    return { hb, log, transitions };
  }

  const until = async (pred: () => boolean, ms: number) => {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error('timeout');
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  it('no key: runs unauthenticated with a loud warning; status().auth is none', async () => {
    const a = make('primary');
    const b = make('backup');
    await a.hb.start();
    await b.hb.start();
    assert.ok(a.log.records.some((r) => r.level === 'warn' && /NOT AUTHENTICATED/.test(r.msg)));
    await until(() => a.hb.status().role === 'active' && b.hb.status().role === 'standby', 2000);
    const s = b.hb.status();
    assert.equal(s.auth, 'none');
    assert.equal(s.node, 'backup');
    assert.equal(s.peer.address, '127.0.0.1');
    assert.equal(s.peer.state, 'active');
    assert.ok((s.peer.lastHeardMs.public ?? 999) < 50);
    assert.ok(s.counters.unauthenticated > 0);
    assert.equal(s.peer.configMismatch, false);
  });

  it('with a key: HMAC; graceful stop hands over at once; transitions carry reason and evidence', async () => {
    const key = join(dir, 'k');
    keygen(key);
    const a = make('primary', key);
    const b = make('backup', key);
    await a.hb.start();
    await until(() => a.hb.status().role === 'active', 1000);
    await b.hb.start();
    await until(() => b.hb.status().role === 'standby', 1000);
    assert.equal(a.hb.status().auth, 'hmac');
    assert.equal(b.hb.status().counters.unauthenticated, 0);
    const t0 = Date.now();
    await a.hb.stop({ graceful: true });
    assert.ok(Date.now() - t0 < 100, `graceful stop took ${Date.now() - t0} ms`);
    assert.equal(b.hb.status().role, 'active');
    const leave = a.transitions.at(-1)!;
    assert.deepEqual([leave.from, leave.to, leave.reason], ['active', 'stopping', 'handover']);
    const take = b.transitions.at(-1)!;
    assert.deepEqual([take.from, take.to, take.reason], ['standby', 'active', 'peer-farewell']);
    assert.match(take.evidence, /peer 127\.0\.0\.1 said farewell/);
  });

  it('setFault on the active hands over; reconfigure changes timers without a state change', async () => {
    const a = make('primary');
    const b = make('backup');
    await a.hb.start();
    await until(() => a.hb.status().role === 'active', 1000);
    await b.hb.start();
    await until(() => b.hb.status().role === 'standby', 1000);
    a.hb.setFault('lb', true, 'lb apply failed');
    await until(() => a.hb.status().role === 'fault' && b.hb.status().role === 'active', 500);
    assert.deepEqual(a.hb.status().faults, { lb: 'lb apply failed' });
    const m = model();
    m.heartbeat.keepaliveMs = 50;
    m.heartbeat.deadtimeMs = 300;
    const before = a.transitions.length;
    a.hb.reconfigure(m);
    b.hb.reconfigure(m);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(a.transitions.length, before);
    assert.equal(b.hb.status().role, 'active');
  });

  it('an event-loop stall of our own longer than deadtime is not read as peer death', async () => {
    // The active peer runs in another process and keeps sending while this process is stalled.
    const cfg = {
      node: 'primary',
      primary: { address: '127.0.0.1' },
      backup: { address: '127.0.0.2' },
      port,
      keepaliveMs: 10,
      deadtimeMs: 60,
    };
    const child = spawn(process.execPath, ['--import', 'tsx', RUNNER, JSON.stringify(cfg)], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    try {
      let outText = '';
      child.stdout.on('data', (d: Buffer) => {
        outText += d.toString();
      });
      await until(() => /"to":"active"/.test(outText), 8000);
      const b = make('backup');
      await b.hb.start();
      await until(() => b.hb.status().role === 'standby', 1000);
      await new Promise((r) => setTimeout(r, 100));
      const end = Date.now() + 250; // stall: 4 × deadtime
      while (Date.now() < end) {
        // busy: timers and sockets wait
      }
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(b.hb.status().role, 'standby', JSON.stringify(b.transitions));
      assert.equal(b.transitions.length, 1);
    } finally {
      child.kill('SIGKILL');
    }
  });

  describe('isolated engine (heartbeat.isolation = process)', () => {
    /** Runs the peer (backup) in a child process; returns its stdout text so far and a killer. */
    function peerProcess(node: 'primary' | 'backup') {
      const cfg = {
        node,
        primary: { address: '127.0.0.1' },
        backup: { address: '127.0.0.2' },
        port,
        keepaliveMs: 10,
        deadtimeMs: 60,
      };
      const child = spawn(process.execPath, ['--import', 'tsx', RUNNER, JSON.stringify(cfg)], {
        stdio: ['pipe', 'pipe', 'ignore'],
      });
      const p = { text: '', kill: () => child.kill('SIGKILL') };
      child.stdout.on('data', (d: Buffer) => {
        p.text += d.toString();
      });
      return p;
    }

    async function stallAsActive(mode: HeartbeatIsolation): Promise<string> {
      const { hb: a } = make('primary', undefined, { isolation: mode });
      await a.start();
      assert.equal(a.pid !== undefined, mode !== 'off');
      assert.equal(a.isolation, mode);
      await until(() => a.status().role === 'active', 2000);
      const peer = peerProcess('backup');
      try {
        await until(() => /"to":"standby"/.test(peer.text), 8000);
        await new Promise((r) => setTimeout(r, 100));
        const end = Date.now() + 300; // main thread stalled for 5 × deadtime
        while (Date.now() < end) {
          // busy
        }
        await new Promise((r) => setTimeout(r, 150));
        return peer.text;
      } finally {
        peer.kill();
      }
    }

    it('keeps sending keepalives while the main thread is stalled (in-thread engine cannot)', async function () {
      this.timeout(45_000);
      const isolated = await stallAsActive('process');
      assert.doesNotMatch(
        isolated,
        /"to":"active"/,
        'peer saw no silence, the heartbeat process kept sending',
      );
      for (const h of started.splice(0)) await h.stop({ graceful: false });
      const inThread = await stallAsActive('off');
      assert.match(
        inThread,
        /"reason":"peer-dead"/,
        'without isolation the stall reads as death to the peer',
      );
    });

    it('process: dying outside stop() makes the router leave active (no split brain)', async () => {
      const { hb: a, log, transitions: ts } = make('primary', undefined, { isolation: 'process' });
      await a.start();
      await until(() => a.status().role === 'active', 2000);
      process.kill(a.pid!, 'SIGKILL');
      await until(() => ts.at(-1)?.to === 'fault', 1000);
      assert.deepEqual([ts.at(-1)!.from, ts.at(-1)!.reason], ['active', 'worker-exit']);
      assert.equal(a.status().role, 'fault');
      assert.ok(log.records.some((r) => /heartbeat process exited \(signal SIGKILL\)/.test(r.msg)));
    });

    it('process: status, events, takeover/release and graceful stop cross the boundary', async function () {
      this.timeout(30_000);
      const { hb: a, log, transitions: ts } = make('primary', undefined, { isolation: 'process' });
      await a.start();
      assert.ok(
        log.records.some((r) => /NOT AUTHENTICATED/.test(r.msg)),
        'the isolated engine logs reach the main log',
      );
      await until(() => ts.some((t) => t.to === 'active'), 2000);
      const b = make('backup');
      await b.hb.start();
      await until(() => b.hb.status().role === 'standby', 2000);
      a.requestRelease();
      await until(() => b.hb.status().role === 'active' && a.status().role === 'standby', 1000);
      assert.equal(ts.at(-1)!.reason, 'handover');
      assert.ok((a.status().peer.lastHeardMs.public ?? 999) < 200);
      b.hb.requestRelease();
      await until(() => a.status().role === 'active', 1000);
      const t0 = Date.now();
      await a.stop({ graceful: true });
      assert.ok(Date.now() - t0 < 1000);
      assert.equal(b.hb.status().role, 'active');
    });

    it('process: the heartbeat process dies with the daemon (no orphan keeps the pair fooled)', async function () {
      this.timeout(30_000);
      const cfg = {
        node: 'primary',
        primary: { address: '127.0.0.1' },
        backup: { address: '127.0.0.2' },
        port,
        isolation: 'process',
      };
      const daemon = spawn(process.execPath, ['--import', 'tsx', RUNNER, JSON.stringify(cfg)], {
        stdio: ['pipe', 'pipe', 'ignore'],
      });
      let out = '';
      daemon.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      try {
        await until(() => /"ev":"ready"/.test(out), 15_000);
        const kids = childrenOf(daemon.pid!);
        assert.equal(kids.length, 1, `one heartbeat process under the daemon: ${JSON.stringify(kids)}`);
        daemon.kill('SIGKILL');
        await until(() => !existsSync(`/proc/${kids[0]}`) || /^Z/.test(procState(kids[0]!)), 2000);
      } finally {
        daemon.kill('SIGKILL');
      }
    });
  });

  /** The fields of a /proc stat file after the command name (field 3, the state, first). */
  function statFields(path: string): string[] {
    const stat = readFileSync(path, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  }

  function needsRoot(ctx: Mocha.Context): void {
    if (process.getuid?.() !== 0) {
      need(ctx, 'needs root (CAP_SYS_NICE)');
    }
  }

  /** Pids whose parent is `pid` (from /proc/PID/stat). */
  function childrenOf(pid: number): number[] {
    const out: number[] = [];
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        if (Number(statFields(`/proc/${d}/stat`)[1]) === pid) out.push(Number(d));
      } catch {
        /* gone */
      }
    }
    return out;
  }

  function procState(pid: number): string {
    try {
      return statFields(`/proc/${pid}/stat`)[0]!;
    } catch {
      return 'gone';
    }
  }

  /** Scheduling policy (field 41 of /proc/PID/task/TID/stat) of every thread of a process. */
  const policies = (pid: number | 'self' = 'self') =>
    readdirSync(`/proc/${pid}/task`).map((tid) => {
      const fields = statFields(`/proc/${pid}/task/${tid}/stat`);
      return { tid: Number(tid), policy: Number(fields[41 - 3]) };
    });

  it('rtPriority in process mode: the heartbeat process runs SCHED_RR, no thread of the daemon does', async function () {
    needsRoot(this);
    const { hb: a, log } = make('primary', undefined, { isolation: 'process', rtPriority: 5 });
    await a.start();
    await until(() => log.records.some((r) => /SCHED_RR priority 5/.test(r.msg)), 2000);
    const pid = a.pid!;
    assert.deepEqual(
      policies().filter((p) => p.policy === 2),
      [],
      'the daemon stays SCHED_OTHER',
    );
    assert.ok(
      policies(pid).some((p) => p.tid === pid && p.policy === 2),
      JSON.stringify(policies(pid)),
    );
    await until(() => log.records.some((r) => /all \d+ threads SCHED_RR priority 5/.test(r.msg)), 2000);
    const child = policies(pid);
    assert.ok(child.length > 1, 'V8 helper threads exist');
    assert.deepEqual(
      child.filter((p) => p.policy !== 2),
      [],
      'every thread of the heartbeat process is SCHED_RR (its V8 helpers share locks with it)',
    );
  });

  it('a daemon started real-time (chrt, CPUSchedulingPolicy=) is warned that its probes compete with the heartbeat', async function () {
    needsRoot(this);
    assert.ok(setThreadRealtime(3).ok);
    try {
      const { hb: a, log } = make('primary', undefined, { isolation: 'process' });
      await a.start();
      assert.ok(log.records.some((r) => r.level === 'warn' && /daemon itself runs real-time/.test(r.msg)));
    } finally {
      assert.ok(setThreadNormal());
    }
    const { hb: b, log: log2 } = make('backup', undefined, { isolation: 'process' });
    await b.start();
    assert.ok(
      !log2.records.some((r) => /daemon itself runs real-time/.test(r.msg)),
      'no warning when SCHED_OTHER',
    );
  });
});
