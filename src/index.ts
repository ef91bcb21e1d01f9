/**
 * The public API: what `import ... from 'mongrate'` gives. The CLI uses nothing else: the light
 * part (light.ts) at start-up, this whole entry when a command needs the server. Loading it plugs
 * compat/ (migrate-mongo's calling convention) into the file provider.
 */
import './compat/plug.ts';

export * from './light.ts';
export { createMigrator, Migrator, type MigratorOptions } from './core/migrator.ts';
export { createFanOut, FanOut, type FanOutRunOptions } from './core/fan-out.ts';
export { matchDatabases } from './core/select-databases.ts';
export { checkOffline, type OfflineCheckOptions } from './core/check-offline.ts';
export { adoptMigrateMongo, type AdoptOptions, type Adoption } from './compat/migrate-mongo/adopt.ts';
export { migrateMongoConfigTemplate, type ConfigTarget } from './compat/migrate-mongo/config-template.ts';
export { resolveConfig as loadConfig, type ConfigOverrides } from './config/resolve.ts';
export {
  reshape,
  bumpSchemaVersion,
  copyAndRename,
  ensureIndexes,
  dropIndexes,
  setValidator,
  createView,
  dropView,
  createHelpers,
  DEFAULT_BATCH_SIZE,
} from './helpers/index.ts';
export { probeServer, FEATURES, FEATURE_NAMES } from './server/capabilities.ts';
export type { ServerInfo, Feature, ServerFlavour, ServerTopology } from './server/capabilities.ts';
export type * from './helpers/types.ts';
