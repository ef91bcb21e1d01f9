/**
 * Validates a user's config object. Unknown keys and wrong types are errors that name the key,
 * because a typo such as `migrationDir` silently falling back to a default is how migrations get
 * run against the wrong folder.
 */
import { configError } from '../errors.ts';
import type { MongrateConfig } from '../types.ts';

type Check = (value: unknown) => string | undefined;

const nonEmptyString: Check = (v) => (typeof v === 'string' && v.trim() !== '' ? undefined : 'a non-empty string');
const nonNegativeNumber: Check = (v) =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 ? undefined : 'a number >= 0';
const plainObject: Check = (v) => (isPlainObject(v) ? undefined : 'an object');
const oneOf =
  (...allowed: string[]): Check =>
  (v) =>
    typeof v === 'string' && allowed.includes(v) ? undefined : `one of ${allowed.map((a) => `'${a}'`).join(', ')}`;

// the heartbeat renews every ttl/3 (at least every 200 ms): a lease under a second cannot be kept
const atLeastOne: Check = (v) => (typeof v === 'number' && Number.isFinite(v) && v >= 1 ? undefined : 'a number >= 1');
const LOCK_KEYS: Record<string, Check> = { ttlSeconds: atLeastOne, waitSeconds: nonNegativeNumber, deadRunOperations: oneOf('wait', 'kill') };

const wholeAtLeastOne: Check = (v) => (typeof v === 'number' && Number.isInteger(v) && v >= 1 ? undefined : 'a whole number >= 1');

const DATABASES_SHAPE = "a list of database names, { match: '<glob>' }, or a function ({ client }) => names";
const databaseSelection: Check = (v) => {
  if (typeof v === 'function') return undefined;
  if (Array.isArray(v)) return v.every((name) => typeof name === 'string' && name.trim() !== '') ? undefined : DATABASES_SHAPE;
  if (isPlainObject(v) && Object.keys(v).length === 1 && typeof v.match === 'string' && v.match.trim() !== '') return undefined;
  return DATABASES_SHAPE;
};

const inlineMigrations: Check = (v) =>
  Array.isArray(v) || (isPlainObject(v) && typeof v.list === 'function') ? undefined : 'a list of migrations, or a provider { list() }';

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
  clientOptions: plainObject,
  databases: databaseSelection,
  concurrency: wholeAtLeastOne,
  compat: oneOf('migrate-mongo'),
  migrations: inlineMigrations,
};

/** Keys that each say where the same thing comes from: one of them at most. */
const EXCLUSIVE_KEYS: [keyof MongrateConfig, keyof MongrateConfig][] = [
  ['database', 'databases'],
  ['migrationsDir', 'migrations'],
];

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

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

/** Throws a CONFIG error naming the first bad key; returns the config typed. */
export function validateConfig(raw: unknown, source: string): MongrateConfig {
  if (!isPlainObject(raw)) throw configError(`${source}: the config must be an object, got ${describe(raw)}`);
  checkKeys(raw, TOP_LEVEL_KEYS, '', source);
  if (isPlainObject(raw.lock)) checkKeys(raw.lock, LOCK_KEYS, 'lock.', source);
  for (const [a, b] of EXCLUSIVE_KEYS) {
    if (raw[a] !== undefined && raw[b] !== undefined) throw configError(`${source}: config keys '${a}' and '${b}' exclude each other; use one`);
  }
  return raw;
}
