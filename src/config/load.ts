/**
 * Finds and loads the config file: a code file that is the first search place found is imported
 * directly, anything else is found and loaded with cosmiconfig (see codeConfig). TypeScript and
 * JavaScript config files go through the same loader as migration files, so `migrate.config.ts`
 * needs no build step.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import type { Loader } from 'cosmiconfig';
import { configError, messageOf } from '../errors.ts';
import type { MongrateConfig } from '../types.ts';
import { importModule } from '../util/import-module.ts';
import { validateConfig } from './schema.ts';

export const CONFIG_SEARCH_PLACES = [
  'migrate.config.ts',
  'migrate.config.mts',
  'migrate.config.cts',
  'migrate.config.js',
  'migrate.config.mjs',
  'migrate.config.cjs',
  'migrate.config.json',
  '.migraterc',
  '.migraterc.json',
  '.migraterc.yaml',
  '.migraterc.yml',
  '.migraterc.js',
  '.migraterc.ts',
  'package.json',
];

const loadCode: Loader = async (filepath) => {
  const namespace = await importModule(filepath);
  // a config may export a promise of itself (it reads another tool's config, or a secret store)
  const exported: unknown = await ('default' in namespace ? namespace.default : namespace);
  // `export default defineConfig(...)` compiled to CommonJS nests one more level
  if (typeof exported === 'object' && exported !== null && 'default' in exported && Object.keys(exported).length === 1) {
    return (exported).default;
  }
  return exported;
};

const CODE_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs']);

const isFile = (path: string): boolean => statSync(path, { throwIfNoEntry: false })?.isFile() === true;

/**
 * The config a code file exports, where that file is the one cosmiconfig would take: the file
 * named, or the first search place that is a file; with content; exporting a value. Otherwise
 * undefined, and cosmiconfig (loaded only then: importing it cost ~20 ms of every command's
 * start-up) searches as it always did: rc files, package.json's `migrate` key, empty files and
 * files exporting nothing skipped. Such a file it loads again comes from the module cache.
 */
async function codeConfig(cwd: string, target: string | undefined): Promise<{ config: unknown; filepath: string } | undefined> {
  const filepath = target ?? CONFIG_SEARCH_PLACES.map((place) => join(cwd, place)).find(isFile);
  if (filepath === undefined || !CODE_EXTENSIONS.has(extname(filepath))) return undefined;
  if ((await readFile(filepath, 'utf8')).trim() === '') return undefined;
  const config: unknown = await loadCode(filepath, '');
  return config === undefined || config === null ? undefined : { config, filepath };
}

export interface LoadedConfig {
  config: MongrateConfig;
  /** Absolute path of the file, undefined when none was found. */
  file: string | undefined;
}

/** Loads `explicitPath`, or searches `cwd`; no file found is not an error (defaults apply). */
export async function loadConfigFile(cwd: string, explicitPath?: string): Promise<LoadedConfig> {
  let result: { config: unknown; filepath: string; isEmpty?: boolean } | null | undefined;
  const target = explicitPath === undefined ? undefined : resolve(cwd, explicitPath);
  if (target !== undefined && !existsSync(target)) throw configError(`config file not found: ${target}`);
  try {
    result = await codeConfig(cwd, target);
    if (result === undefined) {
      const { cosmiconfig } = await import('cosmiconfig');
      const explorer = cosmiconfig('migrate', {
        searchPlaces: CONFIG_SEARCH_PLACES,
        searchStrategy: 'none',
        cache: false,
        loaders: {
          '.ts': loadCode,
          '.mts': loadCode,
          '.cts': loadCode,
          '.js': loadCode,
          '.mjs': loadCode,
          '.cjs': loadCode,
        },
      });
      result = target === undefined ? await explorer.search(cwd) : await explorer.load(target);
    }
  } catch (error) {
    const where = target ?? cwd;
    throw configError(`cannot load config (${where}): ${messageOf(error).split('\n').join(' ')}`, error);
  }
  if (result === null) return { config: {}, file: undefined };
  if (result.isEmpty === true || result.config === undefined) return { config: {}, file: result.filepath };
  return { config: validateConfig(result.config, result.filepath), file: result.filepath };
}
