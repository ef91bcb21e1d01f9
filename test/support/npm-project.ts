// Throwaway projects that really install what they claim (mongodb 4.17, 6.3, 7.9, migrate-mongo
// 14.0.7) from the npm registry, as a user's project has them. One install per set of packages,
// kept under ~/.cache/mongrate/npm-projects and shared by every test (and every later run): each
// test project links its node_modules there, and Node resolves through the link to the same
// files, so the project's `require('mongodb')` is one module for the migration files, migrate-mongo
// and mongrate. Installs go to a temporary folder renamed into place, so test files installing
// the same set at once never see half an install. No registry: the tests skip, saying so.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createProject, type TestProject } from './project.ts';

const execFileAsync = promisify(execFile);
const CACHE = join(homedir(), '.cache', 'mongrate', 'npm-projects');

/** Exact versions, so every run installs the same packages. */
export const VERSIONS = {
  mongodb4: '4.17.2',
  mongodb6: '6.3.0',
  mongodb6Latest: '6.22.0',
  mongodb7: '7.9.1',
  migrateMongo: '14.0.7',
} as const;

export type Packages = Readonly<Record<string, string>>;

/** What an install gives, or why there is none (the test then skips with this reason). */
export type Install = { nodeModules: string } | { skip: string };

const NETWORK = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|network|socket hang up|getaddrinfo/i;

function keyOf(packages: Packages): string {
  return Object.entries(packages)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, version]) => `${name.replace('/', '+')}@${version}`)
    .join('_');
}

const installs = new Map<string, Promise<Install>>();

/** node_modules with exactly these packages (name -> exact version), installed once. */
export function installPackages(packages: Packages): Promise<Install> {
  const key = keyOf(packages);
  let install = installs.get(key);
  if (install === undefined) {
    install = installOnce(key, packages);
    installs.set(key, install);
  }
  return install;
}

async function installOnce(key: string, packages: Packages): Promise<Install> {
  const dir = join(CACHE, key);
  const nodeModules = join(dir, 'node_modules');
  if (existsSync(join(dir, 'installed'))) return { nodeModules };
  await mkdir(CACHE, { recursive: true });
  const work = await mkdtemp(join(CACHE, `.${key}-`));
  try {
    await writeFile(join(work, 'package.json'), JSON.stringify({ name: 'mongrate-test-deps', private: true, dependencies: packages }, null, 2));
    try {
      await execFileAsync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock', '--loglevel=error'], {
        cwd: work,
        timeout: 180_000,
        env: { ...process.env, npm_config_update_notifier: 'false' },
      });
    } catch (error) {
      const output = `${(error as { stderr?: string }).stderr ?? ''} ${(error as Error).message}`;
      if (NETWORK.test(output)) return { skip: `the npm registry cannot be reached to install ${key} (${output.trim().split('\n')[0] ?? ''})` };
      throw new Error(`npm install of ${key} failed: ${output}`);
    }
    await writeFile(join(work, 'installed'), new Date().toISOString());
    try {
      await rename(work, dir);
    } catch (error) {
      // another test file installed the same set meanwhile: theirs is as good
      if (!existsSync(join(dir, 'installed'))) throw error;
    }
    return { nodeModules };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** A throwaway project (see `createProject`) whose node_modules holds `packages`, and a package.json of its own. */
export async function createInstalledProject(install: { nodeModules: string }, packageJson: Record<string, unknown> = {}): Promise<TestProject> {
  const project = await createProject();
  await symlink(install.nodeModules, join(project.dir, 'node_modules'), 'dir');
  await project.writeFile('package.json', JSON.stringify({ name: 'legacy-app', private: true, ...packageJson }, null, 2) + '\n');
  return project;
}
