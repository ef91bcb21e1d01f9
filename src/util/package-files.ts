/**
 * Files of this package found from the package's root, not from the module asking: the built
 * `dist/` is bundled (its code sits in entry files and chunks at different depths), while the
 * tests run the same modules from `src/`, so a path relative to `import.meta.url` would be right
 * in one layout only.
 */
import { existsSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The nearest folder above this module holding a package.json: neither dist/ nor src/ has one. */
function findRoot(): string {
  for (let dir = here; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`mongrate cannot find its own package.json above ${here}: reinstall mongrate`);
  }
}

export const PACKAGE_ROOT = findRoot();

/** Whether this code runs from the built `dist/` (an installed package) rather than from `src/`. */
const fromDist = here === join(PACKAGE_ROOT, 'dist') || here.startsWith(join(PACKAGE_ROOT, 'dist') + sep);

/** A file of the package: `built` (below dist/) when running from dist/, else `source` (below src/). */
export function ownFile(built: string, source: string): string {
  return fromDist ? join(PACKAGE_ROOT, 'dist', built) : join(PACKAGE_ROOT, 'src', source);
}
