/**
 * `compat: 'migrate-mongo'`: migration files written for migrate-mongo run unchanged. It calls
 * `up(db, client)` and `down(db, client)`; mongrate's context carries both, so each call is
 * passed through. A file written with mongrate's `defineMigration` in the same folder keeps
 * mongrate's context, so a project can move file by file. migrate-mongo's template,
 * `sample-migration.<ext>`, is never a migration.
 */
import { usageError } from '../../errors.ts';
import { isDefinedMigration } from '../../define.ts';
import { checkDefinition } from '../../providers/load-file.ts';
import type { MigrationContext, MigrationDefinition } from '../../types.ts';

type MigrateMongoFn = (db: MigrationContext['db'], client: MigrationContext['client']) => unknown;

export function isMigrateMongoSample(name: string): boolean {
  return /^sample-migration\.[^.]+$/.test(name);
}

export function migrateMongoDefinition(exported: object, shown: string): MigrationDefinition {
  if (isDefinedMigration(exported)) return checkDefinition(exported, shown);
  const { up, down, description, transaction } = exported as Record<string, unknown>;
  if (typeof up !== 'function') throw usageError(`migration ${shown} does not export an \`up(db, client)\` function`);
  if (down !== undefined && typeof down !== 'function') throw usageError(`migration ${shown}: \`down\` must be a function`);
  const call = (fn: MigrateMongoFn) => async (ctx: MigrationContext): Promise<unknown> => await fn(ctx.db, ctx.client);
  return checkDefinition(
    {
      up: call(up as MigrateMongoFn),
      ...(down === undefined ? {} : { down: call(down as MigrateMongoFn) }),
      description,
      // its writes take no session: in a transaction they would commit apart from the changelog
      transaction: transaction ?? false,
    },
    shown,
  );
}
