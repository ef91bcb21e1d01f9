/** The public API: what `import ... from 'mongrate'` gives. The CLI uses nothing else. */
export { defineConfig, defineMigration } from './define.ts';
export { createMigrator, Migrator } from './core/migrator.ts';
export { resolveConfig as loadConfig, type ConfigOverrides } from './config/resolve.ts';
export { MongrateError, exitCodeFor, type ErrorCode } from './errors.ts';
export { redactUri } from './util/redact.ts';
export type * from './types.ts';
