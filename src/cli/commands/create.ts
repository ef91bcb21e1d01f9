/** `create <name> [--js]`: write a new migration file with `up` and `down`, named to sort after every existing one. */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { MongrateError } from '../../light.ts';
import type { Migrator, ResultError } from '../../index.ts';
import type { CommandResult } from '../command.ts';
import { publicApi } from '../invocation.ts';
import { projectCommand } from '../run-command.ts';
import { migrationTemplate } from '../templates.ts';

interface Created extends CommandResult {
  id: string;
  /** The new file. */
  path: string;
  /** The file as the user reads it: relative to the current folder. */
  shown: string;
}

const usage = (message: string): ResultError => ({ code: 'USAGE', message });

/** `add User profile!` -> `add-user-profile`. Path tricks are refused before slugging, like any invalid argument (thrown). */
export function slugify(name: string): string {
  if (/[/\\]/.test(name) || name.includes('..')) {
    throw new MongrateError('USAGE', `invalid migration name '${name}': no path separators or '..'; use words like add-user-profile`);
  }
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80);
  if (slug === '') throw new MongrateError('USAGE', `invalid migration name '${name}': it has no letters or digits to use`);
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

/** Ids the changelog knows, when a server answers quickly; creating a file must not wait on an outage. */
async function recordedIds(migrator: Migrator): Promise<string[]> {
  const status = await migrator.status();
  return status.error === undefined ? status.migrations.map((m) => m.id) : [];
}

export const createCommand = projectCommand<{ js?: boolean }, Created>({
  declare: (program) =>
    program
      .command('create')
      .argument('<name>', 'what the migration does, e.g. add-user-profile')
      .description('write a new migration file with up and down')
      .option('--js', 'write JavaScript instead of TypeScript'),
  async run(flags, [name = ''], invocation) {
    const slug = slugify(name);
    const config = await invocation.config({ requireDatabase: false });
    const id = `${timestampId(new Date())}-${slug}`;
    const path = join(config.migrationsDir, `${id}.${flags.js === true ? 'js' : 'ts'}`);
    const refused = (message: string): Created => ({ id, path, shown: '', error: usage(message) });
    await mkdir(config.migrationsDir, { recursive: true });
    const quick = config.database === '' ? config : { ...config, clientOptions: { ...config.clientOptions, serverSelectionTimeoutMS: 1500 } };
    const migrator = (await publicApi()).createMigrator(quick);
    try {
      const existing = (await migrator.migrations()).map((f) => f.id);
      const recorded = config.database === '' ? [] : await recordedIds(migrator);
      const newer = [...existing, ...recorded].filter((other) => other >= id).sort();
      if (newer.length > 0) {
        return refused(`cannot create ${id}: it would sort before or equal to existing migration ${newer.at(-1) ?? ''}; check your clock or that migration's name`);
      }
    } finally {
      await migrator.close();
    }
    if (existsSync(path)) return refused(`${path} already exists`);
    await writeFile(path, migrationTemplate(descriptionFor(name), flags.js === true ? 'js' : 'ts'), { flag: 'wx' });
    return { id, path, shown: relative(invocation.io.cwd, path) || path };
  },
  render(out, result) {
    if (result.error === undefined) out.out(result.shown);
  },
  json: (result) => (result.error === undefined ? { id: result.id, path: result.path } : {}),
});
