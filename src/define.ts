/** Identity helpers that give config and migration files their types. */
import type { MigrationDefinition, MongrateConfig } from './types.ts';

/**
 * Marks what `defineMigration` returned (a registered symbol, so copies of mongrate agree): in a
 * `compat: 'migrate-mongo'` folder such a file keeps mongrate's context, the others get `(db, client)`.
 */
const DEFINED = Symbol.for('mongrate.defineMigration');

export function defineConfig(config: MongrateConfig): MongrateConfig {
  return config;
}

export function defineMigration(migration: MigrationDefinition): MigrationDefinition {
  if (Object.isExtensible(migration)) Object.defineProperty(migration, DEFINED, { value: true, enumerable: false });
  return migration;
}

export function isDefinedMigration(candidate: object): boolean {
  return (candidate as Record<symbol, unknown>)[DEFINED] === true;
}
