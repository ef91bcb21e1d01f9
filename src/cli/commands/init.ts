/** `init [--force] [-m esm]`: write migrate.config.ts and a migrations/ folder. */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import type { CommandResult } from '../command.ts';
import { projectCommand } from '../run-command.ts';
import { configTemplate } from '../templates.ts';

interface Initialised extends CommandResult {
  /** What it wrote, relative to the project folder (the folder with a trailing '/'). */
  written: string[];
  /** The same, as absolute paths. */
  files: string[];
  database: string;
}

/** A database name derived from the project folder: letters, digits, '_' and '-' only. */
function databaseNameFor(dir: string): string {
  const name = basename(dir).toLowerCase().replace(/[^a-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 40);
  return name === '' ? 'app' : name;
}

export const initCommand = projectCommand<{ force?: boolean; module?: string }, Initialised>({
  declare: (program) =>
    program
      .command('init')
      .description('write migrate.config.ts and a migrations/ folder')
      .option('--force', 'overwrite an existing migrate.config.ts')
      .option('-m, --module <system>', "migrate-mongo's spelling: esm (what init writes anyway)"),
  async run(flags, _args, { io, globals }) {
    const cwd = io.cwd;
    const configPath = join(cwd, 'migrate.config.ts');
    const migrationsDir = join(cwd, 'migrations');
    const database = globals.db ?? databaseNameFor(cwd);
    if (flags.module !== undefined && flags.module !== 'esm') {
      const message = `init writes a TypeScript config and ES modules (-m esm); '${flags.module}' is not offered: CommonJS migration files (module.exports = { up, down }) run as they are`;
      return { written: [], files: [], database, error: { code: 'USAGE', message } };
    }
    if (existsSync(configPath) && flags.force !== true) {
      const error = { code: 'USAGE' as const, message: `${relative(cwd, configPath)} already exists; run \`mongrate init --force\` to overwrite it` };
      return { written: [], files: [], database, error };
    }
    await writeFile(configPath, configTemplate(database));
    await mkdir(migrationsDir, { recursive: true });
    const written = [relative(cwd, configPath), relative(cwd, migrationsDir) + '/'];
    return { written, files: written.map((f) => join(cwd, f)), database };
  },
  render(out, result) {
    if (result.error !== undefined) return;
    out.out(`created ${result.written.join(' and ')} (database '${result.database}')`);
    out.info('next: mongrate create <name>, then mongrate up');
  },
  json: (result) => (result.error === undefined ? { files: result.files, database: result.database } : {}),
});
