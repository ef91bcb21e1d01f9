/**
 * Where migrations come from. The core asks a provider, never the file system: for the list
 * (ids, checksums, descriptions; nothing imported, so `status` never runs user code) and, for a
 * migration about to run, for its code. A migrations folder is one provider (`files.ts`), a list
 * given in code another (`inline.ts`), like Kysely's `MigrationProvider`. A migration has three
 * shapes on its way: listed (`ListedMigration`), loaded (`LoadedMigration`, with its code), and
 * a planned step of a run (core/runner.ts's `Step`).
 */
import { MongrateError } from '../errors.ts';
import type { ListedMigration, MigrationDefinition } from '../types.ts';

/** A migration with its code, ready to run. */
export interface LoadedMigration extends ListedMigration {
  definition: MigrationDefinition;
}

export interface MigrationSurvey {
  /** Migrations with a unique id, in id order. */
  migrations: ListedMigration[];
  /** Ids held by more than one migration, with what holds them (file names). */
  duplicates: { id: string; names: string[] }[];
  /**
   * Why nothing could be listed at all (no migrations folder), with the way out: `status` then
   * shows the changelog as recorded; every other command stops with this error.
   */
  unavailable?: MongrateError;
}

export interface MigrationProvider {
  /** Where the migrations come from, for messages: "migrations folder /app/migrations". */
  readonly origin: string;
  /** The order migrations run in, when it is not `compareIds` (migrate-mongo's, in compat mode). */
  readonly order?: IdOrder;
  /** A folder of migration files: where, and which file names count (what `check --offline --base` compares with git). */
  readonly folder?: { dir: string; counts: (name: string) => boolean };
  survey(): Promise<MigrationSurvey>;
  /** A listed migration's code: the file imported (or the in-code definition), checked: `up` a function, and so on. */
  load(migration: ListedMigration): Promise<LoadedMigration>;
}

/** How migration ids sort: negative when `a` runs first. */
export type IdOrder = (a: string, b: string) => number;

/** Ids sort by code unit, not locale, so every machine agrees on the order. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The migrations every command but `status` and `validate` works from: refuses duplicates and an unavailable provider. */
export async function listMigrations(provider: MigrationProvider): Promise<ListedMigration[]> {
  return checkedMigrations(await provider.survey(), provider.origin);
}

/** A survey's migrations, once nothing stands in the way: the first duplicate id is DUPLICATE_ID. */
export function checkedMigrations(survey: MigrationSurvey, origin: string): ListedMigration[] {
  if (survey.unavailable !== undefined) throw survey.unavailable;
  const [first] = survey.duplicates;
  if (first !== undefined) {
    throw new MongrateError('DUPLICATE_ID', `duplicate migration id '${first.id}': ${first.names.join(' and ')} in ${origin}; rename or remove one`);
  }
  return survey.migrations;
}

/** A listed migration with its code; the description the code names, if any, wins over the listed one. */
export function withDefinition(migration: ListedMigration, definition: MigrationDefinition): LoadedMigration {
  return {
    id: migration.id,
    checksum: migration.checksum,
    description: definition.description ?? migration.description,
    path: migration.path,
    definition,
  };
}
