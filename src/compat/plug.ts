/**
 * Plugs compat/'s conventions into the file provider: with `compat: 'migrate-mongo'` the folder's
 * files are called as migrate-mongo calls them. The public entry (index.ts) loads this module, so
 * compat sits on top of the core rather than being imported by it.
 */
import { plugConvention } from '../providers/files.ts';
import { isMigrateMongoSample, migrateMongoDefinition } from './migrate-mongo/calls.ts';

plugConvention('migrate-mongo', { skip: isMigrateMongoSample, define: migrateMongoDefinition });
