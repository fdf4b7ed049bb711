/**
 * Commander with `exitOverride()`: parse, and turn commander's own exits (help, version, bad arguments)
 * into an exit code instead of process.exit, so `main()` stays testable. Usage errors are exit 2.
 */
import type { Command } from 'commander';

/** Parses `argv`; returns undefined to go on, or the exit code commander asked for (0 help, 2 error). */
export function parseOrExit(program: Command, argv: string[]): number | undefined {
  try {
    program.parse(argv, { from: 'node' });
    return undefined;
  } catch (err) {
    const code = (err as { exitCode?: number }).exitCode;
    return code === 0 ? 0 : 2;
  }
}
