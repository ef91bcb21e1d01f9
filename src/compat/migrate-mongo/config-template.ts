/**
 * The `migrate.config.ts` that `mongrate import migrate-mongo` writes: it reads the connection
 * from migrate-mongo's config at load time, so no URL, user or password is ever copied into it.
 * Several migrate-mongo configs side by side (one per service) each get their own: the first
 * import writes `migrate.config.ts` (found without `--config`), a later one for another source a
 * name derived from it (`migrate-mongo-config-users.js` -> `migrate.users.config.ts`), or `--out`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import { usageError } from '../../errors.ts';
import type { MigrateMongoSettings } from './config.ts';

export const DEFAULT_MONGRATE_CONFIG = 'migrate.config.ts';

const posix = (path: string): string => path.split(sep).join('/');

/** How the config at `configDir` imports the migrate-mongo config: `./migrate-mongo-config.js`. */
function importPath(settings: MigrateMongoSettings, configDir: string): string {
  const rel = posix(relative(configDir, settings.file));
  return rel.startsWith('.') ? rel : `./${rel}`;
}

/**
 * `cwd`: where the import runs, which is where migrate-mongo resolved a relative `migrationsDir`.
 * A config written elsewhere gets the folder baked in, relative to itself.
 */
export function migrateMongoConfigTemplate(settings: MigrateMongoSettings, configDir: string, cwd = configDir): string {
  const from = importPath(settings, configDir);
  const rel = from.replace(/^\.\//, '');
  const migrationsDir =
    resolve(configDir) === resolve(cwd)
      ? "config.migrationsDir ?? 'migrations'"
      : `${JSON.stringify(posix(relative(configDir, settings.migrationsDir)) || '.')}, // migrate-mongo's migrationsDir, from this file's folder`;
  return `// Written by \`mongrate import migrate-mongo\`. The connection stays in ${rel}: this file
// reads it from there, so no credentials are copied here. Migration files keep migrate-mongo's
// \`up(db, client)\` / \`down(db, client)\`; files written with defineMigration get mongrate's context.
import { defineConfig } from 'mongrate';
import migrateMongoConfig from ${JSON.stringify(from)};

export default Promise.resolve(migrateMongoConfig).then((config) =>
  defineConfig({
    uri: config.mongodb.url,
    database: config.mongodb.databaseName,
    clientOptions: config.mongodb.options,
    migrationsDir: ${migrationsDir},
    compat: 'migrate-mongo',
  }),
);
`;
}

/** Whether the config file at `path` reads this migrate-mongo config (a config an earlier import wrote for it). */
function readsSource(path: string, settings: MigrateMongoSettings): boolean {
  const text = readFileSync(path, 'utf8');
  const from = importPath(settings, dirname(path)).replace(/^\.\//, '');
  return new RegExp(`['"](?:\\./)?${from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}['"]`).test(text);
}

/** `migrate-mongo-config-users.js` -> `users`; the folder's name for a `migrate-mongo-config.js` elsewhere. */
function sourceName(settings: MigrateMongoSettings): string {
  const base = basename(settings.file, extname(settings.file));
  const rest = base.replace(/^migrate-mongo(?:[-._]?config)?/i, '').replace(/^[-._]+|[-._]+$/g, '');
  const name = (rest === '' || rest === 'config' ? basename(dirname(settings.file)) : rest).toLowerCase().replace(/[^a-z0-9_-]+/g, '-');
  return name === '' ? 'migrate-mongo' : name;
}

export interface ConfigTarget {
  /** Absolute. */
  path: string;
  /** It exists and reads this migrate-mongo config already: kept as it is. */
  kept: boolean;
  /** `migrate.config.ts` existed for another source (or was written by hand) and was left alone. */
  besides: string | undefined;
  /** The `--config` flag that runs it, undefined for `migrate.config.ts` in the cwd (found without one). */
  configFlag: string | undefined;
}

/** Where this import's mongrate config goes: `--out`, else `migrate.config.ts`, else a name derived from the source. */
export function configTargetFor(settings: MigrateMongoSettings, cwd: string, out?: string): ConfigTarget {
  const flag = (path: string): string | undefined => (path === join(cwd, DEFAULT_MONGRATE_CONFIG) ? undefined : posix(relative(cwd, path)));
  if (out !== undefined) {
    const path = resolve(cwd, out);
    if (!/\.[cm]?[jt]s$/.test(path)) throw usageError(`--out ${out}: the config is TypeScript or JavaScript code; name a .ts or .js file`);
    if (existsSync(path) && !readsSource(path, settings)) throw usageError(`--out ${out}: that file exists and does not read ${basename(settings.file)}; choose another name`);
    return { path, kept: existsSync(path), besides: undefined, configFlag: flag(path) };
  }
  const main = join(cwd, DEFAULT_MONGRATE_CONFIG);
  if (!existsSync(main)) return { path: main, kept: false, besides: undefined, configFlag: undefined };
  if (readsSource(main, settings)) return { path: main, kept: true, besides: undefined, configFlag: undefined };
  const derived = join(cwd, `migrate.${sourceName(settings)}.config.ts`);
  if (existsSync(derived) && !readsSource(derived, settings)) {
    throw usageError(`${basename(derived)} exists and does not read ${basename(settings.file)}: name the config to write with --out <file>`);
  }
  return { path: derived, kept: existsSync(derived), besides: main, configFlag: flag(derived) };
}
