/**
 * Loads user code (config and migration files, in TypeScript or JavaScript, ESM or CommonJS) at
 * run time with jiti. `mongrate` imported from user code resolves to this very package, so
 * migrations work under `npx mongrate` in a project that does not install mongrate itself, and
 * helpers are the same instances the runner uses.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { Jiti } from 'jiti';
import { ownFile } from './package-files.ts';

let jiti: Promise<Jiti> | undefined;

/**
 * Loaded on first use: a `status` with a JSON config never pays for the TypeScript loader. Through
 * require, not import(): jiti is a 190 KB CommonJS bundle, and import() would also run Node's
 * CommonJS export scan over it (~45 ms to load that way against ~22 ms).
 *
 * `mongrate` itself is handed to jiti as the module this process already loaded (a virtual
 * module): resolved as a file, jiti reads the whole bundled entry (~340 KB) and its package.json
 * again for every migration before importing it natively. The alias still serves any other
 * specifier starting with `mongrate`.
 */
function loader(): Promise<Jiti> {
  jiti ??= (async () => {
    const entry = ownFile('index.js', 'index.ts');
    const api = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
    return (createRequire(import.meta.url)('jiti') as typeof import('jiti')).createJiti(import.meta.url, {
      interopDefault: false,
      moduleCache: false,
      alias: { mongrate: entry },
      virtualModules: { mongrate: api },
    });
  })();
  return jiti;
}

/** The module namespace of a file; throws what the file's evaluation throws (syntax errors included). */
export async function importModule(path: string): Promise<Record<string, unknown>> {
  const namespace: unknown = await (await loader()).import(path);
  if (typeof namespace !== 'object' || namespace === null) return { default: namespace };
  return namespace as Record<string, unknown>;
}
