/** The global options that select several databases and say how to run across them. */
import { Option, type Command } from 'commander';
import { usageError } from '../../errors.ts';

function atLeastOne(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw usageError(`--concurrency takes a whole number >= 1, got '${value}'`);
  return Number(value);
}

export function defineFanOutOptions(program: Command): void {
  program
    .addOption(new Option('--databases <names>', 'run on these databases, comma-separated (each with its own changelog and lock)').conflicts(['db', 'databasesMatch']))
    .addOption(new Option('--databases-match <glob>', "run on every database whose name matches, e.g. 'tenant_*' (never admin, local, config)").conflicts('db'))
    .addOption(new Option('--concurrency <n>', 'databases processed at once (default: config concurrency, else 1)').argParser(atLeastOne))
    .option('--canary <name>', 'run this database first, alone; the others start only if it succeeded')
    .option('--keep-going', 'start the remaining databases even after one failed');
}
