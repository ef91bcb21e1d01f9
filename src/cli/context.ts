/** What every command handler gets: parsed global options, the renderer and a migrator factory. */
import type { Command } from 'commander';
import { describeDrivers } from '../driver/find.ts';
import type { Migrator, ResolvedConfig } from '../index.ts';
import { redactUri, secretsOf } from '../util/redact.ts';
import type { Renderer } from './renderer.ts';

export interface GlobalOptions {
  config?: string;
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

/** A command handler returns its exit code; throwing maps the error to its exit code (cli/errors.ts). */
export type Handler<O> = (ctx: CommandContext, options: O, args: string[]) => Promise<number>;
/** Attaches a handler to a command, with the context every handler gets. */
export type Register = <O>(command: Command, handler: Handler<O>) => Command;

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
export function api(): Promise<typeof import('../index.ts')> {
  return import('../index.ts');
}

/** One database of a command across databases: its migrator, made by the fan-out. */
export interface FanOutMember {
  database: string;
  migrator: Migrator;
}

export class CommandContext {
  private migrator: Migrator | undefined;
  private resolved: Promise<ResolvedConfig> | undefined;

  constructor(
    readonly globals: GlobalOptions,
    readonly renderer: Renderer,
    readonly io: CliIo,
    /** Set when this context is one database of a command across databases. */
    readonly member?: FanOutMember,
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
    const { config, uri, db, migrationsDir, databases, databasesMatch, concurrency } = this.globals;
    const { loadConfig } = await api();
    const overrides = { config, uri, db, migrationsDir, databases, databasesMatch, concurrency };
    const resolved = await loadConfig(overrides, { cwd: this.io.cwd, env: this.io.env, ...options });
    // the config file's uri, once known; redactUri masks by position, whatever the URI's typos
    this.renderer.addSecrets(secretsOf(resolved.uri));
    this.renderer.verbose(
      `config: ${resolved.configFile ?? '(none found, using defaults)'}; server ${redactUri(resolved.uri)}; database ${resolved.database}; migrations ${resolved.migrationsDir}; driver ${describeDrivers(resolved.projectRoot)}`,
    );
    for (const notice of resolved.notices) this.renderer.notice(notice);
    return resolved;
  }

  async openMigrator(): Promise<Migrator> {
    if (this.member !== undefined) return this.member.migrator;
    if (this.migrator === undefined) {
      const config = await this.config();
      this.migrator ??= (await api()).createMigrator(config);
    }
    return this.migrator;
  }

  async close(): Promise<void> {
    await this.migrator?.close();
  }
}
