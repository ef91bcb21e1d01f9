/**
 * Reads a migrate-mongo config (14.x and earlier): CommonJS (`module.exports = {...}`), ESM
 * (`moduleSystem: 'esm'`, `export default`), or either exporting a promise of the config. It is
 * loaded the way mongrate loads its own config (jiti), which accepts every one of those.
 * Relative `migrationsDir` paths start at the cwd, as migrate-mongo resolves them.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { MongoClientOptions } from 'mongodb';
import { configError, messageOf } from '../../errors.ts';
import { importModule } from '../../util/import-module.ts';
import { isRecord } from '../../util/objects.ts';

export const DEFAULT_CONFIG_FILE = 'migrate-mongo-config.js';

export interface MigrateMongoSettings {
  /** The config file, absolute. */
  file: string;
  url: string;
  databaseName: string | undefined;
  options: MongoClientOptions | undefined;
  /** Absolute. */
  migrationsDir: string;
  changelogCollectionName: string;
  migrationFileExtension: string;
  useFileHash: boolean;
  lockCollectionName: string | undefined;
  lockTtl: number;
  moduleSystem: string | undefined;
}


function optionalString(config: Record<string, unknown>, key: string, file: string): string | undefined {
  const value = config[key];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw configError(`${file}: migrate-mongo's \`${key}\` must be a string`);
  return value;
}

async function exportedConfig(file: string): Promise<unknown> {
  let namespace: Record<string, unknown>;
  try {
    namespace = await importModule(file);
  } catch (error) {
    throw configError(`cannot load the migrate-mongo config ${file}: ${messageOf(error).split('\n').join(' ')}`, error);
  }
  // CommonJS arrives as module.exports itself, ESM as its namespace; either may export a promise
  return await ('default' in namespace ? namespace.default : namespace);
}

export async function readMigrateMongoConfig(from: string | undefined, cwd: string): Promise<MigrateMongoSettings> {
  const file = resolve(cwd, from ?? DEFAULT_CONFIG_FILE);
  if (!existsSync(file)) {
    throw configError(`migrate-mongo config not found: ${file} (run this where migrate-mongo-config.js is, or pass --from <path>)`);
  }
  const config = await exportedConfig(file);
  if (!isRecord(config)) throw configError(`${file}: migrate-mongo's config must export an object`);
  const mongodb = config.mongodb;
  if (!isRecord(mongodb)) throw configError(`${file}: migrate-mongo's config has no \`mongodb\` section`);
  const url = optionalString(mongodb, 'url', file);
  if (url === undefined) {
    throw configError(`${file}: migrate-mongo's \`mongodb.url\` is undefined (is the environment variable it reads set?); migrate-mongo refuses this config too ("No \`url\` defined in config file!")`);
  }
  const extension = optionalString(config, 'migrationFileExtension', file) ?? '.js';
  if (!extension.startsWith('.')) throw configError(`${file}: migrationFileExtension must start with a dot, got '${extension}'`);
  const migrationsDir = optionalString(config, 'migrationsDir', file) ?? 'migrations';
  const lockTtl = typeof config.lockTtl === 'number' ? config.lockTtl : 0;
  return {
    file,
    url,
    databaseName: optionalString(mongodb, 'databaseName', file),
    options: isRecord(mongodb.options) ? mongodb.options : undefined,
    migrationsDir: isAbsolute(migrationsDir) ? migrationsDir : resolve(cwd, migrationsDir),
    changelogCollectionName: optionalString(config, 'changelogCollectionName', file) ?? 'changelog',
    migrationFileExtension: extension,
    useFileHash: config.useFileHash === true,
    lockCollectionName: optionalString(config, 'lockCollectionName', file),
    lockTtl,
    moduleSystem: optionalString(config, 'moduleSystem', file),
  };
}
