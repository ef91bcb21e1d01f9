/**
 * `check --offline`: what a pull request's CI can check about migrations without a database.
 * Ids well-formed (a version prefix of digits, all of one width, so code-unit order is numeric
 * order) and unique; every migration loads and exports `up`; no TypeScript error in a `.ts`
 * migration (typecheck.ts). With a base ref (git.ts): no file the base branch had where this
 * branch forked was edited or deleted, and every new file sorts after every file of the base
 * branch's tip, or it would run out of order where that branch's migrations are applied (the
 * merge-order conflict). Nothing here connects to a server.
 */
import { extname } from 'node:path';
import { messageOf, MongrateError } from '../errors.ts';
import type { Finding, ListedMigration, OfflineCheckResult } from '../types.ts';
import { compareIds, type IdOrder, type MigrationProvider } from './contract.ts';
import { migrationsAt, resolveBase } from './git.ts';
import { typeCheck } from './typecheck.ts';

export interface OfflineCheckOptions {
  /** A git ref (`origin/main`): compare the migrations folder with it. */
  base?: string | undefined;
}

/** What the check reads: the provider, and where the project's TypeScript is found. */
export interface OfflineCheckSources {
  provider: MigrationProvider;
  projectRoot: string;
  /** Clean text bound for output (secrets masked). */
  clean: (text: string) => string;
}

const ID_CHARACTERS = /^[A-Za-z0-9._-]+$/;
const VERSION_PREFIX = /^\d+/;

/** Ids that cannot order well: no version prefix, odd characters, or a prefix of another width than most. */
export function idFindings(ids: string[]): Finding[] {
  const findings: Finding[] = [];
  const widths = new Map<number, number>();
  for (const id of ids) {
    const prefix = VERSION_PREFIX.exec(id)?.[0];
    if (!ID_CHARACTERS.test(id)) {
      findings.push({ id, kind: 'malformed-id', message: `migration id '${id}' has characters other than letters, digits, '-', '_' and '.'` });
    } else if (prefix === undefined) {
      findings.push({ id, kind: 'malformed-id', message: `migration id '${id}' does not start with a version (digits, e.g. the UTC timestamp \`mongrate create\` writes), so nothing says where it runs` });
    }
    if (prefix !== undefined) widths.set(prefix.length, (widths.get(prefix.length) ?? 0) + 1);
  }
  if (widths.size > 1) {
    const [usual = 0] = [...widths].sort((a, b) => b[1] - a[1] || b[0] - a[0]).map(([width]) => width);
    for (const id of ids) {
      const width = VERSION_PREFIX.exec(id)?.[0].length;
      if (width !== undefined && width !== usual) {
        findings.push({ id, kind: 'malformed-id', message: `migration id '${id}' has a version of ${width} digits where the others have ${usual}: ids order by character, so '9-x' runs after '10-y'` });
      }
    }
  }
  return findings;
}

/** Loads each migration: one that fails to load, or exports no `up`, is a finding. */
async function loadFindings(provider: MigrationProvider, migrations: ListedMigration[], clean: (text: string) => string): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const migration of migrations) {
    try {
      await provider.load(migration);
    } catch (error) {
      const message = clean(messageOf(error));
      findings.push({ id: migration.id, kind: message.includes('does not export an `up`') ? 'no-up' : 'load-error', message });
    }
  }
  return findings;
}

/** The findings against a base ref: edited or deleted files of the merge base; new files sorting before the base tip's newest. */
async function baseFindings(
  folder: { dir: string; counts: (name: string) => boolean },
  migrations: ListedMigration[],
  ref: string,
  order: IdOrder,
): Promise<{ findings: Finding[]; mergeBase: string }> {
  const refs = await resolveBase(folder.dir, ref);
  const [forked, tip] = await Promise.all([migrationsAt(refs.root, refs.mergeBase, refs.folder, folder.counts), migrationsAt(refs.root, refs.tip, refs.folder, folder.counts)]);
  const here = new Map(migrations.flatMap((m) => (m.path === undefined ? [] : [[`${m.id}${extname(m.path)}`, m] as const])));
  const findings: Finding[] = [];
  for (const file of forked) {
    const now = here.get(file.name);
    if (now === undefined) {
      findings.push({ id: file.id, kind: 'missing', message: `${file.name} is on ${ref} and was deleted here: a migration that may have run somewhere must stay` });
    } else if (now.checksum !== file.checksum) {
      findings.push({ id: file.id, kind: 'changed', message: `${file.name} is on ${ref} and was edited here: a migration that may have run somewhere must not change; write a new one instead` });
    }
  }
  const onBase = new Set([...forked, ...tip].map((f) => f.name));
  const newest = [...tip, ...forked].map((f) => f.id).reduce<string | undefined>((max, id) => (max === undefined || order(id, max) > 0 ? id : max), undefined);
  if (newest !== undefined) {
    for (const [name, migration] of here) {
      if (!onBase.has(name) && order(migration.id, newest) <= 0) {
        findings.push({
          id: migration.id,
          kind: 'out-of-order',
          message: `${name} is new here and sorts before ${newest} on ${ref}: where that is applied, this one would run out of order; rename it to sort after (\`mongrate create\` names it by the current time)`,
        });
      }
    }
  }
  return { findings, mergeBase: refs.mergeBase };
}

/** Runs the offline check. Bad input (an unknown ref, no git) is thrown as a MongrateError for the caller's one error channel. */
export async function runOfflineCheck(sources: OfflineCheckSources, options: OfflineCheckOptions = {}): Promise<OfflineCheckResult> {
  const { provider, clean } = sources;
  const order = provider.order ?? compareIds;
  const survey = await provider.survey();
  if (survey.unavailable !== undefined) throw survey.unavailable;
  const { migrations } = survey;
  const findings: Finding[] = survey.duplicates.map(({ id, names }) => ({ id, kind: 'duplicate-id', message: `duplicate migration id '${id}': ${names.join(' and ')}; rename or remove one` }));
  findings.push(...idFindings([...migrations.map((m) => m.id), ...survey.duplicates.map((d) => d.id)]));
  findings.push(...(await loadFindings(provider, migrations, clean)));
  const folder = provider.folder;
  const typescriptFiles = migrations.flatMap((m) => (m.path !== undefined && /\.[cm]?ts$/.test(m.path) ? [m.path] : []));
  const typed = folder === undefined ? { skipped: 'the migrations are given in code' } : typeCheck(typescriptFiles, { projectRoot: sources.projectRoot, dir: folder.dir, shownFrom: process.cwd() });
  if ('errors' in typed) {
    const idOf = new Map(migrations.map((m) => [m.path, m.id]));
    findings.push(...typed.errors.map(({ path, message }) => ({ id: idOf.get(path) ?? path, kind: 'type-error' as const, message })));
  }
  let base: OfflineCheckResult['base'];
  if (options.base !== undefined) {
    if (folder === undefined) throw new MongrateError('USAGE', '`base` compares migration files with git, and this config gives its migrations in code');
    const compared = await baseFindings(folder, migrations, options.base, order);
    findings.push(...compared.findings);
    base = { ref: options.base, mergeBase: compared.mergeBase };
  }
  const typescript = 'errors' in typed ? { version: typed.version, files: typed.files } : { skipped: typed.skipped };
  const checked = { migrations: migrations.length, typescript, ...(base === undefined ? {} : { base }) };
  if (findings.length === 0) return { findings, ...checked };
  return { findings, ...checked, error: { code: 'CHECK_FAILED', message: `${findings.length} problem${findings.length === 1 ? '' : 's'} found` } };
}
