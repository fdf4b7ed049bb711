/**
 * Runs a CLI `main(argv)` in this process with stdout and stderr captured (only while it runs, so the test
 * reporter's own output is untouched).
 */

/** What one run printed and its exit code. */
export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `main` on `argv` (as `node PROGRAM ...argv`), capturing what it writes. */
export async function capture(
  main: (argv: string[]) => Promise<number>,
  program: string,
  argv: string[],
): Promise<Captured> {
  const out: string[] = [];
  const err: string[] = [];
  const o = process.stdout.write;
  const e = process.stderr.write;
  process.stdout.write = ((s: string) => out.push(String(s)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => err.push(String(s)) > 0) as typeof process.stderr.write;
  try {
    const code = await main(['node', program, ...argv]);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
  }
}
