/**
 * `compat: 'migrate-mongo'`: migration files written for migrate-mongo run unchanged. It calls
 * `up(db, client)` and `down(db, client)`; mongrate's context carries both, so each call is
 * passed through. A file written with mongrate's `defineMigration` in the same folder keeps
 * mongrate's context, so a project can move file by file (where the project's driver is 6.x/7.x:
 * on its 4.x/5.x only migrate-mongo's files run, on a client of that driver, never in mongrate's
 * transaction). migrate-mongo's template, `sample-migration.<ext>`, is never a migration.
 */
import { configError, usageError } from '../../errors.ts';
import { isDefinedMigration } from '../../define.ts';
import { nativeOnLegacyDriverMessage } from '../../driver/drivers.ts';
import type { DriverInfo } from '../../driver/find.ts';
import { compareIds } from '../../providers/contract.ts';
import { checkDefinition } from '../../providers/load-file.ts';
import type { MigrationContext, MigrationDefinition } from '../../types.ts';

type MigrateMongoFn = (db: MigrationContext['db'], client: MigrationContext['client']) => unknown;

/**
 * migrate-mongo's order: it sorts file names with their extension, so `X-index.js` runs before
 * `X.js` ('-' sorts before '.'), where ids alone put `X` first. Ids are compared as those names
 * (one extension for all: migrate-mongo counts the files of one extension only).
 */
export function migrateMongoOrder(a: string, b: string): number {
  return compareIds(`${a}.js`, `${b}.js`);
}

export function isMigrateMongoSample(name: string): boolean {
  return /^sample-migration\.[^.]+$/.test(name);
}

/** `legacyDriver`: the project's 4.x/5.x driver, which the file's `(db, client)` belong to. */
export function migrateMongoDefinition(exported: object, shown: string, legacyDriver?: DriverInfo): MigrationDefinition {
  if (isDefinedMigration(exported)) {
    if (legacyDriver !== undefined) throw configError(nativeOnLegacyDriverMessage(legacyDriver, shown));
    return checkDefinition(exported, shown);
  }
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
      // (and on the project's 4.x/5.x they go through another client than the changelog's)
      transaction: legacyDriver === undefined ? (transaction ?? false) : false,
    },
    shown,
  );
}

/** The first parameter's name as written (`db` in `up(db, client)`), when it is a plain name. */
function firstParameter(fn: (...args: never[]) => unknown): string | undefined {
  const source = Function.prototype.toString.call(fn);
  const arrow = /^(?:async\s*)?([A-Za-z_$][\w$]*)\s*=>/.exec(source);
  if (arrow !== null) return arrow[1];
  return /^[^(]*\(\s*([^),=]*)/.exec(source)?.[1]?.trim();
}

/**
 * A file written for migrate-mongo (`up(db, client)`, `up(db)`) in a folder mongrate runs as its
 * own: called with mongrate's context, it would fail on "db.collection is not a function", or
 * run part of itself. Checked when the file is loaded, before anything of it runs.
 */
export function refuseMigrateMongoStyle(exported: object, shown: string): void {
  const candidate = (exported as Record<string, unknown>).up;
  if (isDefinedMigration(exported) || typeof candidate !== 'function') return;
  const up = candidate as (...args: never[]) => unknown;
  if (up.length < 2 && firstParameter(up) !== 'db') return;
  throw usageError(
    `migration ${shown} is written for migrate-mongo (up(db, client)), but this config calls migrations with mongrate's context (up({ db, client, ... })): set compat: 'migrate-mongo' in the config (\`mongrate import migrate-mongo\` adopts a migrate-mongo project and writes it), or take db from the context`,
  );
}
