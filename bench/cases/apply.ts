// `up` applying K trivial migrations (each inserts one document into `marks`) to a fresh database:
// `mongrate up` with K `.ts` files against migrate-mongo 14 (the devDependency) with the same K as
// `.js`, as its `init` sets a project up (no lock: lockTtl 0), interleaved runs after one warm-up
// each (both tools' file caches, jiti's transpile cache). Then counting runs of both tools, at K
// and at 1 migration: what each sends per applied migration beyond the migration's own insert is
// (commands at K - commands at 1) / (K - 1), the start-up's share cancelled out; mongrate's is
// counted with its default `transactions: 'auto'` (in a transaction where the server has them) and
// with `transactions: 'never'`.
import path from 'node:path';
import type { MongoClient } from 'mongodb';
import { BIN } from '../../test/support/cli.ts';
import { createProject, type TestProject } from '../../test/support/project.ts';
import type { Traffic } from '../meter.ts';
import { caseResult, median, type CaseResult } from '../report.ts';
import { createCliProject, migrationId } from './cli.ts';
import { timedNode, type NodeRun, type SentCommand } from './node-runs.ts';

export const MIGRATE_MONGO = path.join(import.meta.dirname, '..', '..', 'node_modules', 'migrate-mongo', 'bin', 'migrate-mongo.js');
const MARKS = 'marks';

export interface ApplyEnv {
  client: MongoClient;
  uri: string;
  database: string;
  apply: number;
  runs: number;
  progress: (line: string) => void;
}

/** migrate-mongo's project: its config as `migrate-mongo init` writes it (ESM), reading the server and database from the environment. */
export async function createMigrateMongoProject(count: number): Promise<TestProject> {
  const project = await createProject();
  await project.writeFile('package.json', '{ "type": "module" }\n');
  await project.writeFile(
    'migrate-mongo-config.js',
    `export default {
  mongodb: { url: process.env.MONGODB_URI, databaseName: process.env.BENCH_DB, options: {} },
  migrationsDir: 'migrations',
  changelogCollectionName: 'changelog',
  lockCollectionName: 'changelog_lock',
  lockTtl: 0,
  migrationFileExtension: '.js',
  useFileHash: false,
  moduleSystem: 'esm',
};
`,
  );
  const width = String(count).length;
  for (let i = 1; i <= count; i++) {
    const mark = JSON.stringify(`m${i}`);
    await project.write(
      `${migrationId(i, width)}.js`,
      `export const up = async (db) => {\n  await db.collection('marks').insertOne({ mark: ${mark}, at: new Date() });\n};\nexport const down = async (db) => {\n  await db.collection('marks').deleteOne({ mark: ${mark} });\n};\n`,
    );
  }
  return project;
}

interface Tool {
  key: 'cli_apply' | 'mm_apply' | 'cli_apply_never';
  label: string;
  changelog: string;
  /** The projects with K migrations and with 1. */
  projects: [TestProject, TestProject];
  args: (database: string) => string[];
  env: (database: string) => Record<string, string>;
}

const isOwn = (command: SentCommand): boolean => command.collection !== MARKS;

export async function applyCases(env: ApplyEnv): Promise<Record<string, CaseResult>> {
  const uriEnv = { MONGODB_URI: env.uri };
  const tools: Tool[] = [
    {
      key: 'cli_apply',
      label: `mongrate up applying ${env.apply} trivial .ts migrations`,
      changelog: 'mongrate_changelog',
      projects: [await createCliProject(`${env.database}_x`, env.apply), await createCliProject(`${env.database}_x`, 1)],
      args: (database) => [BIN, '--db', database, 'up'],
      env: () => uriEnv,
    },
    {
      key: 'mm_apply',
      label: `migrate-mongo 14 up applying the same ${env.apply} as .js`,
      changelog: 'changelog',
      projects: [await createMigrateMongoProject(env.apply), await createMigrateMongoProject(1)],
      args: () => [MIGRATE_MONGO, 'up'],
      env: (database) => ({ ...uriEnv, BENCH_DB: database }),
    },
  ];
  // counted only: mongrate with `transactions: 'never'` (on a server without transactions, the same run as cli_apply)
  const never: Tool = {
    key: 'cli_apply_never',
    label: `mongrate up applying ${env.apply} trivial .ts migrations, transactions: 'never'`,
    changelog: 'mongrate_changelog',
    projects: [await createCliProject(`${env.database}_x`, env.apply, 'never'), await createCliProject(`${env.database}_x`, 1, 'never')],
    args: (database) => [BIN, '--db', database, 'up'],
    env: () => uriEnv,
  };
  let fresh = 0;
  /** One run of a tool on a fresh database, checked: every migration recorded and run once. */
  const runOn = async (tool: Tool, which: 0 | 1, count: boolean): Promise<NodeRun> => {
    const database = `${env.database}_${tool.key === 'mm_apply' ? 'm' : 'a'}${fresh++}`;
    const expected = which === 0 ? env.apply : 1;
    try {
      const run = await timedNode(tool.args(database), tool.projects[which].dir, tool.env(database), { count });
      const recorded = await env.client.db(database).collection(tool.changelog).countDocuments({});
      const marks = await env.client.db(database).collection(MARKS).countDocuments({});
      if (recorded !== expected || marks !== expected) throw new Error(`${tool.key}: ${recorded} recorded, ${marks} marks, expected ${expected}`);
      return run;
    } finally {
      await env.client.db(database).dropDatabase().catch(() => undefined);
    }
  };
  try {
    for (const tool of tools) await runOn(tool, 0, false); // warm-up
    const times = new Map<string, number[]>(tools.map((t) => [t.key, []]));
    const cpu = new Map<string, number[]>(tools.map((t) => [t.key, []]));
    for (let run = 1; run <= env.runs; run++) {
      for (const tool of tools) {
        const { ms, cpuMs } = await runOn(tool, 0, false);
        times.get(tool.key)?.push(ms);
        cpu.get(tool.key)?.push(cpuMs);
        env.progress(`[apply ${run}/${env.runs}] ${tool.label}: ${ms.toFixed(0)} ms (CPU ${cpuMs.toFixed(0)} ms)`);
      }
    }
    const results: Record<string, CaseResult> = {};
    const perMigrationOf = async (tool: Tool): Promise<number> => {
      const own = async (which: 0 | 1): Promise<number> => (await runOn(tool, which, true)).commands.filter(isOwn).length;
      return env.apply > 1 ? ((await own(0)) - (await own(1))) / (env.apply - 1) : Number.NaN;
    };
    const perMigrationNever = await perMigrationOf(never);
    env.progress(`[apply counted] ${never.label}: ${perMigrationNever.toFixed(2)} commands of its own per migration`);
    for (const tool of tools) {
      const counted = await runOn(tool, 0, true);
      const many = counted.commands;
      const one = (await runOn(tool, 1, true)).commands;
      const ownMany = many.filter(isOwn).length;
      const ownOne = one.filter(isOwn).length;
      const perMigration = env.apply > 1 ? (ownMany - ownOne) / (env.apply - 1) : Number.NaN;
      const byCommand: Record<string, number> = {};
      for (const command of many.filter(isOwn)) {
        const key = command.collection === '' ? command.name : `${command.name} ${command.collection}`;
        byCommand[key] = (byCommand[key] ?? 0) + 1;
      }
      // all of the process's commands, the migrations' own inserts included; byCommand: the tool's own (statements not counted here)
      const traffic: Traffic = { commands: many.length, bytesSent: many.reduce((sum, c) => sum + c.bytes, 0), bytesReceived: counted.bytesReceived, byCommand, writeStatements: 0 };
      const sum = (list: SentCommand[]): number => list.reduce((total, c) => total + c.ms, 0);
      const extra = {
        cpuMs: median(cpu.get(tool.key) ?? []),
        ownCommandsMs: sum(many.filter(isOwn)),
        migrationCommandsMs: sum(many.filter((c) => !isOwn(c))),
        ownCommandsPerMigration: perMigration,
        ownCommandsPerRun: ownOne - perMigration,
        ownCommands: ownMany,
        migrationCommands: many.length - ownMany,
        // mongrate's with transactions: 'never' (the same as ownCommandsPerMigration where the server has none)
        ...(tool.key === 'cli_apply' ? { ownCommandsPerMigrationNoTransaction: perMigrationNever } : {}),
      };
      env.progress(`[apply counted] ${tool.label}: ${many.length} commands, ${ownMany} of them the tool's own: ${perMigration.toFixed(2)} per migration + ${(ownOne - perMigration).toFixed(0)} per run`);
      const perMs = median(times.get(tool.key) ?? []) / env.apply;
      results[tool.key] = caseResult('cli', tool.label, 'ms', times.get(tool.key) ?? [], {
        traffic,
        extra,
        note: `${perMs.toFixed(1)} ms per migration all-in; ${perMigration.toFixed(2)} commands of its own per migration + ${(ownOne - perMigration).toFixed(0)} per run`,
      });
    }
    return results;
  } finally {
    for (const tool of [...tools, never]) for (const project of tool.projects) await project.remove();
  }
}
