/** The provider a config asks for: migrations given in code, else the migrations folder. */
import type { ResolvedConfig } from '../types.ts';
import type { MigrationProvider } from './contract.ts';
import { fileProvider } from './files.ts';
import { inlineProvider } from './inline.ts';

export function providerFor(config: Pick<ResolvedConfig, 'migrations' | 'migrationsDir' | 'compat'>): MigrationProvider {
  if (config.migrations !== undefined) return inlineProvider(config.migrations);
  return fileProvider(config.migrationsDir, config.compat);
}

export * from './contract.ts';
