/** Identity helpers that give config and migration files their types. */
import type { MigrationDefinition, MongrateConfig } from './types.ts';

export function defineConfig(config: MongrateConfig): MongrateConfig {
  return config;
}

export function defineMigration(migration: MigrationDefinition): MigrationDefinition {
  return migration;
}
