/**
 * Inside the VM: read spec.json ({ script, args }) and run that script in this process (so one node start).
 * The script writes its results to $LVSP_RESULTS itself; an uncaught error fails the exit status.
 */
import { readFileSync } from 'node:fs';

const specPath = process.argv[2];
if (!specPath) throw new Error('guest-run: usage: guest-run.ts SPEC.json');
const spec = JSON.parse(readFileSync(specPath, 'utf8')) as { script: string; args: string[] };
process.argv = [process.argv[0] as string, spec.script, ...spec.args];
require(spec.script);
