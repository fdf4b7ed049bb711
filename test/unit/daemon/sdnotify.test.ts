import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatNotify, startWatchdog, systemdNotifier } from '../../../src/daemon/sdnotify';
import { datagramListener } from '../../helpers/datagram-listener';

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
    const l = datagramListener(path);
    await l.ready;
    const n = systemdNotifier({ NOTIFY_SOCKET: path, WATCHDOG_USEC: '200000' });
    assert.equal(n.watchdogMs, 200);
    assert.equal(n.notify({ READY: 1, STATUS: 'active' }), true);
    const stop = startWatchdog(n);
    await l.until('two watchdog pings', (lines) => lines.filter((x) => x === 'WATCHDOG=1').length >= 2);
    stop();
    n.close();
    l.close();
    assert.ok(l.lines.includes('READY=1|STATUS=active'));
  });

  it('stops pinging while the event loop is blocked', async () => {
    const path = join(dir, 'notify');
    const l = datagramListener(path);
    await l.ready;
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
    l.close();
    const i = l.lines.indexOf('STATUS=block');
    const j = l.lines.indexOf('STATUS=unblocked');
    assert.ok(i >= 0 && j === i + 1, `pings arrived during the blocked loop: ${JSON.stringify(l.lines)}`);
    assert.ok(l.lines.slice(0, i).filter((x) => x === 'WATCHDOG=1').length >= 3);
    assert.ok(l.lines.slice(j).includes('WATCHDOG=1'), 'pings resume after the loop unblocks');
  });
});
