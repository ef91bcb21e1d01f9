/**
 * The migrations folder as a git ref has it, for `check --offline --base <ref>`: which migration
 * files the ref's tree holds there and their checksums (the contract's: sha256 with CRLF
 * normalised, so a checkout with autocrlf does not look edited). Read with the `git` on PATH,
 * read-only (rev-parse, merge-base, ls-tree, cat-file); nothing is fetched. What git refuses is a
 * USAGE error saying what to do, e.g. in a shallow CI clone.
 */
import { spawn } from 'node:child_process';
import { realpath } from 'node:fs/promises';
import { basename, relative, sep } from 'node:path';
import { usageError } from '../errors.ts';
import { checksumOf, isMigrationFileName, migrationIdOf } from './discover.ts';

/** One migration file of a ref's tree. */
export interface RefMigration {
  id: string;
  /** The file name, in the migrations folder. */
  name: string;
  checksum: string;
}

interface GitOutput {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs git with `input` on stdin; never rejects for a non-zero exit (the caller says what it means). */
function git(cwd: string, args: string[], input?: string): Promise<GitOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'ENOENT' ? usageError('--base compares with a git ref, and no `git` was found on PATH') : error);
    });
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: stderr.trim() }));
    // git may end before it read everything (a refusal): its exit code says so, not the broken pipe
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

async function gitText(cwd: string, args: string[], refused: (stderr: string) => string): Promise<string> {
  const result = await git(cwd, args);
  if (result.code !== 0) throw usageError(refused(result.stderr));
  return result.stdout.toString('utf8').trim();
}

/** Where the migrations folder is in its repository, and the commits to compare with. */
export interface BaseRefs {
  /** The repository's root (git reads trees from there: from a subfolder, ls-tree filters by it). */
  root: string;
  /** The folder, relative to the repository's root, with '/' separators ('' for the root). */
  folder: string;
  /** The commit `ref` names (its tip: files added there since this branch forked count for ordering). */
  tip: string;
  /** Where this branch forked from `ref`: the files this branch must not have edited or deleted. */
  mergeBase: string;
}

/** Finds the repository of `dir` and the commits of `ref`; git's refusals become USAGE errors saying what to do. */
export async function resolveBase(dir: string, ref: string): Promise<BaseRefs> {
  const root = await gitText(dir, ['rev-parse', '--show-toplevel'], (stderr) => `--base compares with git history, and ${dir} is not in a git repository (${stderr})`);
  const tip = await gitText(dir, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], () => `unknown git ref '${ref}' (in CI, fetch it first, e.g. \`git fetch origin main\`)`);
  const mergeBase = await gitText(
    dir,
    ['merge-base', 'HEAD', tip],
    () => `HEAD and '${ref}' have no common commit here (a shallow clone? fetch the whole history, e.g. actions/checkout with fetch-depth: 0)`,
  );
  const folder = relative(await realpath(root), await realpath(dir)).split(sep).join('/');
  if (folder.startsWith('..')) throw usageError(`the migrations folder ${dir} is outside its git repository ${root}`);
  return { root, folder, tip, mergeBase };
}

/**
 * The migration files directly in `folder` of the repository at `root`, at `commit`, with their
 * checksums (symbolic links are left out: git stores their target's name, not its bytes).
 */
export async function migrationsAt(root: string, commit: string, folder: string, counts: (name: string) => boolean = isMigrationFileName): Promise<RefMigration[]> {
  const treeish = folder === '' ? commit : `${commit}:${folder}`;
  const listing = await git(root, ['ls-tree', '-z', treeish]);
  // the folder did not exist at that commit: no migrations there
  if (listing.code !== 0) return [];
  const blobs = listing.stdout
    .toString('utf8')
    .split('\0')
    .filter((line) => line !== '')
    .map((line) => {
      const [meta = '', name = ''] = line.split('\t');
      const [mode = '', type = '', hash = ''] = meta.split(' ');
      return { mode, type, hash, name };
    })
    .filter((entry) => entry.type === 'blob' && entry.mode !== '120000' && counts(basename(entry.name)));
  if (blobs.length === 0) return [];
  const contents = await readBlobs(root, blobs.map((b) => b.hash));
  return blobs.map(({ hash, name }) => ({ id: migrationIdOf(name), name, checksum: checksumOf(contents.get(hash) ?? Buffer.alloc(0)) }));
}

/** Every blob's bytes, through one `git cat-file --batch`. */
async function readBlobs(dir: string, hashes: string[]): Promise<Map<string, Buffer>> {
  const result = await git(dir, ['cat-file', '--batch'], hashes.join('\n') + '\n');
  if (result.code !== 0) throw usageError(`git could not read the migrations of the base ref: ${result.stderr}`);
  const blobs = new Map<string, Buffer>();
  const out = result.stdout;
  let at = 0;
  while (at < out.length) {
    const headerEnd = out.indexOf(0x0a, at);
    if (headerEnd === -1) break;
    const [hash = '', type = '', size = '0'] = out.subarray(at, headerEnd).toString('utf8').split(' ');
    const start = headerEnd + 1;
    // `<hash> missing`: no content follows
    if (type === 'missing') {
      at = start;
      continue;
    }
    const end = start + Number(size);
    blobs.set(hash, out.subarray(start, end));
    // each object is followed by a newline
    at = end + 1;
  }
  return blobs;
}
