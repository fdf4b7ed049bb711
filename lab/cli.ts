/**
 * `npm run lab -- down`: removes the namespaces (and the processes in them) that earlier lab runs left,
 * found by their name prefix `lp…`. `npm run lab -- list` shows them.
 */
import { Command } from 'commander';
import { labDown, listLabNamespaces } from './netns';

const program = new Command('lab').description('lvs-pulse lab housekeeping');
program
  .command('list')
  .description('list namespaces left by lab runs')
  .action(() => {
    for (const n of listLabNamespaces()) process.stdout.write(`${n}\n`);
  });
program
  .command('down')
  .description('remove every namespace (and its processes) left by lab runs')
  .option('--prefix <p>', 'only runs whose prefix starts with this', '')
  .action((o: { prefix: string }) => {
    const removed = labDown(o.prefix);
    process.stdout.write(removed.length ? `removed ${removed.join(' ')}\n` : 'nothing to remove\n');
  });
program.parse();
