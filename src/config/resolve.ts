/**
 * One place merges flags, environment, config file and defaults into the `ResolvedConfig`
 * every other module uses. Precedence: flag > env > config file > URI path / default; with
 * `compat: 'migrate-mongo'`, flag > config file > URI path > `test` (see `migrateMongoTarget`).
 */
import { readdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { withoutNoEffectOptions } from '../driver/client-options.ts';
import { configError, usageError } from '../errors.ts';
import type { DatabaseSelection, MongrateConfig, ResolvedConfig } from '../types.ts';
import { redactText, redactUri, secretsOf, splitConnectionString } from '../util/redact.ts';
import { chooseEnvironment, expandVariables } from './environments.ts';
import { checkConcurrency, validateConfig } from './schema.ts';
import { loadConfigFile } from './load.ts';

export const DEFAULT_URI = 'mongodb://127.0.0.1:27017';

export const DEFAULTS = {
  migrationsDir: 'migrations',
  changelogCollection: 'mongrate_changelog',
  historyCollection: 'mongrate_history',
  lockCollection: 'mongrate_lock',
  lock: { ttlSeconds: 120, waitSeconds: 0, deadRunOperations: 'wait' },
  transactions: 'auto',
  // MongoDB advises at most ~1,000 documents modified per transaction
  transactionDocumentLimit: 1000,
  // the primary alone: see src/helpers/index-build.ts
  commitQuorum: 1,
  // the driver's own default: it outlasts a replica-set election (MongoDB's take up to ~12 s;
  // Atlas steps primaries down for maintenance), so a write waits for the new primary
  serverSelectionTimeoutMS: 30_000,
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
  /** `--env <name>`: the config environment to merge in (else `MONGRATE_ENV`). */
  environment?: string | undefined;
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

/** Where a config's connection comes from, and what was set but is not used. */
interface Target {
  uri: string;
  /** The environment the database is chosen with (compat: none of it). */
  env: NodeJS.ProcessEnv;
  /** The database when nothing names one. */
  fallbackDatabase: string | undefined;
  notices: string[];
}

/**
 * `compat: 'migrate-mongo'`: the config reads migrate-mongo's own (its `mongodb.url` and
 * `databaseName`), and migrate-mongo reads nothing else, so every command targets what it would:
 * flag > config > the URL's path > `test` (the driver's default, where migrate-mongo wrote). The
 * environment is not used; one that disagrees is named, with the target, in a notice (never
 * used by some commands and not others). A `url` left undefined (its environment variable unset)
 * is a config error, as migrate-mongo refuses it, never a fallback to localhost (`create`, which
 * connects to nothing, works without it).
 */
function migrateMongoTarget(config: MongrateConfig, overrides: ConfigOverrides, env: NodeJS.ProcessEnv, configFile: string | undefined, connects: boolean): Target {
  const flag = emptyToUndefined(overrides.uri);
  const uri = flag ?? config.uri;
  const where = configFile ?? 'the config';
  if (uri === undefined && !connects) return { uri: DEFAULT_URI, env: {}, fallbackDatabase: undefined, notices: [] };
  if (uri === undefined) {
    throw configError(
      `${where}: \`uri\` is undefined: with compat: 'migrate-mongo' it is migrate-mongo's \`mongodb.url\`, which is undefined (is the environment variable it reads set?); migrate-mongo refuses this config too ("No \`url\` defined in config file!")`,
    );
  }
  const notices: string[] = [];
  const unused = (name: string, value: string | undefined, used: string | undefined, what: string): void => {
    if (value !== undefined && value !== used) {
      notices.push(`${name} is set but not used: with compat: 'migrate-mongo' every command targets what migrate-mongo would, ${what} (pass ${name === 'MONGODB_URI' ? '--uri' : '--db'} to choose another)`);
    }
  };
  unused('MONGODB_URI', flag === undefined ? emptyToUndefined(env.MONGODB_URI) : undefined, uri, `the server ${redactUri(uri)} from ${where}`);
  const database = emptyToUndefined(overrides.db) ?? config.database ?? databaseFromUri(uri) ?? 'test';
  unused('MONGODB_DATABASE', emptyToUndefined(overrides.db) === undefined ? emptyToUndefined(env.MONGODB_DATABASE) : undefined, database, `the database ${database} from ${where}`);
  return { uri, env: {}, fallbackDatabase: 'test', notices };
}

function targetOf(config: MongrateConfig, overrides: ConfigOverrides, env: NodeJS.ProcessEnv, configFile: string | undefined, connects: boolean): Target {
  if (config.compat === 'migrate-mongo') return migrateMongoTarget(config, overrides, env, configFile, connects);
  const uri = emptyToUndefined(overrides.uri) ?? emptyToUndefined(env.MONGODB_URI) ?? config.uri ?? DEFAULT_URI;
  return { uri, env, fallbackDatabase: undefined, notices: [] };
}

/**
 * Merges a config object (already loaded) with overrides and the environment. `baseDir` is where
 * relative `migrationsDir` paths start: the config file's folder, else the cwd.
 */
export function mergeConfig(
  written: MongrateConfig,
  options: {
    overrides?: ConfigOverrides;
    /** What MONGODB_URI, MONGODB_DATABASE and MONGRATE_ENV are read from (the CLI's environment; none for a config from code). */
    env?: NodeJS.ProcessEnv;
    /** What `${VAR}` in string values expands from (default: `env`). */
    variables?: NodeJS.ProcessEnv;
    baseDir: string;
    cwd?: string;
    configFile?: string | undefined;
    /** How messages name a config that has no file (`createMigrator(config)`). */
    source?: string;
    /** `create` and `init` work without a database: then `database` is ''. */
    requireDatabase?: boolean;
  },
): ResolvedConfig {
  const overrides = options.overrides ?? {};
  const source = options.configFile ?? options.source ?? 'the config';
  const chosen = chooseEnvironment(written, emptyToUndefined(overrides.environment) ?? emptyToUndefined(options.env?.MONGRATE_ENV), source);
  // checked again once expanded: a variable may have left a key empty
  const where = chosen.environment === undefined ? source : `${source} (environment ${chosen.environment.name})`;
  const config = validateConfig(expandVariables(chosen.config, options.variables ?? options.env ?? {}, where), where);
  const target = targetOf(config, overrides, options.env ?? {}, options.configFile, options.requireDatabase !== false);
  const { uri, notices } = target;
  const selected = targetDatabases(config, overrides, target.env, uri);
  const databases = selected.databases;
  const database = selected.database ?? (databases === undefined ? target.fallbackDatabase : undefined);
  if (database === undefined && databases === undefined && options.requireDatabase !== false) {
    throw usageError('no database given: name one (`database`), or several (`databases`), or put it in the URI path (mongodb://host/<db>)', [
      { setting: 'database', purpose: 'name it' },
    ]);
  }
  const { options: clientOptions, dropped } = withoutNoEffectOptions(config.clientOptions ?? {});
  if (dropped.length > 0) {
    notices.push(`ignored the client options ${dropped.join(', ')} (${options.configFile ?? 'the config'}): they have had no effect since the mongodb driver 4.0, and 7.x refuses them`);
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
      deadRunOperations: config.lock?.deadRunOperations ?? DEFAULTS.lock.deadRunOperations,
    },
    transactions: config.transactions ?? DEFAULTS.transactions,
    transactionDocumentLimit: config.transactionDocumentLimit ?? DEFAULTS.transactionDocumentLimit,
    commitQuorum: config.commitQuorum ?? DEFAULTS.commitQuorum,
    clientOptions: { serverSelectionTimeoutMS: DEFAULTS.serverSelectionTimeoutMS, ...clientOptions },
    databases: Array.isArray(databases) ? databases.map((name) => checkDatabaseName(name, uri)) : databases,
    concurrency,
    compat: config.compat,
    migrations: config.migrations,
    configFile: options.configFile,
    projectRoot: options.baseDir,
    environment: chosen.environment,
    notices,
    ...(config.timeoutSeconds === undefined ? {} : { timeoutSeconds: config.timeoutSeconds }),
  };
}

/** migrate-mongo's config files, one or one per service (`migrate-mongo-config-<service>.js`). */
const MIGRATE_MONGO_CONFIG = /^migrate-mongo-config.*\.[cm]?js$/;

/**
 * No mongrate config, but migrate-mongo's: running its files as mongrate's (or against the
 * changelog mongrate has not got yet) would apply them all again. The way in is the import.
 */
function refuseUnimportedMigrateMongo(cwd: string): void {
  let names: string[];
  try {
    names = readdirSync(cwd).filter((name) => MIGRATE_MONGO_CONFIG.test(name)).sort();
  } catch {
    return;
  }
  const [first] = names;
  if (first === undefined) return;
  const how = names.length === 1 ? `\`mongrate import migrate-mongo${first === 'migrate-mongo-config.js' ? '' : ` --from ${first}`}\`` : `\`mongrate import migrate-mongo --from <file>\` for each`;
  throw configError(
    `no mongrate config here, but migrate-mongo's (${names.join(', ')}): run ${how} to adopt the project (it records what migrate-mongo applied, changes nothing else, and writes the mongrate config that runs its files unchanged)`,
  );
}

/** The CLI's path: find the file, validate it, merge flags and environment. */
export async function resolveConfig(
  overrides: ConfigOverrides,
  options: { cwd: string; env: NodeJS.ProcessEnv; requireDatabase?: boolean },
): Promise<ResolvedConfig> {
  const { config, file } = await loadConfigFile(options.cwd, overrides.config);
  if (file === undefined && options.requireDatabase !== false) refuseUnimportedMigrateMongo(options.cwd);
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

/**
 * For the programmatic API: a config object from code, validated the same way. It reads no
 * MONGODB_URI or MONGRATE_ENV (the code says what it wants: `environment`), but `${VAR}` in its
 * strings expand from the process's environment, as in a config file.
 */
export function resolveProgrammaticConfig(
  config: MongrateConfig,
  options: { baseDir?: string; source?: string; environment?: string | undefined; requireDatabase?: boolean } = {},
): ResolvedConfig {
  const source = options.source ?? 'createMigrator(config)';
  return mergeConfig(validateConfig(config, source), {
    baseDir: options.baseDir ?? process.cwd(),
    source,
    variables: process.env,
    overrides: { environment: options.environment },
    ...(options.requireDatabase === undefined ? {} : { requireDatabase: options.requireDatabase }),
  });
}
