/**
 * Runs nanny code inside a namespace for lab tests (a process cannot switch namespace itself).
 *   once  '<json ProbeSpec[]>'  → runs each probe once, concurrently; prints one JSON array of results.
 *   load  '<json LoadSpec[]>'   → reads each load source once; prints a JSON array.
 *   pool  '<json LvsModel>'     → runs a NannyPool; prints one JSON line per weight/sorry event with Date.now().
 */
import type { LvsModel, MonitorConfig, Protocol, RealServer } from '../../../src/config/model';
import { nullLog } from '../../../src/lib/log';
import { createLoadSource } from '../../../src/nanny/load';
import { NannyPool } from '../../../src/nanny/pool';
import { createProbe } from '../../../src/nanny/probes/index';

export interface ProbeSpec {
  id: string;
  monitor: MonitorConfig;
  rs: RealServer;
  protocol?: Protocol;
}

async function main(): Promise<void> {
  const [mode, json] = process.argv.slice(2);
  if (!json) throw new Error('usage: runner.ts once|load|pool JSON');
  if (mode === 'once') {
    const specs = JSON.parse(json) as ProbeSpec[];
    const results = await Promise.all(
      specs.map(async (s) => ({ id: s.id, ...(await createProbe(s.monitor, s.rs, s.protocol ?? 'tcp')()) })),
    );
    console.log(JSON.stringify(results));
    return;
  }
  if (mode === 'load') {
    const specs = JSON.parse(json) as ProbeSpec[];
    const results = await Promise.all(
      specs.map(async (s) => ({ id: s.id, ...(await createLoadSource(s.monitor, s.rs)!()) })),
    );
    console.log(JSON.stringify(results));
    return;
  }
  if (mode === 'pool') {
    const pool = new NannyPool({ model: JSON.parse(json) as LvsModel, log: nullLog });
    pool.on('weight', (e) => console.log(JSON.stringify({ t: Date.now(), type: 'weight', ...e })));
    pool.on('sorry', (e) => console.log(JSON.stringify({ t: Date.now(), type: 'sorry', ...e })));
    pool.start();
    setInterval(() => {}, 1 << 30);
    return;
  }
  throw new Error(`unknown mode ${mode}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
