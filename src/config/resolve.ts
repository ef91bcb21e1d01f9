/**
 * One place merges flags, environment, config file and defaults into the `ResolvedConfig`
 * every other module uses. Precedence: flag > env > config file > URI path / default.
 */
import { dirname, resolve } from 'node:path';
import { configError, usageError } from '../errors.ts';
import type { DatabaseSelection, MongrateConfig, ResolvedConfig } from '../types.ts';
import { redactText, secretsOf, splitConnectionString } from '../util/redact.ts';
import { checkConcurrency, validateConfig } from './schema.ts';
import { loadConfigFile } from './load.ts';

export const DEFAULT_URI = 'mongodb://127.0.0.1:27017';

export const DEFAULTS = {
  migrationsDir: 'migrations',
  changelogCollection: 'mongrate_changelog',
  historyCollection: 'mongrate_history',
  lockCollection: 'mongrate_lock',
  lock: { ttlSeconds: 120, waitSeconds: 0 },
  transactions: 'auto',
  // MongoDB advises at most ~1,000 documents modified per transaction
  transactionDocumentLimit: 1000,
  serverSelectionTimeoutMS: 5000,
  concurrency: 1,
} as const;

/** What the CLI's global options can override. */
export interface ConfigOverrides {
  config?: string | undefined;
  uri?: string | undefined;
  db?: string | undefined;
  migrationsDir?: string | undefined;
  /** `--databases a,b,c`. */
  databases?: string | undefined;
  /** `--databases-match <glob>`. */
  databasesMatch?: string | undefined;
  concurrency?: number | undefined;
}

/**
 * The database named in a connection string's path (`mongodb://host/<db>?...`), if any. The path
 * starts after the hosts, and the hosts after the userinfo, which runs to the last '@' when the
 * password holds an unescaped '/' or '@' (see `splitConnectionString`): so no part of a password
 * is ever read as a database name. A mistyped mongo scheme (`mongo://`) still gives its path, so
 * the user hears about the scheme from the driver rather than "no database given".
 */
export function databaseFromUri(uri: string): string | undefined {
  const { scheme, rest } = splitConnectionString(uri);
  if (scheme !== '' && !/^\s*mongo/i.test(scheme)) return undefined;
  const slash = rest.search(/[/?]/);
  if (slash === -1 || rest[slash] !== '/') return undefined;
  const path = rest.slice(slash + 1).split('?')[0] ?? '';
  if (path === '') return undefined;
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

const BAD_DB_CHARS = /[/\\. "$\0]/;

export function checkDatabaseName(name: string, uri: string): string {
  if (BAD_DB_CHARS.test(name) || Buffer.byteLength(name) > 63) {
    // the name may come from a mistyped URI: whatever it holds, no secret of it is echoed
    const shown = redactText(name, secretsOf(uri));
    throw usageError(`invalid database name '${shown}': use at most 63 bytes and none of / \\ . " $ or spaces`);
  }
  return name;
}

function emptyToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

/**
 * One database or several. Flags first: `--db` means exactly one, `--databases`/`--databases-match`
 * several (they exclude each other); then MONGODB_DATABASE (one); then the config's `database` or
 * `databases`; then the URI's path.
 */
function targetDatabases(
  config: MongrateConfig,
  overrides: ConfigOverrides,
  env: NodeJS.ProcessEnv,
  uri: string,
): { database: string | undefined; databases: DatabaseSelection | undefined } {
  const db = emptyToUndefined(overrides.db);
  const list = emptyToUndefined(overrides.databases);
  const match = emptyToUndefined(overrides.databasesMatch);
  const given = [db === undefined ? undefined : '--db', list === undefined ? undefined : '--databases', match === undefined ? undefined : '--databases-match'].filter(Boolean);
  if (given.length > 1) throw usageError(`use only one of ${given.join(' and ')}`);
  if (db !== undefined) return { database: db, databases: undefined };
  if (list !== undefined) {
    const names = [...new Set(list.split(',').map((name) => name.trim()).filter((name) => name !== ''))];
    if (names.length === 0) throw usageError('--databases takes a comma-separated list of database names');
    return { database: undefined, databases: names };
  }
  if (match !== undefined) return { database: undefined, databases: { match } };
  const one = emptyToUndefined(env.MONGODB_DATABASE) ?? config.database;
  if (one !== undefined) return { database: one, databases: undefined };
  if (config.databases !== undefined) return { database: undefined, databases: config.databases };
  return { database: databaseFromUri(uri), databases: undefined };
}

/**
 * Merges a config object (already loaded) with overrides and the environment. `baseDir` is where
 * relative `migrationsDir` paths start: the config file's folder, else the cwd.
 */
export function mergeConfig(
  config: MongrateConfig,
  options: {
    overrides?: ConfigOverrides;
    env?: NodeJS.ProcessEnv;
    baseDir: string;
    cwd?: string;
    configFile?: string | undefined;
    /** `create` and `init` work without a database: then `database` is ''. */
    requireDatabase?: boolean;
  },
): ResolvedConfig {
  const overrides = options.overrides ?? {};
  const env = options.env ?? {};
  const uri = emptyToUndefined(overrides.uri) ?? emptyToUndefined(env.MONGODB_URI) ?? config.uri ?? DEFAULT_URI;
  const { database, databases } = targetDatabases(config, overrides, env, uri);
  if (database === undefined && databases === undefined && options.requireDatabase !== false) {
    throw usageError('no database given: name one (`database`), or several (`databases`), or put it in the URI path (mongodb://host/<db>)', [
      { setting: 'database', purpose: 'name it' },
    ]);
  }
  const concurrency = overrides.concurrency ?? config.concurrency ?? DEFAULTS.concurrency;
  checkConcurrency(concurrency, '--concurrency');
  const migrationsDir = overrides.migrationsDir ?? config.migrationsDir ?? DEFAULTS.migrationsDir;
  const collections = {
    changelogCollection: config.changelogCollection ?? DEFAULTS.changelogCollection,
    historyCollection: config.historyCollection ?? DEFAULTS.historyCollection,
    lockCollection: config.lockCollection ?? DEFAULTS.lockCollection,
  };
  if (new Set(Object.values(collections)).size !== 3) {
    throw configError('changelogCollection, historyCollection and lockCollection must be three different names');
  }
  return {
    resolved: true,
    uri,
    database: database === undefined ? '' : checkDatabaseName(database, uri),
    migrationsDir: resolve(
      overrides.migrationsDir === undefined ? options.baseDir : (options.cwd ?? process.cwd()),
      migrationsDir,
    ),
    ...collections,
    lock: {
      ttlSeconds: config.lock?.ttlSeconds ?? DEFAULTS.lock.ttlSeconds,
      waitSeconds: config.lock?.waitSeconds ?? DEFAULTS.lock.waitSeconds,
    },
    transactions: config.transactions ?? DEFAULTS.transactions,
    transactionDocumentLimit: config.transactionDocumentLimit ?? DEFAULTS.transactionDocumentLimit,
    clientOptions: { serverSelectionTimeoutMS: DEFAULTS.serverSelectionTimeoutMS, ...config.clientOptions },
    databases: Array.isArray(databases) ? databases.map((name) => checkDatabaseName(name, uri)) : databases,
    concurrency,
    compat: config.compat,
    migrations: config.migrations,
    configFile: options.configFile,
  };
}

/** The CLI's path: find the file, validate it, merge flags and environment. */
export async function resolveConfig(
  overrides: ConfigOverrides,
  options: { cwd: string; env: NodeJS.ProcessEnv; requireDatabase?: boolean },
): Promise<ResolvedConfig> {
  const { config, file } = await loadConfigFile(options.cwd, overrides.config);
  return mergeConfig(config, {
    overrides,
    env: options.env,
    baseDir: file === undefined ? options.cwd : dirname(file),
    cwd: options.cwd,
    configFile: file,
    ...(options.requireDatabase === undefined ? {} : { requireDatabase: options.requireDatabase }),
  });
}

/** A config `loadConfig()` (or this module) already resolved, as opposed to one written in code. */
export function isResolved(config: MongrateConfig | ResolvedConfig): config is ResolvedConfig {
  return 'resolved' in config;
}

/** For the programmatic API: a config object from code, validated the same way. */
export function resolveProgrammaticConfig(config: MongrateConfig, baseDir = process.cwd(), source = 'createMigrator(config)'): ResolvedConfig {
  return mergeConfig(validateConfig(config, source), { baseDir });
}
