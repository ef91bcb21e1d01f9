/**
 * The migrations folder as a provider: files listed without importing them, imported when they
 * run. How a file becomes a migration is a convention: mongrate's own, or one that compat/ plugs
 * in for `compat` (src/compat/plug.ts, loaded by the public entry), so providers never import compat.
 */
import { relative } from 'node:path';
import { configError, usageError, type Hint } from '../errors.ts';
import type { CompatMode, MigrationDefinition } from '../types.ts';
import { withDefinition, type IdOrder, type MigrationProvider } from './contract.ts';
import { isMigrationFileName, scanMigrationsFolder } from './discover.ts';
import { checkDefinition, importMigrationExports, shownPath } from './load-file.ts';

/** How the files of a folder become migrations. */
export interface FileConvention {
  /** Files that do not count, beyond the contract's rules (migrate-mongo's `sample-migration.*`). */
  skip?: (name: string) => boolean;
  /**
   * A module's exports as a checked definition; `shown` names the file in messages; `projectRoot`
   * is where the project's own driver is found (some conventions depend on its version).
   */
  define: (exported: object, shown: string, projectRoot: string | undefined) => MigrationDefinition;
  /** The order the migrations run in, when it is not `compareIds` (migrate-mongo's, in compat mode). */
  order?: IdOrder;
}

/** Checks a native file must pass before it is called with mongrate's context (compat/ adds one). */
const nativeChecks: ((exported: object, shown: string) => void)[] = [];

const NATIVE: FileConvention = {
  define: (exported, shown) => {
    for (const check of nativeChecks) check(exported, shown);
    return checkDefinition(exported, shown);
  },
};
const plugged = new Map<CompatMode, FileConvention>();

/** Makes `compat: mode` call files the way `convention` says. */
export function plugConvention(mode: CompatMode, convention: FileConvention): void {
  plugged.set(mode, convention);
}

/** Adds a check of native files: e.g. compat/ refusing a file written for another tool, with the way in. */
export function plugNativeCheck(check: (exported: object, shown: string) => void): void {
  nativeChecks.push(check);
}

/** Where to point instead, in API terms (the CLI words it as its flag and `init`). */
const MISSING_FOLDER_HINTS: readonly Hint[] = [{ setting: 'migrationsDir', purpose: 'name the folder of migration files' }];

export function fileProvider(dir: string, options: { compat?: CompatMode | undefined; projectRoot?: string | undefined } = {}): MigrationProvider {
  const { compat, projectRoot } = options;
  const convention = compat === undefined ? NATIVE : plugged.get(compat);
  if (convention === undefined) throw configError(`compat '${String(compat)}' is not plugged in: load mongrate through its public entry ('mongrate'), which plugs it in`);
  const { order } = convention;
  const counts = (name: string): boolean => isMigrationFileName(name) && convention.skip?.(name) !== true;
  return {
    origin: relative(process.cwd(), dir) || '.',
    ...(order === undefined ? {} : { order }),
    folder: { dir, counts },
    async survey() {
      const discovery = await scanMigrationsFolder(dir, convention.skip === undefined ? {} : { skip: convention.skip });
      if (discovery === undefined) return { migrations: [], duplicates: [], unavailable: usageError(`migrations folder not found: ${dir}`, MISSING_FOLDER_HINTS) };
      const migrations = order === undefined ? discovery.files : [...discovery.files].sort((a, b) => order(a.id, b.id));
      return { migrations, duplicates: discovery.duplicates };
    },
    async load(migration) {
      const { path } = migration;
      // a listed file always has its path: one without comes from another provider
      if (path === undefined) throw usageError(`migration '${migration.id}' is not a file of ${dir}`);
      return withDefinition(migration, convention.define(await importMigrationExports(path), shownPath(path), projectRoot));
    },
  };
}
