/**
 * One run of the CLI: the parsed global options, the terminal's I/O and its renderer; the config,
 * the public API and the migrator of the one database, each loaded when a command first needs it.
 */
import { createInterface } from 'node:readline/promises';
import type { Migrator, ResolvedConfig } from '../index.ts';
import { describeDrivers, redactUri, secretsOf } from '../light.ts';
import type { Renderer } from './renderer.ts';

export interface GlobalOptions {
  config?: string;
  /** `-f, --file`: migrate-mongo's spelling of `--config`. */
  file?: string;
  /** `--env <name>`: the config environment. */
  env?: string;
  uri?: string;
  db?: string;
  migrationsDir?: string;
  databases?: string;
  databasesMatch?: string;
  concurrency?: number;
  canary?: string;
  keepGoing?: boolean;
  json?: boolean;
  /** `--no-color` sets it false. */
  color?: boolean;
  verbose?: boolean;
  quiet?: boolean;
}

export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/**
 * The public API (and with it the driver, ~135 ms to load) is imported when a command first needs
 * it, so --help, --version, init and a usage error answer without loading it.
 */
export function publicApi(): Promise<typeof import('../index.ts')> {
  return import('../index.ts');
}

export class Invocation {
  private migrator: Migrator | undefined;
  private resolved: Promise<ResolvedConfig> | undefined;

  constructor(
    readonly globals: GlobalOptions,
    readonly renderer: Renderer,
    readonly io: CliIo,
    /** Ends the CLI at once with this exit code (a second Ctrl-C), whatever is still running. */
    readonly leave: (code: number) => void,
  ) {
    // a password given by flag or env is masked even before the config is read (and if it fails)
    renderer.addSecrets([...secretsOf(globals.uri), ...secretsOf(io.env.MONGODB_URI)]);
  }

  /** The resolved config; read once per command when a database is required (the common case). */
  config(options: { requireDatabase?: boolean } = {}): Promise<ResolvedConfig> {
    if (options.requireDatabase === false) return this.loadConfig(options);
    this.resolved ??= this.loadConfig(options);
    return this.resolved;
  }

  private async loadConfig(options: { requireDatabase?: boolean }): Promise<ResolvedConfig> {
    const { config, file, env, uri, db, migrationsDir, databases, databasesMatch, concurrency } = this.globals;
    const { loadConfig } = await publicApi();
    const overrides = { config: config ?? file, environment: env, uri, db, migrationsDir, databases, databasesMatch, concurrency };
    const resolved = await loadConfig(overrides, { cwd: this.io.cwd, env: this.io.env, ...options });
    // the config file's uri, once known; redactUri masks by position, whatever the URI's typos
    this.renderer.addSecrets(secretsOf(resolved.uri));
    // the driver is looked for on disk only when the line is printed
    this.renderer.verbose(
      () =>
        `config: ${resolved.configFile ?? '(none found, using defaults)'}; server ${redactUri(resolved.uri)}; database ${resolved.database}; migrations ${resolved.migrationsDir}; driver ${describeDrivers(resolved.projectRoot)}`,
    );
    for (const notice of resolved.notices) this.renderer.notice(notice);
    this.announceEnvironment(resolved);
    return resolved;
  }

  /**
   * Names the chosen environment and what it targets before the command does anything; a
   * protected one even with --quiet, so a log of the command always says it ran there.
   */
  private announceEnvironment({ environment, database, databases, uri }: ResolvedConfig): void {
    if (environment === undefined) return;
    const where = database !== '' ? `database ${database}` : databases === undefined ? 'no database' : 'the databases it selects';
    const line = `environment ${environment.name}${environment.protected ? ' (protected)' : ''}: ${where} at ${redactUri(uri)}`;
    if (environment.protected) this.renderer.caution(line);
    else this.renderer.notice(line);
  }

  /** The migrator of the one database the config names; closed with the invocation. */
  async openMigrator(): Promise<Migrator> {
    if (this.migrator === undefined) {
      const config = await this.config();
      this.migrator ??= (await publicApi()).createMigrator(config);
    }
    return this.migrator;
  }

  /** Whether a question can be asked: a terminal, and no `--json`. */
  get interactive(): boolean {
    return this.io.stdin.isTTY === true && !this.renderer.json;
  }

  /** Asks a yes/no question on the terminal; anything but yes is no. */
  async confirm(question: string): Promise<boolean> {
    const prompt = createInterface({ input: this.io.stdin, output: this.io.stderr });
    try {
      return /^y(es)?$/i.test((await prompt.question(`${question} [y/N] `)).trim());
    } finally {
      prompt.close();
    }
  }

  async close(): Promise<void> {
    await this.migrator?.close();
  }
}
