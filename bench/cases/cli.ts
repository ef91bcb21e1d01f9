// Group 5: what the CLI costs on top of the work. Wall time (and the process's own CPU time) of the
// built CLI (`node bin/mongrate.js`, a fresh process each time, as in a terminal or a CI step) for
// `status` and a no-op `up` in a project of many migration files, against a bare driver script
// that connects and reads the changelog (bench/bare-changelog.js). `up` applying migrations beside
// migrate-mongo is in apply.ts.
import { access } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Db, MongoClient } from 'mongodb';
import { BIN } from '../../test/support/cli.ts';
import { createProject, markerMigration, type TestProject } from '../../test/support/project.ts';
import { caseResult, median, type CaseResult } from '../report.ts';
import { MIGRATE_MONGO, applyCases, createMigrateMongoProject } from './apply.ts';
import { timedNode } from './node-runs.ts';

const BARE = path.join(import.meta.dirname, '..', 'bare-changelog.js');

export interface CliEnv {
  client: MongoClient;
  uri: string;
  /** Database for the status / no-op up project; apply runs use `${database}_<suffix>`. */
  database: string;
  files: number;
  apply: number;
  runs: number;
  progress: (line: string) => void;
}

export const migrationId = (i: number, width: number): string => `20250101${String(i).padStart(6, '0')}-m${String(i).padStart(width, '0')}`;

/** A project as `mongrate init` leaves it (a TypeScript config naming the database), with `count` trivial migrations. */
export async function createCliProject(database: string, count: number, transactions?: 'never'): Promise<TestProject> {
  const never = transactions === undefined ? '' : `, transactions: '${transactions}'`;
  const project = await createProject({
    config: `import { defineConfig } from 'mongrate';\nexport default defineConfig({ database: ${JSON.stringify(database)}, migrationsDir: 'migrations'${never} });\n`,
  });
  const width = String(count).length;
  for (let i = 1; i <= count; i++) await project.write(`${migrationId(i, width)}.ts`, markerMigration(`m${i}`));
  return project;
}

async function changelogCount(db: Db): Promise<number> {
  return db.collection('mongrate_changelog').countDocuments({});
}

export async function cliGroup(env: CliEnv): Promise<Record<string, CaseResult>> {
  try {
    await access(path.join(path.dirname(BIN), '..', 'dist', 'cli', 'main.js'));
  } catch {
    throw new Error('dist/ is missing: the CLI cases run the built CLI, so run `npm run build` first (`npm run bench` does)');
  }
  const uriEnv = { MONGODB_URI: env.uri };
  const main = await createCliProject(env.database, env.files);
  const db = env.client.db(env.database);
  // migrate-mongo's status beside ours: the same files as .js, applied by migrate-mongo itself
  const mmDatabase = `${env.database}_mm`;
  const mm = await createMigrateMongoProject(env.files);
  try {
    const setupStarted = performance.now();
    await timedNode([BIN, 'up'], main.dir, uriEnv);
    const applied = await changelogCount(db);
    if (applied !== env.files) throw new Error(`setup: ${applied} of ${env.files} migrations recorded after \`mongrate up\``);
    env.progress(`[cli] setup: \`mongrate up\` applied ${env.files} migrations in ${((performance.now() - setupStarted) / 1000).toFixed(1)} s`);
    const mmEnv = { ...uriEnv, BENCH_DB: mmDatabase };
    await timedNode([MIGRATE_MONGO, 'up'], mm.dir, mmEnv);
    const mmApplied = await env.client.db(mmDatabase).collection('changelog').countDocuments({});
    if (mmApplied !== env.files) throw new Error(`setup: ${mmApplied} of ${env.files} migrations recorded after \`migrate-mongo up\``);

    const commands: { key: string; label: string; note: string | null; args: string[]; env: Record<string, string>; cwd?: string }[] = [
      { key: 'cli_bare', label: 'bare driver script: connect, read changelog', note: 'node bench/bare-changelog.js', args: [BARE], env: { ...uriEnv, BENCH_DB: env.database } },
      { key: 'cli_version', label: 'mongrate --version (start-up only)', note: 'no server contact, driver not loaded', args: [BIN, '--version'], env: uriEnv },
      { key: 'cli_status', label: `mongrate status, ${env.files} files`, note: null, args: [BIN, 'status'], env: uriEnv },
      { key: 'cli_noop_up', label: `mongrate up, nothing pending, ${env.files} files`, note: null, args: [BIN, 'up'], env: uriEnv },
      { key: 'mm_status', label: `migrate-mongo 14 status, the same ${env.files} as .js`, note: 'its own project and changelog', args: [MIGRATE_MONGO, 'status'], env: mmEnv, cwd: mm.dir },
    ];
    for (const command of commands) await timedNode(command.args, command.cwd ?? main.dir, command.env); // warm-up: file cache, compile cache
    const values = new Map<string, number[]>(commands.map((c) => [c.key, []]));
    const cpu = new Map<string, number[]>(commands.map((c) => [c.key, []]));
    for (let run = 1; run <= env.runs; run++) {
      for (const command of commands) {
        const { ms, cpuMs, stdout } = await timedNode(command.args, command.cwd ?? main.dir, command.env);
        if (command.key === 'cli_noop_up' && (await changelogCount(db)) !== env.files) throw new Error(`the no-op up changed the changelog: ${stdout}`);
        values.get(command.key)?.push(ms);
        cpu.get(command.key)?.push(cpuMs);
        env.progress(`[cli ${run}/${env.runs}] ${command.label}: ${ms.toFixed(0)} ms (CPU ${cpuMs.toFixed(0)} ms)`);
      }
    }
    const results: Record<string, CaseResult> = {};
    for (const command of commands) {
      results[command.key] = caseResult('cli', command.label, 'ms', values.get(command.key) ?? [], { note: command.note, extra: { cpuMs: median(cpu.get(command.key) ?? []) } });
    }
    return { ...results, ...(await applyCases(env)) };
  } finally {
    await db.dropDatabase().catch(() => undefined);
    await env.client.db(mmDatabase).dropDatabase().catch(() => undefined);
    await main.remove();
    await mm.remove();
  }
}
