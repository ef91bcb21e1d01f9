import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { usageError } from '../../errors.ts';
import type { Migrator } from '../../index.ts';
import { api, type Register } from '../context.ts';
import { migrationTemplate } from '../templates.ts';

/** `add User profile!` -> `add-user-profile`. Path tricks are refused before slugging. */
export function slugify(name: string): string {
  if (/[/\\]/.test(name) || name.includes('..')) {
    throw usageError(`invalid migration name '${name}': no path separators or '..'; use words like add-user-profile`);
  }
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80);
  if (slug === '') throw usageError(`invalid migration name '${name}': it has no letters or digits to use`);
  return slug;
}

/** What `status` shows until the author writes better: the name in words (`add-users-index` -> `Add users index`). */
export function descriptionFor(name: string): string {
  const words = name.trim().replace(/[-_\s]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** UTC, so two developers in different zones cannot produce ids that sort against creation order. */
export function timestampId(date: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return (
    String(date.getUTCFullYear()) +
    pad(date.getUTCMonth() + 1) +
    pad(date.getUTCDate()) +
    pad(date.getUTCHours()) +
    pad(date.getUTCMinutes()) +
    pad(date.getUTCSeconds())
  );
}

/** Applied ids from the changelog when a server answers quickly; creating a file must not wait on an outage. */
async function appliedIds(migrator: Migrator): Promise<string[]> {
  try {
    return (await migrator.records()).map((r) => r._id);
  } catch {
    return [];
  }
}

export function defineCreate(program: Command, register: Register): void {
  const command = program
    .command('create')
    .argument('<name>', 'what the migration does, e.g. add-user-profile')
    .description('write a new migration file with up and down')
    .option('--js', 'write JavaScript instead of TypeScript');
  register<{ js?: boolean }>(command, async (ctx, flags, [name = '']) => {
    const slug = slugify(name);
    const config = await ctx.config({ requireDatabase: false });
    const id = `${timestampId(new Date())}-${slug}`;
    const file = join(config.migrationsDir, `${id}.${flags.js === true ? 'js' : 'ts'}`);
    await mkdir(config.migrationsDir, { recursive: true });
    const migrator = (await api()).createMigrator(config.database === '' ? config : { ...config, clientOptions: { ...config.clientOptions, serverSelectionTimeoutMS: 1500 } });
    try {
      const existing = (await migrator.files()).map((f) => f.id);
      const applied = config.database === '' ? [] : await appliedIds(migrator);
      const newer = [...existing, ...applied].filter((other) => other >= id).sort();
      if (newer.length > 0) {
        throw usageError(`cannot create ${id}: it would sort before or equal to existing migration ${newer.at(-1) ?? ''}; check your clock or that migration's name`);
      }
    } finally {
      await migrator.close();
    }
    if (existsSync(file)) throw usageError(`${file} already exists`);
    await writeFile(file, migrationTemplate(descriptionFor(name), flags.js === true ? 'js' : 'ts'), { flag: 'wx' });
    const shown = relative(ctx.io.cwd, file) || file;
    ctx.renderer.out(shown);
    ctx.renderer.emitJson({ ok: true, id, path: file });
    return 0;
  });
}
