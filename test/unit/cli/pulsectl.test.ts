import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../src/cli/pulsectl';
import { ControlServer } from '../../../src/daemon/control';
import type { ControlCommand } from '../../../src/daemon/protocol';
import type { StatusJson } from '../../../src/daemon/status';
import { MemoryLog } from '../../../src/lib/log';
import { capture } from './capture';

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

describe('pulsectl: arguments and offline commands', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lp-ctl-args-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const run = (...argv: string[]) => capture(main, 'pulsectl', argv);

  it('--help lists every command and exits 0', async () => {
    const r = await run('--help');
    assert.equal(r.code, 0);
    for (const c of ['status', 'takeover', 'release', 'reload', 'drain', 'enable', 'check-config', 'events'])
      assert.match(r.stdout, new RegExp(`^ {2}${c}\\b`, 'm'), c);
    assert.match(r.stdout, /^ {2}keygen /m);
    assert.match(r.stdout, /^ {2}realserver /m);
  });

  it('usage errors exit 2: no command, unknown command or option, missing or invalid arguments', async () => {
    const cases: [string[], RegExp][] = [
      [[], /Usage: pulsectl/],
      [['bogus'], /unknown command 'bogus'/],
      [['status', '--bogus'], /unknown option '--bogus'/],
      [['enable'], /missing required argument 'server'/],
      [['realserver', '--vip', '198.18.0.10'], /required option '--mode <mode>' not specified/],
      [['realserver', '--mode', 'nat', '--vip', '198.18.0.10'], /Allowed choices are dr, tun/],
      [['realserver', '--mode', 'dr'], /required option '--vip <address>' not specified/],
      [['keygen'], /missing required argument 'file'/],
    ];
    for (const [argv, why] of cases) {
      const r = await run(...argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.stderr, why, argv.join(' '));
    }
  });

  it('realserver: a bad VIP is an error (exit 1) naming it; several --vip are all planned', async () => {
    const bad = await run('realserver', '--mode', 'dr', '--vip', 'nope');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /pulsectl: realserver: --vip "nope" is not an IP address/);
    const two = await run('realserver', '--mode', 'tun', '--vip', '198.18.0.10', '--vip', '2001:2::10');
    assert.equal(two.code, 0);
    assert.match(two.stdout, /ip -4 addr add 198\.18\.0\.10\/32 dev tunl0/);
    assert.match(two.stdout, /ip -6 addr add 2001:2::10\/128 dev ip6tnl0 nodad/);
  });

  it('check-config FILE runs offline: summary and 0, or FILE:LINE:COL errors and 2', async () => {
    const good = join(dir, 'good.cf');
    writeFileSync(good, 'serial_no = 1\nprimary = 198.18.0.11\nservice = lvs\nnetwork = direct\n');
    const ok = await run('--run-dir', join(dir, 'no-daemon'), 'check-config', good);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^service lvs, serial 1/);
    const bad = join(dir, 'bad.cf');
    writeFileSync(bad, 'serial_no = 1\nprimary = 198.18.0.11\nkeepalive = soon\n');
    const ko = await run('check-config', bad);
    assert.equal(ko.code, 2);
    assert.match(ko.stderr, /bad\.cf:3:\d+: error: /);
  });

  it('keygen writes a 0600 key and refuses to overwrite without --force', async () => {
    const key = join(dir, 'hb.key');
    const r = await run('keygen', key);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(statSync(key).mode & 0o777, 0o600);
    const again = await run('keygen', key);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /pulsectl: /);
    assert.equal((await run('keygen', '--force', key)).code, 0);
  });
});
