/** The migrations folder as a provider: files listed without importing them, imported when they run. */
import { relative } from 'node:path';
import { isMigrateMongoSample, migrateMongoDefinition, migrateMongoOrder, refuseMigrateMongoStyle } from '../compat/migrate-mongo/calls.ts';
import { legacyProjectDriver } from '../driver/drivers.ts';
import type { CompatMode } from '../types.ts';
import type { MigrationProvider } from './contract.ts';
import { missingFolderMessage, scanMigrationsFolder } from './discover.ts';
import { checkDefinition, importMigrationExports, shownPath } from './load-file.ts';

export function fileProvider(dir: string, options: { compat?: CompatMode | undefined; projectRoot?: string } = {}): MigrationProvider {
  const migrateMongo = options.compat === 'migrate-mongo';
  const { projectRoot } = options;
  const define: typeof checkDefinition = migrateMongo
    ? (exported, shown) => migrateMongoDefinition(exported, shown, projectRoot === undefined ? undefined : legacyProjectDriver(projectRoot))
    : (exported, shown) => {
        refuseMigrateMongoStyle(exported, shown);
        return checkDefinition(exported, shown);
      };
  const order = migrateMongo ? migrateMongoOrder : undefined;
  return {
    origin: relative(process.cwd(), dir) || '.',
    ...(order === undefined ? {} : { order }),
    async survey() {
      const discovery = await scanMigrationsFolder(dir, migrateMongo ? { skip: isMigrateMongoSample } : {});
      if (discovery === undefined) return { migrations: [], duplicates: [], unavailable: missingFolderMessage(dir) };
      const files = order === undefined ? discovery.files : [...discovery.files].sort((a, b) => order(a.id, b.id));
      const migrations = files.map((file) => ({
        ...file,
        load: async () => define(await importMigrationExports(file.path), shownPath(file.path)),
      }));
      return { migrations, duplicates: discovery.duplicates };
    },
  };
}
