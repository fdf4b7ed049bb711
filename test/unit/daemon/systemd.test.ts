import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
