/**
 * The light public entry: the part of the public API that loads no driver, no config loader and
 * no TypeScript loader (errors, masking, the version, the types). `mongrate` (index.ts) gives all
 * of it too. The CLI imports it at start-up, so `--version` and `--help` stay fast, and the rest
 * of the public API when a command first needs it; it imports nothing else (eslint.config.js).
 */
export { defineConfig, defineMigration } from './define.ts';
export { MongrateError, messageOf, type ErrorCode, type Hint, type HintCommand, type HintOptions, type HintSetting } from './errors.ts';
export { describeHolder } from './lock/holder.ts';
export { describeDrivers } from './driver/find.ts';
export { redactText, redactUri, redactValue, secretsOf } from './util/redact.ts';
export { TOOL_VERSION } from './util/identity.ts';
export type * from './types.ts';
