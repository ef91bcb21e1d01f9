// Temporary folders for tests that read files: one root per test file, removed after it.
import { after, before } from 'node:test';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempFolders {
  /** A fresh folder holding the given files (name -> content). */
  folder: (files: Record<string, string>) => Promise<string>;
  /** The root all folders live in (set once the tests start). */
  root: () => string;
}

/** Registers before/after hooks in the current scope (file or describe) for one temporary root. */
export function tempFolders(prefix: string): TempFolders {
  let root: string | undefined;
  let counter = 0;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), prefix));
  });
  after(async () => {
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });
  const rootDir = (): string => {
    if (root === undefined) throw new Error('tempFolders: used before its before() hook ran');
    return root;
  };
  return {
    root: rootDir,
    folder: async (files) => {
      counter += 1;
      const dir = join(rootDir(), `f${String(counter)}`);
      await mkdir(dir);
      for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
      return dir;
    },
  };
}
