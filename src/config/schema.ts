/**
 * Validates a user's config object. Unknown keys and wrong types are errors that name the key,
 * because a typo such as `migrationDir` silently falling back to a default is how migrations get
 * run against the wrong folder.
 */
import { configError, usageError } from '../errors.ts';
import type { MongrateConfig } from '../types.ts';
import { isRecord } from '../util/objects.ts';

type Check = (value: unknown) => string | undefined;

const nonEmptyString: Check = (v) => (typeof v === 'string' && v.trim() !== '' ? undefined : 'a non-empty string');
const nonNegativeNumber: Check = (v) =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 ? undefined : 'a number >= 0';
const positiveNumber: Check = (v) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? undefined : 'a number > 0');
const plainObject: Check = (v) => (isRecord(v) ? undefined : 'an object');
const oneOf =
  (...allowed: string[]): Check =>
  (v) =>
    typeof v === 'string' && allowed.includes(v) ? undefined : `one of ${allowed.map((a) => `'${a}'`).join(', ')}`;

// the heartbeat renews every ttl/3 (at least every 200 ms): a lease under a second cannot be kept
const atLeastOne: Check = (v) => (typeof v === 'number' && Number.isFinite(v) && v >= 1 ? undefined : 'a number >= 1');
const LOCK_KEYS: Record<string, Check> = { ttlSeconds: atLeastOne, waitSeconds: nonNegativeNumber, deadRunOperations: oneOf('wait', 'kill') };

const wholeAtLeastOne: Check = (v) => (typeof v === 'number' && Number.isInteger(v) && v >= 1 ? undefined : 'a whole number >= 1');

/** `concurrency` given in code or as an override (the config file's is checked with the other keys): `name` is how the caller spelled it. */
export function checkConcurrency(value: number, name: string): void {
  const wanted = wholeAtLeastOne(value);
  if (wanted !== undefined) throw usageError(`${name} must be ${wanted}, got ${value}`);
}

const DATABASES_SHAPE = "a list of database names, { match: '<glob>' }, or a function ({ client }) => names";
const databaseSelection: Check = (v) => {
  if (typeof v === 'function') return undefined;
  if (Array.isArray(v)) return v.every((name) => typeof name === 'string' && name.trim() !== '') ? undefined : DATABASES_SHAPE;
  if (isRecord(v) && Object.keys(v).length === 1 && typeof v.match === 'string' && v.match.trim() !== '') return undefined;
  return DATABASES_SHAPE;
};

const inlineMigrations: Check = (v) =>
  Array.isArray(v) || (isRecord(v) && typeof v.list === 'function') ? undefined : 'a list of migrations, or a provider { list() }';

const environmentList: Check = (v) =>
  isRecord(v) && Object.values(v).every(isRecord) ? undefined : "an object of environments, e.g. { production: { uri: '${PROD_URI}' } }";
const boolean: Check = (v) => (typeof v === 'boolean' ? undefined : 'true or false');

const TOP_LEVEL_KEYS: Record<keyof MongrateConfig, Check> = {
  uri: nonEmptyString,
  database: nonEmptyString,
  migrationsDir: nonEmptyString,
  changelogCollection: nonEmptyString,
  historyCollection: nonEmptyString,
  lockCollection: nonEmptyString,
  lock: plainObject,
  transactions: oneOf('auto', 'always', 'never'),
  transactionDocumentLimit: atLeastOne,
  commitQuorum: (v) => ((typeof v === 'number' && Number.isInteger(v) && v >= 0) || (typeof v === 'string' && v !== '') ? undefined : "a whole number >= 0, 'majority', 'votingMembers' or a tag set's name"),
  clientOptions: plainObject,
  databases: databaseSelection,
  concurrency: wholeAtLeastOne,
  compat: oneOf('migrate-mongo'),
  migrations: inlineMigrations,
  environments: environmentList,
  timeoutSeconds: positiveNumber,
};

/** What an environment may set: any key but `environments`, and `protected`. */
const { environments: _environments, ...ENVIRONMENT_KEYS } = { ...TOP_LEVEL_KEYS, protected: boolean };

/** Keys that each say where the same thing comes from: one of them at most. */
const EXCLUSIVE_KEYS: [keyof MongrateConfig, keyof MongrateConfig][] = [
  ['database', 'databases'],
  ['migrationsDir', 'migrations'],
];

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? `'${value}'` : typeof value;
}

function checkKeys(object: Record<string, unknown>, checks: Record<string, Check>, prefix: string, source: string): void {
  for (const [key, value] of Object.entries(object)) {
    const check = checks[key];
    const name = prefix + key;
    if (check === undefined) {
      const known = Object.keys(checks).join(', ');
      throw configError(`${source}: unknown config key '${name}' (known keys: ${known})`);
    }
    if (value === undefined) continue;
    const expected = check(value);
    if (expected !== undefined) throw configError(`${source}: config key '${name}' must be ${expected}, got ${describe(value)}`);
  }
}

/** Checks one level of config (the top, or one environment): its keys, `lock`'s, and the keys that exclude each other. */
function checkLevel(raw: Record<string, unknown>, checks: Record<string, Check>, prefix: string, source: string): void {
  checkKeys(raw, checks, prefix, source);
  if (isRecord(raw.lock)) checkKeys(raw.lock, LOCK_KEYS, `${prefix}lock.`, source);
  for (const [a, b] of EXCLUSIVE_KEYS) {
    if (raw[a] !== undefined && raw[b] !== undefined) throw configError(`${source}: config keys '${prefix}${a}' and '${prefix}${b}' exclude each other; use one`);
  }
}

/**
 * Throws a CONFIG error naming the first bad key; returns the config typed. Every environment is
 * checked, not only the one a command chooses: a typo in `production` fails in staging's CI.
 */
export function validateConfig(raw: unknown, source: string): MongrateConfig {
  if (!isRecord(raw)) throw configError(`${source}: the config must be an object, got ${describe(raw)}`);
  checkLevel(raw, TOP_LEVEL_KEYS, '', source);
  if (isRecord(raw.environments)) {
    for (const [name, environment] of Object.entries(raw.environments)) {
      if (isRecord(environment)) checkLevel(environment, ENVIRONMENT_KEYS, `environments.${name}.`, source);
    }
  }
  return raw;
}
