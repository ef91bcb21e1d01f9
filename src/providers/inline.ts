/**
 * Migrations given in code (`createMigrator({ migrations })`): a list, or a provider asked for
 * the list on every command. For bundled applications, where no migration files exist at run
 * time. Ids order as file ids do; the checksum is of `source` when given, else there is none and
 * `status` says `unchecked` for an applied one.
 */
import { usageError } from '../errors.ts';
import type { InlineMigration, InlineMigrationProvider } from '../types.ts';
import type { ListedMigration } from '../types.ts';
import { compareIds, withDefinition, type MigrationProvider } from './contract.ts';
import { checksumOf } from './discover.ts';
import { checkDefinition } from './load-file.ts';

export function inlineProvider(migrations: InlineMigration[] | InlineMigrationProvider): MigrationProvider {
  // the definitions of the latest list, by id: what load() hands out for a migration it listed
  let listed = new Map<string, InlineMigration>();
  return {
    origin: 'the migrations given in code',
    async survey() {
      const list: unknown = Array.isArray(migrations) ? migrations : await migrations.list();
      if (!Array.isArray(list)) throw usageError('migrations.list() must resolve to an array of migrations');
      const byId = new Map<string, { index: number; migration: InlineMigration }[]>();
      for (const [index, migration] of (list as unknown[]).entries()) {
        const checked = checkEntry(migration, index);
        byId.set(checked.id, [...(byId.get(checked.id) ?? []), { index, migration: checked }]);
      }
      const unique = new Map<string, InlineMigration>();
      const duplicates: { id: string; names: string[] }[] = [];
      for (const [id, entries] of byId) {
        const [only] = entries;
        if (entries.length > 1 || only === undefined) duplicates.push({ id, names: entries.map((e) => `migrations[${e.index}]`) });
        else unique.set(id, only.migration);
      }
      listed = unique;
      return {
        migrations: [...unique.values()].map(listing).sort((a, b) => compareIds(a.id, b.id)),
        duplicates: duplicates.sort((a, b) => compareIds(a.id, b.id)),
      };
    },
    // checked when it is about to run, like a file: `validate` reports a bad one among the rest
    load(migration) {
      return Promise.resolve().then(() => {
        const definition = listed.get(migration.id);
        if (definition === undefined) throw usageError(`migration '${migration.id}' is not among the migrations given in code`);
        return withDefinition(migration, checkDefinition(definition, `'${migration.id}'`));
      });
    },
  };
}

function checkEntry(entry: unknown, index: number): InlineMigration {
  if (typeof entry !== 'object' || entry === null) throw usageError(`migrations[${index}] must be an object { id, up, down?, description?, transaction?, source? }`);
  const { id, source } = entry as Record<string, unknown>;
  if (typeof id !== 'string' || id.trim() === '') throw usageError(`migrations[${index}] needs an \`id\`: a non-empty string`);
  if (source !== undefined && typeof source !== 'string') throw usageError(`migration '${id}': \`source\` must be a string (its source text)`);
  return entry as InlineMigration;
}

function listing({ id, source, description }: InlineMigration): ListedMigration {
  return {
    id,
    checksum: source === undefined ? undefined : checksumOf(source),
    description: typeof description === 'string' ? description : undefined,
    path: undefined,
  };
}
