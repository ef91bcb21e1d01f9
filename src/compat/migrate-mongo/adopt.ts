/**
 * `mongrate import migrate-mongo`: reads migrate-mongo's config and changelog and records every
 * entry as applied in mongrate's changelog of the same database (`Migrator.importApplied`:
 * applied-at and blocks as migrate-mongo recorded them, checksums of the files as they are now,
 * history appended, never an entry twice). migrate-mongo's changelog is left as it was.
 */
import { extname } from 'node:path';
import '../plug.ts';
import { mergeConfig } from '../../config/resolve.ts';
import { connect } from '../../core/connection.ts';
import { driversFor } from '../../driver/drivers.ts';
import { Migrator } from '../../core/migrator.ts';
import type { ImportResult } from '../../types.ts';
import { readMigrateMongoChangelog, refuseWhileLocked } from './changelog.ts';
import { readMigrateMongoConfig, type MigrateMongoSettings } from './config.ts';
import { configTargetFor, type ConfigTarget } from './config-template.ts';

export interface AdoptOptions {
  /** migrate-mongo's config file (default `migrate-mongo-config.js` in `cwd`). */
  from?: string | undefined;
  cwd: string;
  /** Overrides of the connection migrate-mongo's config names (`--uri`, `--db`). */
  uri?: string | undefined;
  database?: string | undefined;
  /** The environment: not used for the target (migrate-mongo reads only its config), but named when it disagrees. */
  env?: NodeJS.ProcessEnv;
  dryRun?: boolean;
  lockWait?: number | undefined;
  /** The mongrate config to write for it (`--out`); see `configTargetFor`. */
  out?: string | undefined;
}

export interface Adoption {
  settings: MigrateMongoSettings;
  uri: string;
  database: string;
  result: ImportResult;
  /** Where its mongrate config goes (decided before anything is imported: a name clash stops the import). */
  config: ConfigTarget;
  /** Things to know that change nothing (files migrate-mongo ignored, edited files under useFileHash...). */
  notes: string[];
}

export async function adoptMigrateMongo(options: AdoptOptions): Promise<Adoption> {
  const settings = await readMigrateMongoConfig(options.from, options.cwd);
  const target = configTargetFor(settings, options.cwd, options.out);
  // the target as every command of the written config finds it: one rule (see mergeConfig)
  const config = mergeConfig(
    {
      uri: settings.url,
      ...(settings.databaseName === undefined ? {} : { database: settings.databaseName }),
      migrationsDir: settings.migrationsDir,
      compat: 'migrate-mongo',
      ...(settings.options === undefined ? {} : { clientOptions: settings.options }),
    },
    { baseDir: options.cwd, overrides: { uri: options.uri, db: options.database }, env: options.env, configFile: settings.file },
  );
  const { uri, database } = config;
  const client = await connect(config, driversFor(config).bookkeeping);
  const migrator = new Migrator(config, { client });
  try {
    const db = client.db(database);
    await refuseWhileLocked(db, settings);
    const changelog = await readMigrateMongoChangelog(db, settings);
    const result = await migrator.importApplied('migrate-mongo', changelog.entries, {
      dryRun: options.dryRun === true,
      ...(options.lockWait === undefined ? {} : { lockWait: options.lockWait }),
    });
    // what stopped the import is the caller's to act on (result.error), before anything else is said
    if (result.error !== undefined) return { settings, uri, database, result, config: target, notes: [...config.notices, ...changelog.warnings] };
    const ignored = (await migrator.migrations()).filter((m) => m.path !== undefined && extname(m.path) !== settings.migrationFileExtension);
    const notes = [...config.notices, ...changelog.warnings];
    if (ignored.length > 0) {
      notes.push(
        `mongrate also counts ${ignored.map((m) => m.id).join(', ')}, which migrate-mongo ignored (its migrationFileExtension is ${settings.migrationFileExtension}): move ${ignored.length === 1 ? 'it' : 'them'} out of ${settings.migrationsDir} if ${ignored.length === 1 ? 'it is' : 'they are'} not migrations`,
      );
    }
    return { settings, uri, database, result, config: target, notes };
  } finally {
    await migrator.close();
    await client.close();
  }
}
