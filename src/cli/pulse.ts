#!/usr/bin/env node
/**
 * `pulse`: the lvs-pulse daemon (runs in the foreground, the systemd way), and its config tools
 * `--check-config` (-t, like keepalived) and `--dump-config`.
 */
import { parseOrExit } from './args';
import { existsSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { checkConfig, dumpConfig, loadConfig, summarize } from '../config';
import { ConfigError, type ConfigDiagnostic } from '../config/model';
import { runDaemon } from '../daemon/daemon';
import { parseLogLevel } from '../daemon/logging';

/** The configuration files tried, in order, when `--config` is not given. */
export const DEFAULT_CONFIGS = ['/etc/lvs-pulse/lvs-pulse.yaml', '/etc/sysconfig/ha/lvs.cf'];

function defaultConfig(): string {
  return DEFAULT_CONFIGS.find((p) => existsSync(p)) ?? DEFAULT_CONFIGS[0]!;
}

function printDiagnostics(diags: ConfigDiagnostic[], stream: NodeJS.WritableStream): void {
  for (const d of diags) stream.write(`${d.file}:${d.line}:${d.col}: ${d.severity}: ${d.message}\n`);
}

/** `pulse`: parses `argv`, then checks, dumps or runs; resolves with the exit code (2 usage or config errors). */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('pulse')
    .description(
      'LVS router high availability: heartbeat failover, VIP takeover, LB table, real-server checks',
    )
    .option('-f, --config <file>', 'configuration: lvs.cf (Piranha) or YAML/JSON', defaultConfig())
    .option('-t, --check-config', 'check the configuration file, print a summary, exit (0 ok, 2 errors)')
    .option('--dump-config', 'print the configuration converted to --format on stdout, exit')
    .addOption(
      new Option('--format <format>', 'output format of --dump-config')
        .choices(['yaml', 'lvs.cf'])
        .default('yaml'),
    )
    .option('--run-dir <dir>', 'directory of the control socket and state', '/run/lvs-pulse')
    .option('--log-level <level>', 'error|warn|info|debug (overrides debug_level)', (v) => {
      const l = parseLogLevel(v);
      if (!l) throw new InvalidArgumentError('expected error, warn, info or debug');
      return l;
    })
    .addOption(
      new Option('--node <node>', 'which router this is (default: from local addresses)').choices([
        'primary',
        'backup',
      ]),
    )
    .option('--no-syslog', 'log to stderr only')
    .option(
      '--console-user <name>',
      'account of the web console: may use the control socket for its commands ("" = root only)',
      'lvs-pulse',
    )
    .showHelpAfterError()
    .exitOverride();
  const exit = parseOrExit(program, argv);
  if (exit !== undefined) return exit;
  const opts = program.opts<{
    config: string;
    checkConfig?: boolean;
    dumpConfig?: boolean;
    format: 'yaml' | 'lvs.cf';
    runDir: string;
    logLevel?: 'error' | 'warn' | 'info' | 'debug';
    node?: 'primary' | 'backup';
    syslog: boolean;
    consoleUser: string;
  }>();

  if (opts.checkConfig) {
    const r = checkConfig(opts.config);
    printDiagnostics(r.diagnostics, process.stderr);
    if (!r.model || r.diagnostics.some((d) => d.severity === 'error')) {
      const n = r.diagnostics.filter((d) => d.severity === 'error').length;
      process.stderr.write(`${opts.config}: ${n} error${n === 1 ? '' : 's'}\n`);
      return 2;
    }
    process.stdout.write(`${summarize(r.model)}\n`);
    return 0;
  }
  if (opts.dumpConfig) {
    try {
      const { model, warnings } = loadConfig(opts.config);
      printDiagnostics(warnings, process.stderr);
      process.stdout.write(dumpConfig(model, opts.format));
      return 0;
    } catch (err) {
      if (err instanceof ConfigError) {
        printDiagnostics(err.diagnostics, process.stderr);
        return 2;
      }
      process.stderr.write(`${opts.config}: ${(err as Error).message}\n`);
      return 2;
    }
  }
  return runDaemon({
    configPath: opts.config,
    runDir: opts.runDir,
    logLevel: opts.logLevel,
    node: opts.node,
    syslog: opts.syslog,
    consoleUser: opts.consoleUser,
  });
}

if (require.main === module) {
  main(process.argv).then(
    (code) => {
      if (code !== 0) process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`pulse: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
