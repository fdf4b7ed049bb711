import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatNotify, startWatchdog, systemdNotifier } from '../../../src/daemon/sdnotify';

/** A fake NOTIFY_SOCKET: a unix datagram listener (python3) printing each datagram on a line. */
function listener(path: string) {
  const py = spawn('python3', [
    '-u',
    '-c',
    'import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint("ready")\nwhile True:\n  print(s.recv(4096).decode().replace("\\n","|"))',
    path,
  ]);
  const lines: string[] = [];
  let buf = '';
  py.stdout.on('data', (c: Buffer) => {
    buf += c.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
  });
  const until = async (pred: () => boolean, ms = 5000) => {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`timeout; got ${JSON.stringify(lines)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { py, lines, until };
}

describe('sd_notify', function () {
  this.timeout(15000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lp-sd-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('formats KEY=value lines', () => {
    assert.equal(formatNotify({ READY: 1, STATUS: 'role active\nx' }), 'READY=1\nSTATUS=role active x');
  });

  it('is a no-op without NOTIFY_SOCKET', () => {
    assert.equal(systemdNotifier({}).notify({ READY: 1 }), false);
  });

  it('delivers READY, STATUS and WATCHDOG pings to the socket', async () => {
    const path = join(dir, 'notify');
    const l = listener(path);
    await l.until(() => l.lines.includes('ready'));
    const n = systemdNotifier({ NOTIFY_SOCKET: path, WATCHDOG_USEC: '200000' });
    assert.equal(n.watchdogMs, 200);
    assert.equal(n.notify({ READY: 1, STATUS: 'active' }), true);
    const stop = startWatchdog(n);
    await l.until(() => l.lines.filter((x) => x === 'WATCHDOG=1').length >= 2);
    stop();
    n.close();
    l.py.kill();
    assert.ok(l.lines.includes('READY=1|STATUS=active'));
  });

  it('stops pinging while the event loop is blocked', async () => {
    const path = join(dir, 'notify');
    const l = listener(path);
    await l.until(() => l.lines.includes('ready'));
    // A child process: pings every 50 ms, then blocks its loop for 600 ms, then resumes.
    const script = `
      const { systemdNotifier, startWatchdog } = require('./src/daemon/sdnotify');
      const n = systemdNotifier(process.env); startWatchdog(n);
      const keep = setInterval(() => {}, 1000);
      setTimeout(() => { n.notify({ STATUS: 'block' }); const end = Date.now() + 600; while (Date.now() < end); n.notify({ STATUS: 'unblocked' }); }, 300);
      setTimeout(() => process.exit(0), 1200);`;
    const child = execFile(process.execPath, ['--import', 'tsx', '-e', script], {
      env: { ...process.env, NOTIFY_SOCKET: path, WATCHDOG_USEC: '100000' },
    });
    await new Promise((r) => child.once('exit', r));
    await new Promise((r) => setTimeout(r, 100));
    l.py.kill();
    const i = l.lines.indexOf('STATUS=block');
    const j = l.lines.indexOf('STATUS=unblocked');
    assert.ok(i > 0 && j === i + 1, `pings arrived during the blocked loop: ${JSON.stringify(l.lines)}`);
    assert.ok(l.lines.slice(0, i).filter((x) => x === 'WATCHDOG=1').length >= 3);
    assert.ok(l.lines.slice(j).includes('WATCHDOG=1'), 'pings resume after the loop unblocks');
  });
});
