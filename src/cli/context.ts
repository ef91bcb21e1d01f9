/** What every command handler gets: parsed global options, the renderer and a migrator factory. */
import { createMigrator, loadConfig, redactUri, type Migrator, type ResolvedConfig } from '../index.ts';
import { secretsOf } from '../util/redact.ts';
import type { Renderer } from './renderer.ts';

export interface GlobalOptions {
  config?: string;
  uri?: string;
  db?: string;
  migrationsDir?: string;
  json: boolean;
  color: boolean;
  verbose: boolean;
  quiet: boolean;
}

export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export class CommandContext {
  private migrator: Migrator | undefined;

  constructor(
    readonly globals: GlobalOptions,
    readonly renderer: Renderer,
    readonly io: CliIo,
  ) {
    // a password given by flag or env is masked even before the config is read
    renderer.addSecrets([...secretsOf(globals.uri), ...secretsOf(io.env.MONGODB_URI)]);
  }

  async config(options: { requireDatabase?: boolean } = {}): Promise<ResolvedConfig> {
    const { config, uri, db, migrationsDir } = this.globals;
    const resolved = await loadConfig({ config, uri, db, migrationsDir }, { cwd: this.io.cwd, env: this.io.env, ...options });
    this.renderer.addSecrets(secretsOf(resolved.uri));
    this.renderer.verbose(
      `config: ${resolved.configFile ?? '(none found, using defaults)'}; server ${redactUri(resolved.uri)}; database ${resolved.database}; migrations ${resolved.migrationsDir}`,
    );
    return resolved;
  }

  async openMigrator(): Promise<Migrator> {
    this.migrator ??= createMigrator(await this.config());
    return this.migrator;
  }

  async close(): Promise<void> {
    await this.migrator?.close();
  }
}
