/**
 * Which databases a command across databases runs on: a list as given, a glob matched against
 * `listDatabases` (picomatch: the matcher under fast-glob and tinyglobby, no dependencies of its
 * own), or what the config's function answers. `admin`, `local` and `config` hold the server's
 * own data and never match a glob.
 */
import { createRequire } from 'node:module';
import type { MongoClient } from 'mongodb';
import { configError, messageOf } from '../errors.ts';
import { compareIds } from '../providers/contract.ts';
import type { DatabaseSelection } from '../types.ts';

export const SYSTEM_DATABASES = new Set(['admin', 'local', 'config']);

/**
 * picomatch, required when a glob is first matched: only a command across databases selected by
 * one needs it, and every command loads this module with the public API.
 */
let picomatch: typeof import('picomatch') | undefined;

/** Names matching `glob`, system databases left out, in id order. */
export function matchDatabases(glob: string, names: string[]): string[] {
  picomatch ??= createRequire(import.meta.url)('picomatch') as typeof import('picomatch');
  const matches = picomatch(glob, { dot: true });
  return names.filter((name) => !SYSTEM_DATABASES.has(name) && matches(name)).sort(compareIds);
}

export async function selectDatabases(selection: DatabaseSelection, client: MongoClient): Promise<string[]> {
  if (Array.isArray(selection)) return [...new Set(selection)];
  if (typeof selection === 'function') return [...new Set(await askFunction(selection, client))];
  const listed = await client.db('admin').admin().listDatabases({ nameOnly: true });
  return matchDatabases(selection.match, listed.databases.map((d) => d.name));
}

async function askFunction(select: Extract<DatabaseSelection, (context: { client: MongoClient }) => unknown>, client: MongoClient): Promise<string[]> {
  let answer: unknown;
  try {
    answer = await select({ client });
  } catch (error) {
    throw configError(`config \`databases\`: the function threw: ${messageOf(error)}`, error);
  }
  if (!Array.isArray(answer) || !answer.every((name): name is string => typeof name === 'string' && name.trim() !== '')) {
    throw configError('config `databases`: the function must return (or resolve to) a list of database names');
  }
  return answer;
}
