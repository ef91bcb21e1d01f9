/** Imports one migration file and checks its shape: default export, named exports or CommonJS. */
import { relative } from 'node:path';
import { messageOf, usageError } from '../errors.ts';
import type { MigrationDefinition, MigrationFile, MigrationFn } from '../types.ts';
import { importModule } from '../util/import-module.ts';

export interface LoadedMigration extends MigrationFile {
  definition: MigrationDefinition;
}

function asDefinition(candidate: unknown): Partial<Record<keyof MigrationDefinition, unknown>> | undefined {
  if (typeof candidate !== 'object' || candidate === null) return undefined;
  return 'up' in candidate || 'down' in candidate ? (candidate) : undefined;
}

export async function loadMigration(file: MigrationFile): Promise<LoadedMigration> {
  const shown = relative(process.cwd(), file.path) || file.path;
  let namespace: Record<string, unknown>;
  try {
    namespace = await importModule(file.path);
  } catch (error) {
    throw usageError(`cannot load migration ${shown}: ${messageOf(error).replace(/\s*\n\s*/g, ' at ')}`);
  }
  const exported = asDefinition(namespace.default) ?? asDefinition(namespace) ?? {};
  const { up, down, description, transaction } = exported;
  if (typeof up !== 'function') throw usageError(`migration ${shown} does not export an \`up\` function`);
  if (down !== undefined && typeof down !== 'function') throw usageError(`migration ${shown}: \`down\` must be a function`);
  if (transaction !== undefined && typeof transaction !== 'boolean') {
    throw usageError(`migration ${shown}: \`transaction\` must be true or false`);
  }
  return {
    ...file,
    description: typeof description === 'string' ? description : file.description,
    definition: {
      up: up as MigrationFn,
      ...(down === undefined ? {} : { down: down as MigrationFn }),
      ...(typeof description === 'string' ? { description } : {}),
      ...(transaction === undefined ? {} : { transaction }),
    },
  };
}
