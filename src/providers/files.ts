/**
 * The migrations folder as a provider: files listed without importing them, imported when they
 * run. How a file becomes a migration is a convention: mongrate's own, or one that compat/ plugs
 * in for `compat` (src/compat/plug.ts, loaded by the public entry), so providers never import compat.
 */
import { relative } from 'node:path';
import { configError, usageError, type Hint } from '../errors.ts';
import type { CompatMode, MigrationDefinition } from '../types.ts';
import { withDefinition, type MigrationProvider } from './contract.ts';
import { scanMigrationsFolder } from './discover.ts';
import { checkDefinition, importMigrationExports, shownPath } from './load-file.ts';

/** How the files of a folder become migrations. */
export interface FileConvention {
  /** Files that do not count, beyond the contract's rules (migrate-mongo's `sample-migration.*`). */
  skip?: (name: string) => boolean;
  /** A module's exports as a checked definition; `shown` names the file in messages. */
  define: (exported: object, shown: string) => MigrationDefinition;
}

const NATIVE: FileConvention = { define: checkDefinition };
const plugged = new Map<CompatMode, FileConvention>();

/** Makes `compat: mode` call files the way `convention` says. */
export function plugConvention(mode: CompatMode, convention: FileConvention): void {
  plugged.set(mode, convention);
}

/** Where to point instead, in API terms (the CLI words it as its flag and `init`). */
const MISSING_FOLDER_HINTS: readonly Hint[] = [{ setting: 'migrationsDir', purpose: 'name the folder of migration files' }];

export function fileProvider(dir: string, compat?: CompatMode): MigrationProvider {
  const convention = compat === undefined ? NATIVE : plugged.get(compat);
  if (convention === undefined) throw configError(`compat '${String(compat)}' is not plugged in: load mongrate through its public entry ('mongrate'), which plugs it in`);
  return {
    origin: relative(process.cwd(), dir) || '.',
    async survey() {
      const discovery = await scanMigrationsFolder(dir, convention.skip === undefined ? {} : { skip: convention.skip });
      if (discovery === undefined) return { migrations: [], duplicates: [], unavailable: usageError(`migrations folder not found: ${dir}`, MISSING_FOLDER_HINTS) };
      return { migrations: discovery.files, duplicates: discovery.duplicates };
    },
    async load(migration) {
      const { path } = migration;
      // a listed file always has its path: one without comes from another provider
      if (path === undefined) throw usageError(`migration '${migration.id}' is not a file of ${dir}`);
      return withDefinition(migration, convention.define(await importMigrationExports(path), shownPath(path)));
    },
  };
}
