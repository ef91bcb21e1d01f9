/**
 * Which `mongodb` package a project resolves, found without loading it (so `--version` stays
 * light): the project's own, resolved from the project root (the config file's folder, else the
 * cwd) exactly as the project's own `require('mongodb')` resolves it; else the one mongrate
 * bundles. The version is read from the package's `package.json`.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface DriverInfo {
  /** `project`: the project's own `mongodb`; `bundled`: the one mongrate depends on (the project has none). */
  source: 'project' | 'bundled';
  /** e.g. `6.22.0`. */
  version: string;
  major: number;
  /** The package's folder. */
  dir: string;
  /** The file `require('mongodb')` loads. */
  entry: string;
}

/** The package folder above a resolved entry file: the nearest `package.json` named `mongodb`. */
function packageOf(entry: string): { dir: string; version: string } | undefined {
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    let pkg: { name?: unknown; version?: unknown };
    try {
      pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as typeof pkg;
    } catch {
      // none here (or not readable): the package's own is further up
      continue;
    }
    if (pkg.name === 'mongodb' && typeof pkg.version === 'string') return { dir, version: pkg.version };
  }
  return undefined;
}

function infoAt(entry: string, source: DriverInfo['source']): DriverInfo | undefined {
  const found = packageOf(entry);
  if (found === undefined) return undefined;
  return { source, version: found.version, major: Number.parseInt(found.version, 10), dir: found.dir, entry };
}

/** `require.resolve('mongodb')` as seen from `from` (a file path); undefined where it resolves nowhere. */
function resolveFrom(from: string): string | undefined {
  try {
    return createRequire(from).resolve('mongodb');
  } catch {
    return undefined;
  }
}

const found = new Map<string, DriverInfo | undefined>();

/** The project's own `mongodb`, if the project root resolves one. */
export function findProjectDriver(root: string): DriverInfo | undefined {
  if (!found.has(root)) {
    const entry = resolveFrom(join(root, 'package.json'));
    found.set(root, entry === undefined ? undefined : infoAt(entry, 'project'));
  }
  return found.get(root);
}

let bundled: DriverInfo | undefined;

/** The `mongodb` mongrate itself depends on. */
export function findBundledDriver(): DriverInfo {
  if (bundled === undefined) {
    const entry = resolveFrom(import.meta.filename);
    const info = entry === undefined ? undefined : infoAt(entry, 'bundled');
    if (info === undefined) throw new Error('mongrate cannot find its own mongodb package: reinstall mongrate');
    bundled = info;
  }
  return bundled;
}

/** The driver a project's root resolves: its own, else mongrate's. */
export function findDriver(root: string): DriverInfo {
  return findProjectDriver(root) ?? findBundledDriver();
}

/** e.g. `mongodb 6.22.0 (the project's, /app/node_modules/mongodb)`. */
export function describeDriver(info: DriverInfo): string {
  return `mongodb ${info.version} (${info.source === 'project' ? "the project's" : "mongrate's own: the project has none"}, ${info.dir})`;
}

/** Which driver runs what for a project root, for `--version` and `--verbose`. */
export function describeDrivers(root: string): string {
  const driver = findDriver(root);
  // the project's 4.x/5.x runs migrate-mongo files only (see drivers.ts)
  if (driver.major >= 6) return describeDriver(driver);
  const bundled = findBundledDriver();
  return `${describeDriver(driver)} for migrate-mongo files; mongrate's own client on mongodb ${bundled.version} (bundled, ${bundled.dir})`;
}

/**
 * The oldest MongoDB version the driver speaks to (`4.4` for 7.x), as the driver itself declares
 * it; undefined when its package does not say (a layout this code does not know).
 */
export function oldestServerFor(info: DriverInfo): string | undefined {
  try {
    const constants = createRequire(info.entry)(join(info.dir, 'lib', 'cmap', 'wire_protocol', 'constants.js')) as { MIN_SUPPORTED_SERVER_VERSION?: unknown };
    return typeof constants.MIN_SUPPORTED_SERVER_VERSION === 'string' ? constants.MIN_SUPPORTED_SERVER_VERSION : undefined;
  } catch {
    return undefined;
  }
}
