import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import type { Command } from 'commander';
import { usageError } from '../../errors.ts';
import type { Register } from '../context.ts';
import { configTemplate } from '../templates.ts';

/** A database name derived from the project folder: letters, digits, '_' and '-' only. */
function databaseNameFor(dir: string): string {
  const name = basename(dir).toLowerCase().replace(/[^a-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 40);
  return name === '' ? 'app' : name;
}

export function defineInit(program: Command, register: Register): void {
  const command = program
    .command('init')
    .description('write migrate.config.ts and a migrations/ folder')
    .option('--force', 'overwrite an existing migrate.config.ts');
  register<{ force?: boolean }>(command, async (ctx, flags) => {
    const cwd = ctx.io.cwd;
    const configPath = join(cwd, 'migrate.config.ts');
    const migrationsDir = join(cwd, 'migrations');
    if (existsSync(configPath) && flags.force !== true) {
      throw usageError(`${relative(cwd, configPath)} already exists; run \`mongrate init --force\` to overwrite it`);
    }
    const database = ctx.globals.db ?? databaseNameFor(cwd);
    await writeFile(configPath, configTemplate(database));
    await mkdir(migrationsDir, { recursive: true });
    const written = [relative(cwd, configPath), relative(cwd, migrationsDir) + '/'];
    ctx.renderer.out(`created ${written.join(' and ')} (database '${database}')`);
    ctx.renderer.info('next: mongrate create <name>, then mongrate up');
    ctx.renderer.emitJson({ ok: true, files: written.map((f) => join(cwd, f)), database });
    return 0;
  });
}
