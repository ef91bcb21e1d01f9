/**
 * The driver is the project's. Migration files build values with the project's own `mongodb`
 * (`new ObjectId()`, `Long`, `instanceof ObjectId`), so mongrate's client is made with that same
 * package: then those values are never refused ("Unsupported BSON version") and documents read
 * through `ctx.db` are instances of the project's classes. Rules:
 * - the project's 6.x or 7.x runs everything: lock, changelog, history and the migrations, on one
 *   client (so a transaction can hold a migration's writes and its changelog outcome);
 * - the project's 4.x or 5.x (what migrate-mongo 14 still accepts) runs only migrate-mongo files
 *   (`compat: 'migrate-mongo'`): they get `(db, client)` of a client of that driver, as under
 *   migrate-mongo, and never run in mongrate's transaction; mongrate's own bookkeeping runs on
 *   the bundled 7.x;
 * - no `mongodb` in the project: the bundled 7.x;
 * - anything else is a config error naming the version found and the versions supported.
 * A driver is loaded once per process (Node's module cache): the very module the project's
 * `require('mongodb')` and `import 'mongodb'` give, since both resolve to the same file.
 */
import { createRequire } from 'node:module';
import { configError } from '../errors.ts';
import type { CompatMode } from '../types.ts';
import { describeDriver, findBundledDriver, findProjectDriver, type DriverInfo } from './find.ts';

/** The driver package's exports, typed as the bundled version's. */
export type DriverModule = typeof import('mongodb');

export interface Driver extends DriverInfo {
  mongodb: DriverModule;
}

/** Majors native migrations and helpers run on. */
export const NATIVE_MAJORS: readonly number[] = [6, 7];
/** Majors migrate-mongo 14 accepts (its peer dependency `^4.4.1 || ^5 || ^6 || ^7`). */
export const MIGRATE_MONGO_MAJORS: readonly number[] = [4, 5, 6, 7];

const loaded = new Map<string, Driver>();

function load(info: DriverInfo): Driver {
  let driver = loaded.get(info.entry);
  if (driver === undefined) {
    driver = { ...info, mongodb: createRequire(import.meta.filename)(info.entry) as DriverModule };
    loaded.set(info.entry, driver);
  }
  return driver;
}

export function bundledDriver(): Driver {
  return load(findBundledDriver());
}

/** Which driver mongrate's own work runs on, and which one migration functions are given. */
export interface MigrationDrivers {
  /** The lock, the changelog and history, the server probe, and the helpers. */
  bookkeeping: Driver;
  /** `ctx.db`/`ctx.client` (or migrate-mongo's `(db, client)`); the same object as `bookkeeping` unless the project's driver is 4.x/5.x. */
  migrations: Driver;
}

const majors = (list: readonly number[]): string => `${list.slice(0, -1).map((m) => `${m}.x`).join(', ')} or ${list.at(-1) ?? ''}.x`;

/** The drivers for a config (its project root and compat mode); a config error when the project's driver cannot serve. */
export function driversFor(config: { projectRoot: string; compat: CompatMode | undefined }): MigrationDrivers {
  const project = findProjectDriver(config.projectRoot);
  if (project === undefined) {
    const driver = bundledDriver();
    return { bookkeeping: driver, migrations: driver };
  }
  if (NATIVE_MAJORS.includes(project.major)) {
    const driver = load(project);
    return { bookkeeping: driver, migrations: driver };
  }
  if (config.compat === 'migrate-mongo' && MIGRATE_MONGO_MAJORS.includes(project.major)) {
    return { bookkeeping: bundledDriver(), migrations: load(project) };
  }
  throw configError(unsupportedMessage(project, config.compat));
}

function unsupportedMessage(project: DriverInfo, compat: CompatMode | undefined): string {
  const found = `this project's ${describeDriver(project)}`;
  if (compat === 'migrate-mongo') return `${found} is not one migrate-mongo 14 runs on: migrate-mongo files need mongodb ${majors(MIGRATE_MONGO_MAJORS)}`;
  const migrateMongo = MIGRATE_MONGO_MAJORS.includes(project.major) ? ` (migrate-mongo files, with compat: 'migrate-mongo', also run on ${majors(MIGRATE_MONGO_MAJORS)})` : '';
  return `${found} cannot run mongrate's migrations: they need the project's mongodb ${majors(NATIVE_MAJORS)}${migrateMongo}; upgrade the project's mongodb`;
}

/**
 * Whether migrate-mongo files of this project run on a driver of their own (the project's 4.x/5.x),
 * apart from mongrate's client: then a file written for mongrate (`defineMigration`) cannot run
 * there, and no file runs in a transaction. Found without loading the driver.
 */
export function legacyProjectDriver(projectRoot: string): DriverInfo | undefined {
  const project = findProjectDriver(projectRoot);
  return project !== undefined && !NATIVE_MAJORS.includes(project.major) ? project : undefined;
}

/** For a native migration found in a migrate-mongo project whose driver is 4.x/5.x. */
export function nativeOnLegacyDriverMessage(project: DriverInfo, shown: string): string {
  return `migration ${shown} is written for mongrate (defineMigration), which needs the project's mongodb ${majors(NATIVE_MAJORS)}; this project's ${describeDriver(project)} runs only migrate-mongo's up(db, client) files: write it in migrate-mongo's style, or upgrade the project's mongodb`;
}

/**
 * The driver of the process: for a helper called outside any migration (a driver Collection of
 * the application's own), the project of the cwd's 6.x/7.x, else the bundled one.
 */
export function defaultDriver(root = process.cwd()): Driver {
  const project = findProjectDriver(root);
  return project !== undefined && NATIVE_MAJORS.includes(project.major) ? load(project) : bundledDriver();
}
