/**
 * Runs nanny code inside a namespace for lab tests (a process cannot switch namespace itself).
 *   once  '<json ProbeSpec[]>'  → runs each probe once, concurrently; prints one JSON array of results.
 *   load  '<json LoadSpec[]>'   → reads each load source once; prints a JSON array.
 *   pool  '<json LvsModel>'     → runs a NannyPool; prints one JSON line per weight event with Date.now(),
 *                                 and one per move of a sorry server as the LB table decides it from them.
 */
import type { LvsModel, MonitorConfig, Protocol, RealServer } from '../../../src/config/model';
import { desiredTable, sorryChanges } from '../../../src/ipvs/table';
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
    const model = { network: 'nat', ...(JSON.parse(json) as Partial<LvsModel>) } as LvsModel;
    const pool = new NannyPool({ model, log: nullLog });
    pool.on('weight', (e) => console.log(JSON.stringify({ t: Date.now(), type: 'weight', ...e })));
    pool.start();
    // as the daemon does: the LB table is built once every first verdict is in, then follows the weights;
    // its rule (ipvs/table.ts sorryServerIn) moves the sorry server
    let table = desiredTable({ ...model, virtualServers: [] }, new Map()).table;
    const follow = (): void => {
      const next = desiredTable(model, pool.initialWeights()).table;
      for (const c of sorryChanges(table, next))
        console.log(JSON.stringify({ t: Date.now(), type: 'sorry', vsName: c.vsName, on: c.in }));
      table = next;
    };
    void pool.ready().then(() => {
      follow();
      pool.on('weight', follow);
    });
    setInterval(() => {}, 1 << 30);
    return;
  }
  throw new Error(`unknown mode ${mode}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
