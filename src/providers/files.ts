/** The migrations folder as a provider: files listed without importing them, imported when they run. */
import { relative } from 'node:path';
import { migrateMongoDefinition, isMigrateMongoSample } from '../compat/migrate-mongo/calls.ts';
import { usageError, type Hint } from '../errors.ts';
import type { CompatMode } from '../types.ts';
import type { MigrationProvider } from './contract.ts';
import { scanMigrationsFolder } from './discover.ts';
import { checkDefinition, importMigrationExports, shownPath } from './load-file.ts';

/** Where to point instead, in API terms (the CLI words it as its flag and `init`). */
const MISSING_FOLDER_HINTS: readonly Hint[] = [{ setting: 'migrationsDir', purpose: 'name the folder of migration files' }];

export function fileProvider(dir: string, options: { compat?: CompatMode | undefined } = {}): MigrationProvider {
  const migrateMongo = options.compat === 'migrate-mongo';
  const define = migrateMongo ? migrateMongoDefinition : checkDefinition;
  return {
    origin: relative(process.cwd(), dir) || '.',
    async survey() {
      const discovery = await scanMigrationsFolder(dir, migrateMongo ? { skip: isMigrateMongoSample } : {});
      if (discovery === undefined) return { migrations: [], duplicates: [], unavailable: usageError(`migrations folder not found: ${dir}`, MISSING_FOLDER_HINTS) };
      const migrations = discovery.files.map((file) => ({
        ...file,
        load: async () => define(await importMigrationExports(file.path), shownPath(file.path)),
      }));
      return { migrations, duplicates: discovery.duplicates };
    },
  };
}
