/**
 * One place merges flags, environment, config file and defaults into the `ResolvedConfig`
 * every other module uses. Precedence: flag > env > config file > URI path / default.
 */
import { dirname, resolve } from 'node:path';
import { configError, usageError } from '../errors.ts';
import type { MongrateConfig, ResolvedConfig } from '../types.ts';
import { redactText, secretsOf, splitConnectionString } from '../util/redact.ts';
import { validateConfig } from './schema.ts';
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
} as const;

/** What the CLI's global options can override. */
export interface ConfigOverrides {
  config?: string | undefined;
  uri?: string | undefined;
  db?: string | undefined;
  migrationsDir?: string | undefined;
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

function checkDatabaseName(name: string, uri: string): string {
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
  const database =
    emptyToUndefined(overrides.db) ??
    emptyToUndefined(env.MONGODB_DATABASE) ??
    config.database ??
    databaseFromUri(uri);
  if (database === undefined && options.requireDatabase !== false) {
    throw usageError(
      'no database given: pass --db <name>, set MONGODB_DATABASE, set `database` in the config, or put it in the URI path (mongodb://host/<db>)',
    );
  }
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

/** For the programmatic API: a config object from code, validated the same way. */
export function resolveProgrammaticConfig(config: MongrateConfig, baseDir = process.cwd()): ResolvedConfig {
  return mergeConfig(validateConfig(config, 'createMigrator(config)'), { baseDir });
}
