/** Shared by the benchmarks: a percentile summary of samples, and writing a result under bench/results/. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** n, min, median, p90 and max of `xs`, rounded to µs (for ms samples). */
export function percentiles(xs: number[]): Record<string, number> {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  const r = (v: number) => Math.round(v * 1000) / 1000;
  return { n: s.length, min: r(s[0]!), median: r(q(0.5)), p90: r(q(0.9)), max: r(s[s.length - 1]!) };
}

/** Writes `text` as bench/results/`name` (creating the folder) and returns the path. */
export function writeResult(name: string, text: string): string {
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}
