/**
 * Files of this package found from the package's root, not from the module asking: the built
 * `dist/` is bundled (its code sits in entry files and chunks at different depths), while the
 * tests run the same modules from `src/`, so a path relative to `import.meta.url` would be right
 * in one layout only. An application may also bundle mongrate into its own file: then no
 * mongrate package is above the code, and what needs one says so when asked.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The package.json's fields read here, or undefined where there is none or it is not JSON. */
function packageAt(dir: string): { name?: unknown; version?: unknown } | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
  } catch {
    return undefined;
  }
}

/** The nearest folder above this module holding mongrate's package.json (neither dist/ nor src/ has one). */
function findRoot(): { dir: string; version: string } | undefined {
  for (let dir = here; ; dir = dirname(dir)) {
    const pkg = packageAt(dir);
    if (pkg?.name === 'mongrate') return { dir, version: typeof pkg.version === 'string' ? pkg.version : 'unknown' };
    if (dirname(dir) === dir) return undefined;
  }
}

const root = findRoot();

/** mongrate's version from its package.json; 'unknown' where an application bundled mongrate into its own code. */
export const PACKAGE_VERSION = root?.version ?? 'unknown';

/** Whether this code runs from the built `dist/` (an installed package) rather than from `src/`. */
const fromDist = root !== undefined && (here === join(root.dir, 'dist') || here.startsWith(join(root.dir, 'dist') + sep));

/** A file of the package: `built` (below dist/) when running from dist/, else `source` (below src/). */
export function ownFile(built: string, source: string): string {
  if (root === undefined) throw new Error(`mongrate's own files are not here (${here}): it was bundled into this application, so load migrations and config in code, not from files`);
  return fromDist ? join(root.dir, 'dist', built) : join(root.dir, 'src', source);
}
