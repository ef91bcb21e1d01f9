/** Imports one migration file and checks its shape: default export, named exports or CommonJS. */
import { relative } from 'node:path';
import { messageOf, usageError } from '../errors.ts';
import type { MigrationDefinition, MigrationFn } from '../types.ts';
import { importModule } from '../util/import-module.ts';
import { isRecord } from '../util/objects.ts';

/** A module's export that looks like a migration (it has `up` or `down`), its shape not checked yet. */
function asExported(candidate: unknown): Record<string, unknown> | undefined {
  if (!isRecord(candidate)) return undefined;
  return 'up' in candidate || 'down' in candidate ? candidate : undefined;
}

/** The path as messages show it: relative to the cwd when it is below it. */
export function shownPath(path: string): string {
  return relative(process.cwd(), path) || path;
}

/** The object a migration module exports (its default export, or its named exports). */
export async function importMigrationExports(path: string): Promise<Record<string, unknown>> {
  let namespace: Record<string, unknown>;
  try {
    namespace = await importModule(path);
  } catch (error) {
    throw usageError(`cannot load migration ${shownPath(path)}: ${messageOf(error).replace(/\s*\n\s*/g, ' at ')}`);
  }
  return asExported(namespace.default) ?? asExported(namespace) ?? {};
}

/** Checks what a migration exports (a file's module, or what was given in code); `shown` names it in messages. */
export function checkDefinition(exported: object, shown: string): MigrationDefinition {
  const { up, down, description, transaction, timeoutSeconds } = exported as Record<string, unknown>;
  if (typeof up !== 'function') throw usageError(`migration ${shown} does not export an \`up\` function`);
  if (down !== undefined && typeof down !== 'function') throw usageError(`migration ${shown}: \`down\` must be a function`);
  if (transaction !== undefined && typeof transaction !== 'boolean') {
    throw usageError(`migration ${shown}: \`transaction\` must be true or false`);
  }
  if (timeoutSeconds !== undefined && (typeof timeoutSeconds !== 'number' || !Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0)) {
    throw usageError(`migration ${shown}: \`timeoutSeconds\` must be a number of seconds > 0`);
  }
  return {
    up: up as MigrationFn,
    ...(down === undefined ? {} : { down: down as MigrationFn }),
    ...(typeof description === 'string' ? { description } : {}),
    ...(transaction === undefined ? {} : { transaction }),
    ...(typeof timeoutSeconds === 'number' ? { timeoutSeconds } : {}),
  };
}
