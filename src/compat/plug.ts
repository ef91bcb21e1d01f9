/**
 * Plugs compat/'s conventions into the file provider: with `compat: 'migrate-mongo'` the folder's
 * files are called as migrate-mongo calls them, in its order; a native folder refuses a file written
 * for migrate-mongo with the way in. The public entry (index.ts) loads this module, so
 * compat sits on top of the core rather than being imported by it.
 */
import { legacyProjectDriver } from '../driver/drivers.ts';
import { plugConvention, plugNativeCheck } from '../providers/files.ts';
import { isMigrateMongoSample, migrateMongoDefinition, migrateMongoOrder, refuseMigrateMongoStyle } from './migrate-mongo/calls.ts';

plugConvention('migrate-mongo', {
  skip: isMigrateMongoSample,
  // the files' (db, client) belong to the project's driver; on its 4.x/5.x only migrate-mongo files can run
  define: (exported, shown, projectRoot) => migrateMongoDefinition(exported, shown, projectRoot === undefined ? undefined : legacyProjectDriver(projectRoot)),
  order: migrateMongoOrder,
});
// a file written for migrate-mongo in a native folder fails with the way in, not "db.collection is not a function"
plugNativeCheck(refuseMigrateMongoStyle);
