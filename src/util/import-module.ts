/**
 * Loads user code (config and migration files, in TypeScript or JavaScript, ESM or CommonJS) at
 * run time with jiti. `mongrate` imported from user code resolves to this very package, so
 * migrations work under `npx mongrate` in a project that does not install mongrate itself, and
 * helpers are the same instances the runner uses.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Jiti } from 'jiti';

function ownEntry(): string {
  // dist/util/import-module.js -> dist/index.js; under tsx (tests) src/util -> src/index.ts
  const js = fileURLToPath(new URL('../index.js', import.meta.url));
  return existsSync(js) ? js : fileURLToPath(new URL('../index.ts', import.meta.url));
}

let jiti: Promise<Jiti> | undefined;

/** Loaded on first use: a `status` with a JSON config never pays for the TypeScript loader. */
function loader(): Promise<Jiti> {
  jiti ??= import('jiti').then(({ createJiti }) =>
    createJiti(import.meta.url, { interopDefault: false, moduleCache: false, alias: { mongrate: ownEntry() } }),
  );
  return jiti;
}

/** The module namespace of a file; throws what the file's evaluation throws (syntax errors included). */
export async function importModule(path: string): Promise<Record<string, unknown>> {
  const namespace: unknown = await (await loader()).import(path);
  if (typeof namespace !== 'object' || namespace === null) return { default: namespace };
  return namespace as Record<string, unknown>;
}
