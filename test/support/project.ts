// Throwaway user projects: a temp folder with a config and migration files written from strings.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestProject {
  dir: string;
  migrationsDir: string;
  /** Writes (or overwrites) migrations/<name>. */
  write(name: string, source: string): Promise<string>;
  /** Writes a file relative to the project root. */
  writeFile(relativePath: string, source: string): Promise<string>;
  remove(): Promise<void>;
}

export async function createProject(options: { config?: string } = {}): Promise<TestProject> {
  const dir = await mkdtemp(join(tmpdir(), 'mongrate-test-'));
  const migrationsDir = join(dir, 'migrations');
  await mkdir(migrationsDir);
  const project: TestProject = {
    dir,
    migrationsDir,
    write: async (name, source) => {
      const path = join(migrationsDir, name);
      await writeFile(path, source);
      return path;
    },
    writeFile: async (relativePath, source) => {
      const path = join(dir, relativePath);
      await writeFile(path, source);
      return path;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
  if (options.config !== undefined) await project.writeFile('migrate.config.ts', options.config);
  return project;
}

/** A migration that inserts a marker document into `marks` (and removes it in down). */
export function markerMigration(mark: string, options: { description?: string; down?: boolean } = {}): string {
  return `import { defineMigration } from 'mongrate';
export default defineMigration({
  description: ${JSON.stringify(options.description ?? `mark ${mark}`)},
  async up({ db }) {
    await db.collection('marks').insertOne({ mark: ${JSON.stringify(mark)}, at: new Date() });
  },${options.down === false ? '' : `
  async down({ db }) {
    await db.collection('marks').deleteOne({ mark: ${JSON.stringify(mark)} });
  },`}
});
`;
}

/**
 * A migration whose up throws `message` after inserting a marker, outside a transaction on every
 * server: its marker stays, and it is `failed` (half done), whatever the server.
 */
export function failingMigration(message: string): string {
  return `export const transaction = false;
export async function up({ db }) {
  await db.collection('marks').insertOne({ mark: 'half-done' });
  throw new Error(${JSON.stringify(message)});
}
export async function down() {}
`;
}

/** Three migrations in a row, each with its marker and description. */
export const THREE = { A: '001-alpha', B: '002-beta', C: '003-gamma' } as const;

export async function writeThree(project: TestProject): Promise<void> {
  await project.write(`${THREE.A}.ts`, markerMigration('a', { description: 'first alpha' }));
  await project.write(`${THREE.B}.ts`, markerMigration('b', { description: 'second beta' }));
  await project.write(`${THREE.C}.ts`, markerMigration('c', { description: 'third gamma' }));
}
