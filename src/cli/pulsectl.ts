#!/usr/bin/env node
/**
 * `pulsectl`: talks to a running `pulse` over its root-only control socket, plus a few offline tools
 * (keygen, check-config, realserver).
 */
import { Command, Option } from 'commander';
import { checkConfig, summarize } from '../config';
import { followEvents, request } from '../daemon/control';
import { formatStatus, type StatusJson } from '../daemon/status';
import { keygen } from '../heartbeat/keys';
import { applyRealServerPlan, formatRealServerPlan, realServerPlan } from './realserver';

const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);

async function call(runDir: string, cmd: string, args?: Record<string, unknown>): Promise<unknown> {
  const r = await request(runDir, cmd, args);
  if (!r.ok) throw new Error(r.error ?? 'request failed');
  return r.result;
}

/** `pulsectl`: parses `argv` and runs one command; resolves with the exit code (1 failure, 2 usage). */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = new Command('pulsectl')
    .description('control a running lvs-pulse daemon')
    .option('--run-dir <dir>', 'run directory of the daemon (control socket)', '/run/lvs-pulse')
    .showHelpAfterError()
    .exitOverride();
  const runDir = () => program.opts<{ runDir: string }>().runDir;

  program
    .command('status')
    .description('role, peer, VIPs, recent transitions and the LB table (like ipvsadm -Ln)')
    .option('--json', 'stable JSON (docs/status-json.md)')
    .action(async (o: { json?: boolean }) => {
      const s = (await call(runDir(), 'status')) as StatusJson;
      out(o.json ? JSON.stringify(s, null, 2) : formatStatus(s));
    });
  for (const [name, desc] of [
    ['takeover', 'make this router active now (refused when it has a fault)'],
    ['release', 'hand over to the peer gracefully (farewell; VIPs dropped once the peer is active)'],
    ['reload', 'reload the configuration (validated first; a bad file changes nothing)'],
  ] as const) {
    program
      .command(name)
      .description(desc)
      .action(async () => {
        out(JSON.stringify(await call(runDir(), name)));
      });
  }
  for (const [name, desc] of [
    ['drain', 'take a real server out of rotation (weight 0 / removed), kept across reloads'],
    ['enable', 'put a drained real server back under its probe'],
  ] as const) {
    program
      .command(name)
      .argument('<server>', 'VIRTUAL/SERVER, SERVER (every virtual) or ADDRESS:PORT')
      .description(desc)
      .action(async (server: string) => {
        out(JSON.stringify(await call(runDir(), name, { server })));
      });
  }
  program
    .command('check-config')
    .argument('[file]', 'configuration to check offline; without it the daemon checks its own file')
    .description('check a configuration (exit 2 with every error as FILE:LINE:COL)')
    .action(async (file?: string) => {
      if (!file) {
        const r = (await call(runDir(), 'check-config')) as { ok: boolean; text: string };
        out(r.text);
        if (!r.ok) code = 2;
        return;
      }
      const r = checkConfig(file);
      for (const d of r.diagnostics)
        process.stderr.write(`${d.file}:${d.line}:${d.col}: ${d.severity}: ${d.message}\n`);
      if (!r.model || r.diagnostics.some((d) => d.severity === 'error')) code = 2;
      else out(summarize(r.model));
    });
  program
    .command('events')
    .description('follow transitions and real-server events live (Ctrl-C to stop)')
    .option('--json', 'one JSON object per line')
    .action(async (o: { json?: boolean }) => {
      await followEvents(runDir(), (ev) => {
        const e = ev as { time?: string; type?: string; msg?: string };
        out(o.json ? JSON.stringify(ev) : `${e.time ?? ''} ${e.type ?? ''} ${e.msg ?? JSON.stringify(ev)}`);
      });
    });
  program
    .command('keygen')
    .argument('<file>', 'key file to write (mode 0600); copy it to the peer router')
    .description('write a fresh heartbeat key')
    .option('--force', 'overwrite an existing file')
    .action(async (file: string, o: { force?: boolean }) => {
      await keygen(file, { force: o.force === true });
      out(`wrote ${file} (mode 0600); set heartbeat_key_file = ${file} on both routers`);
    });
  program
    .command('realserver')
    .description(
      'print (or --apply) what a DR/TUN real server needs: VIP on lo/tunl0, arp_ignore/arp_announce',
    )
    .addOption(new Option('--mode <mode>', 'forwarding mode').choices(['dr', 'tun']).makeOptionMandatory())
    .requiredOption(
      '--vip <address>',
      'virtual IP (repeat for several)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--apply', 'apply the commands on this host instead of printing them')
    .action(async (o: { mode: 'dr' | 'tun'; vip: string[]; apply?: boolean }) => {
      const plan = realServerPlan({ mode: o.mode, vips: o.vip });
      if (!o.apply) {
        out(formatRealServerPlan(plan));
        return;
      }
      for (const s of await applyRealServerPlan(plan)) {
        out(
          `${s.ok ? 'ok  ' : 'FAIL'} ${s.command}${s.note ? ` (${s.note})` : ''}${s.error ? `: ${s.error}` : ''}`,
        );
        if (!s.ok) code = 1;
      }
    });

  try {
    await program.parseAsync(argv, { from: 'node' });
  } catch (err) {
    const e = err as { exitCode?: number; code?: string; message?: string };
    if (typeof e.exitCode === 'number' && e.code?.startsWith('commander.')) return e.exitCode === 0 ? 0 : 2;
    process.stderr.write(`pulsectl: ${e.message ?? String(err)}\n`);
    return 1;
  }
  return code;
}

if (require.main === module) {
  main(process.argv).then((c) => {
    process.exitCode = c;
  });
}
