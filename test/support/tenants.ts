// Many databases for one test: `<prefix>_t01` ... `<prefix>_tNN` under a prefix unique to the
// test (so a glob over listDatabases sees only this test's databases), each created with one
// document so listDatabases lists it, and all dropped afterwards with a project folder to run the
// CLI in.
import { MongoClient, type Db } from 'mongodb';
import { runCli, startCli, type CliResult } from './cli.ts';
import { testUri, uniqueDbName } from './database.ts';
import { createProject, type TestProject } from './project.ts';

export interface TenantsContext {
  project: TestProject;
  client: MongoClient;
  /** The unique prefix: `--databases-match '<prefix>_*'` selects exactly these databases. */
  prefix: string;
  names: string[];
  db: (name: string) => Db;
  /** Runs the CLI in the project with MONGODB_URI set (and nothing else). */
  run: (args: string[]) => Promise<CliResult>;
  start: (args: string[], timeoutMs?: number) => ReturnType<typeof startCli>;
}

export async function withTenants(label: string, count: number, fn: (ctx: TenantsContext) => Promise<void>, options: { config?: string } = {}): Promise<void> {
  const uri = testUri();
  const prefix = uniqueDbName(label);
  const names = Array.from({ length: count }, (_, i) => `${prefix}_t${String(i + 1).padStart(2, '0')}`);
  const client = await MongoClient.connect(uri);
  const project = await createProject(options.config === undefined ? {} : { config: options.config });
  const env = { MONGODB_URI: uri };
  try {
    for (const name of names) await client.db(name).collection('tenant').insertOne({ name });
    await fn({
      project,
      client,
      prefix,
      names,
      db: (name) => client.db(name),
      run: (args) => runCli(args, { cwd: project.dir, env, timeoutMs: 120_000 }),
      start: (args, timeoutMs) => startCli(args, { cwd: project.dir, env, timeoutMs: timeoutMs ?? 120_000 }),
    });
  } finally {
    for (const name of names) await client.db(name).dropDatabase().catch(() => undefined);
    await project.remove();
    await client.close();
  }
}

/** A migration that marks the tenant, and throws in the one database whose name ends with `failIn`. */
export function tenantMigration(mark: string, failIn?: string): string {
  const fail = failIn === undefined ? '' : `
    if (db.databaseName.endsWith(${JSON.stringify(failIn)})) throw new Error('tenant data does not fit in ' + db.databaseName);`;
  return `export async function up({ db }) {
    await db.collection('marks').insertOne({ mark: ${JSON.stringify(mark)} });${fail}
}
export async function down({ db }) {
  await db.collection('marks').deleteOne({ mark: ${JSON.stringify(mark)} });
}
`;
}

/** The ids each database's changelog holds as applied, by database. */
export async function appliedByDatabase(ctx: TenantsContext): Promise<Record<string, string[]>> {
  const entries = await Promise.all(
    ctx.names.map(async (name) => {
      const records = await ctx.db(name).collection<{ _id: string; state: string }>('mongrate_changelog').find({ state: 'applied' }).sort({ _id: 1 }).toArray();
      return [name, records.map((r) => r._id)] as const;
    }),
  );
  return Object.fromEntries(entries);
}

/** The Result column of a fan-out summary table, by database. */
export function summaryResults(stdout: string): Record<string, string> {
  const rows = stdout
    .split('\n')
    .filter((line) => line.startsWith('│'))
    .map((line) => line.split('│').slice(1, -1).map((cell) => cell.trim()));
  return Object.fromEntries(rows.filter((cells) => cells[0] !== 'Database').map((cells) => [cells[0] ?? '', cells[1] ?? '']));
}
