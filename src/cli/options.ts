/** Options and argument parsers several commands share (kept apart from main.ts, which imports the commands). */
import { Option, type Command } from 'commander';
import { MongrateError } from '../light.ts';

/** Parses a whole number option; commander calls this while parsing, before any server is contacted. */
export function wholeNumber(flag: string, minimum = 0) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < minimum) throw new MongrateError('USAGE', `${flag} takes a whole number >= ${minimum}, got '${value}'`);
    return Number(value);
  };
}

/** `--lock-wait <seconds>`, on every command that takes the lock. */
export function lockWaitOption(): Option {
  return new Option(
    '--lock-wait <seconds>',
    'wait up to this long for a lock another runner holds, saying who holds it (default: lock.waitSeconds of the config, 0)',
  ).argParser(wholeNumber('--lock-wait'));
}

/** `--dry-run`, on the commands that run migrations. */
export function dryRunOption(): Option {
  return new Option('--dry-run', 'print the plan (each helper and what it would touch) and change nothing; exit 1 if the plan already shows a failure');
}

/** The option only when it was given: the API's defaults apply otherwise. */
export function given<K extends string, V>(name: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [name]: value } as Record<K, V>);
}

/** The global options that select several databases and say how to run across them. */
export function addAcrossDatabasesOptions(program: Command): void {
  program
    .addOption(new Option('--databases <names>', 'run on these databases, comma-separated (each with its own changelog and lock)').conflicts(['db', 'databasesMatch']))
    .addOption(new Option('--databases-match <glob>', "run on every database whose name matches, e.g. 'tenant_*' (never admin, local, config)").conflicts('db'))
    .addOption(new Option('--concurrency <n>', 'databases processed at once (default: config concurrency, else 1)').argParser(wholeNumber('--concurrency', 1)))
    .option('--canary <name>', 'run this database first, alone; the others start only if it succeeded')
    .option('--keep-going', 'start the remaining databases even after one failed');
}
