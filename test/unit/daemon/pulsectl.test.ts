import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../src/cli/pulsectl';
import { ControlServer } from '../../../src/daemon/control';
import type { ControlCommand } from '../../../src/daemon/protocol';
import type { StatusJson } from '../../../src/daemon/status';
import { MemoryLog } from '../../../src/lib/log';

const STATUS: StatusJson = {
  schema: 1,
  role: 'active',
  node: 'primary',
  since: '2026-11-25T10:00:00.000Z',
  config: { path: '/etc/lvs-pulse/lvs.cf', hash: 'abc', loaded_at: '2026-11-25T10:00:00.000Z' },
  auth: 'none',
  warnings: ['heartbeats are NOT authenticated'],
  peer: {
    address: '198.18.0.12',
    state: 'standby',
    last_heard_ms: { public: 12, private: null },
    config_mismatch: false,
  },
  vips: [{ address: '198.18.0.10', prefix: 32, device: 'eth0', present: true }],
  lb: { backend: 'nftables', apply_errors: 0, foreign_entries: 0 },
  heartbeat: { sent: 10, received: 9, rejected: {}, keepalive_late_max_ms: 1.5, faults: {} },
  transitions: [
    {
      at: '2026-11-25T10:00:00.000Z',
      from: 'standby',
      to: 'active',
      reason: 'peer-dead',
      evidence: 'peer silent for 101 ms',
    },
  ],
  virtual_servers: [
    {
      name: 'web',
      address: '198.18.0.10',
      port: 80,
      protocol: 'tcp',
      scheduler: 'wrr',
      persistent: 0,
      sorry_server_in: false,
      real_servers: [
        {
          name: 'rs1',
          address: '198.18.1.21',
          port: 80,
          weight: 3,
          configured_weight: 3,
          state: 'up',
          forwarding: 'nat',
          last_probe: { ok: true, detail: 'connected', ms: 1.2, at: '2026-11-25T10:00:01.000Z' },
        },
        {
          name: 'rs2',
          address: '198.18.1.22',
          port: 80,
          weight: 0,
          configured_weight: 1,
          state: 'drained',
          forwarding: 'nat',
        },
      ],
    },
  ],
};

describe('pulsectl against a control socket', () => {
  let dir: string;
  let server: ControlServer;
  const got: ControlCommand[] = [];
  let out: string[];
  let err: string[];
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lp-ctl-'));
    server = new ControlServer(
      dir,
      {
        async handle(c) {
          got.push(c);
          if (c.cmd === 'status') return STATUS;
          if (c.cmd === 'drain' && c.server === 'nope') throw new Error('no real server matches "nope"');
          return { ok: true };
        },
        subscribe: () => () => {},
      },
      new MemoryLog(),
    );
    await server.listen();
    out = [];
    err = [];
  });
  afterEach(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  /** Runs pulsectl with stdout/stderr captured (only while it runs, so the test reporter is untouched). */
  async function capture(argv: string[]): Promise<number> {
    const o = process.stdout.write;
    const e = process.stderr.write;
    process.stdout.write = ((s: string) => out.push(String(s)) > 0) as typeof process.stdout.write;
    process.stderr.write = ((s: string) => err.push(String(s)) > 0) as typeof process.stderr.write;
    try {
      return await main(argv);
    } finally {
      process.stdout.write = o;
      process.stderr.write = e;
    }
  }
  const run = (...args: string[]) => capture(['node', 'pulsectl', '--run-dir', dir, ...args]);

  it('status prints role, peer, VIPs and the table like ipvsadm -Ln', async () => {
    assert.equal(await run('status'), 0);
    const text = out.join('');
    assert.match(text, /^Role: active \(primary\)/);
    assert.match(text, /Auth: NONE — heartbeats are unauthenticated/);
    assert.match(text, /Peer: 198\.18\.0\.12 standby; heard public 12 ms ago, private never/);
    assert.match(text, /TCP {2}198\.18\.0\.10:80 wrr/);
    assert.match(text, /-> 198\.18\.1\.21:80 +Masq +3 +up +ok connected \(1\.2 ms\)/);
    assert.match(text, /-> 198\.18\.1\.22:80 +Masq +0 +drained/);
    assert.match(text, /standby -> active: peer silent for 101 ms/);
  });

  it('status --json is the daemon schema verbatim', async () => {
    assert.equal(await run('status', '--json'), 0);
    assert.deepEqual(JSON.parse(out.join('')), STATUS);
  });

  it('drain sends the selector; a daemon error is printed and exits 1', async () => {
    assert.equal(await run('drain', 'web/rs1'), 0);
    assert.deepEqual(got.at(-1), { cmd: 'drain', server: 'web/rs1' });
    assert.equal(await run('drain', 'nope'), 1);
    assert.match(err.join(''), /pulsectl: no real server matches "nope"/);
  });

  it('usage errors exit 2; a missing daemon is a clear error', async () => {
    assert.equal(await run('drain'), 2);
    assert.equal(await capture(['node', 'pulsectl', '--run-dir', join(dir, 'none'), 'status']), 1);
    assert.match(err.join(''), /cannot talk to the daemon at .*pulse\.sock/);
  });

  it('realserver prints the DR plan without applying it', async () => {
    assert.equal(await run('realserver', '--mode', 'dr', '--vip', '198.18.0.10'), 0);
    const text = out.join('');
    assert.match(text, /sysctl -w net\.ipv4\.conf\.all\.arp_ignore=1/);
    assert.match(text, /198\.18\.0\.10/);
  });
});
