import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SCHEDULERS } from '../../../src/config/model';
import { need } from '../../helpers/need';

const UNITS = ['lvs-pulse.service', 'lvs-pulse-web.service'];

describe('systemd units', () => {
  it('lvs-pulse.service is Type=notify with a watchdog, SIGHUP reload and the hardening the daemon needs', () => {
    const u = readFileSync('systemd/lvs-pulse.service', 'utf8');
    for (const line of [
      'Type=notify',
      'ExecReload=/bin/kill -HUP $MAINPID',
      'ProtectSystem=strict',
      'NoNewPrivileges=yes',
      'PrivateTmp=yes',
      'RestrictAddressFamilies=AF_INET AF_INET6 AF_NETLINK AF_PACKET AF_UNIX',
    ])
      assert.ok(u.includes(line), line);
    assert.match(u, /^WatchdogSec=\d+/m);
    const caps = /^CapabilityBoundingSet=(.*)$/m.exec(u)?.[1]?.split(/\s+/) ?? [];
    for (const c of ['CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_NICE'])
      assert.ok(caps.includes(c), c);
  });

  it('lvs-pulse.service is hardened (issue 17): modules loaded before the sandbox, kernel and devices closed', () => {
    const u = readFileSync('systemd/lvs-pulse.service', 'utf8');
    const values = (key: string) =>
      [...u.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!.trim());
    for (const line of [
      'ProtectKernelModules=yes',
      'ProtectKernelTunables=yes',
      'PrivateDevices=yes',
      'ProtectProc=invisible',
      'UMask=0077',
      'SystemCallFilter=@system-service',
      'SystemCallErrorNumber=EPERM',
    ])
      assert.ok(u.split('\n').includes(line), line);
    assert.match(u, /^LimitNOFILE=\d+$/m);
    // Modules: by an ExecStartPre with full privileges ("+"), never by the daemon's capabilities.
    const modprobe = values('ExecStartPre').find((v) => /modprobe/.test(v)) ?? '';
    assert.match(modprobe, /^\+-?\/sbin\/modprobe -a ip_vs /);
    for (const sched of SCHEDULERS) assert.ok(modprobe.split(' ').includes(`ip_vs_${sched}`), sched);
    const caps = values('CapabilityBoundingSet').join(' ').split(/\s+/);
    assert.ok(!caps.includes('CAP_SYS_MODULE'), 'no CAP_SYS_MODULE');
    // Writable: the run directory and /proc/sys/net only; the configuration directory is not.
    assert.deepEqual(values('ReadWritePaths').join(' ').split(/\s+/).sort(), [
      '/proc/sys/net',
      '/run/lvs-pulse',
    ]);
    const hidden = values('InaccessiblePaths').join(' ');
    assert.match(hidden, /\/run\/systemd\/private/);
    assert.match(hidden, /\/run\/dbus\/system_bus_socket/);
    assert.match(values('ExecStart')[0] ?? '', /--console-user lvs-pulse/);
  });

  it('systemd-analyze security: lvs-pulse.service exposure at most 3.0 (5.3 before issue 17)', function () {
    if (!existsSync('/usr/bin/systemd-analyze')) need(this, 'systemd-analyze not installed');
    const dir = mkdtempSync(join(tmpdir(), 'lp-unit-'));
    try {
      const file = join(dir, 'lvs-pulse.service');
      writeFileSync(
        file,
        readFileSync('systemd/lvs-pulse.service', 'utf8').replace(/\/usr\/bin\/pulse/g, '/bin/true'),
      );
      const out = execFileSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', file], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const level = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(out)?.[1]);
      assert.ok(level <= 3.0, `exposure ${level}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const unit of UNITS) {
    it(`systemd-analyze verify ${unit} is clean`, function () {
      if (!existsSync('/usr/bin/systemd-analyze')) {
        need(this, 'systemd-analyze not installed');
      }
      const dir = mkdtempSync(join(tmpdir(), 'lp-unit-'));
      try {
        // The binaries are not installed here: point ExecStart at an existing program, keep the rest as is.
        const text = readFileSync(join('systemd', unit), 'utf8').replace(
          /\/usr\/bin\/pulse(-web)?/g,
          '/bin/true',
        );
        const file = join(dir, unit);
        writeFileSync(file, text);
        const out = execFileSync('systemd-analyze', ['verify', file], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        assert.equal(out.trim(), '');
      } catch (err) {
        const e = err as { stderr?: string; message: string };
        // Complaints about units this one orders after (not installed here) are not about our file.
        const lines = String(e.stderr ?? e.message)
          .split('\n')
          .filter(
            (l) =>
              l.trim() &&
              !/lvs-pulse\.service.*not found|Unit .* not found|Failed to prepare filename/.test(l),
          );
        assert.deepEqual(lines, []);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
