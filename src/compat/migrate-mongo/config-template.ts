/**
 * The `migrate.config.ts` that `mongrate import migrate-mongo` writes: it reads the connection
 * from migrate-mongo's config at load time, so no URL, user or password is ever copied into it.
 */
import { relative, sep } from 'node:path';
import type { MigrateMongoSettings } from './config.ts';

export function migrateMongoConfigTemplate(settings: MigrateMongoSettings, configDir: string): string {
  const rel = relative(configDir, settings.file).split(sep).join('/');
  const from = rel.startsWith('.') ? rel : `./${rel}`;
  return `// Written by \`mongrate import migrate-mongo\`. The connection stays in ${rel}: this file
// reads it from there, so no credentials are copied here. Migration files keep migrate-mongo's
// \`up(db, client)\` / \`down(db, client)\`; files written with defineMigration get mongrate's context.
import { defineConfig } from 'mongrate';
import migrateMongoConfig from ${JSON.stringify(from)};

export default Promise.resolve(migrateMongoConfig).then((config) =>
  defineConfig({
    uri: config.mongodb.url,
    database: config.mongodb.databaseName,
    clientOptions: config.mongodb.options,
    migrationsDir: config.migrationsDir ?? 'migrations',
    compat: 'migrate-mongo',
  }),
);
`;
}
