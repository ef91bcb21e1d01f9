/** The public API: what `import ... from 'mongrate'` gives. The CLI uses nothing else. */
export { defineConfig, defineMigration } from './define.ts';
export { createMigrator, Migrator, type MigratorOptions } from './core/migrator.ts';
export { createFanOut, FanOut, type FanOutRunOptions } from './core/fan-out.ts';
export { matchDatabases } from './core/select-databases.ts';
export { adoptMigrateMongo, type AdoptOptions, type Adoption } from './compat/migrate-mongo/adopt.ts';
export { migrateMongoConfigTemplate, type ConfigTarget } from './compat/migrate-mongo/config-template.ts';
export { resolveConfig as loadConfig, type ConfigOverrides } from './config/resolve.ts';
export { MongrateError, type ErrorCode, type Hint, type HintCommand, type HintOptions, type HintSetting } from './errors.ts';
export { redactUri } from './util/redact.ts';
export {
  reshape,
  bumpSchemaVersion,
  copyAndRename,
  ensureIndexes,
  dropIndexes,
  setValidator,
  createHelpers,
  DEFAULT_BATCH_SIZE,
} from './helpers/index.ts';
export { probeServer, FEATURES, FEATURE_NAMES } from './server/capabilities.ts';
export type { ServerInfo, Feature, ServerFlavour, ServerTopology } from './server/capabilities.ts';
export type * from './helpers/types.ts';
export type * from './types.ts';
