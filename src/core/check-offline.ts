/**
 * `checkOffline(config, { base })`: the pull request's check without a database (the work is
 * providers/offline-check.ts). It needs no database name and opens no connection; like every
 * command, what stops it comes back as the result's `error`, and only bad arguments throw.
 */
import { isResolved, resolveProgrammaticConfig } from '../config/resolve.ts';
import { MongrateError, resultErrorOf, usageError } from '../errors.ts';
import { providerFor } from '../providers/index.ts';
import { runOfflineCheck, type OfflineCheckOptions } from '../providers/offline-check.ts';
import type { MongrateConfig, OfflineCheckResult, ResolvedConfig } from '../types.ts';
import { redactText, secretsOf } from '../util/redact.ts';

export type { OfflineCheckOptions };

export async function checkOffline(config: MongrateConfig | ResolvedConfig, options: OfflineCheckOptions = {}): Promise<OfflineCheckResult> {
  const { base } = options;
  // a ref that starts with '-' would reach git as an option
  if (base !== undefined && (typeof base !== 'string' || base.trim() === '' || base.startsWith('-'))) throw usageError(`\`base\` must be a git ref such as origin/main, got ${JSON.stringify(base)}`);
  const resolved = isResolved(config) ? config : resolveProgrammaticConfig(config, { source: 'checkOffline(config)', requireDatabase: false });
  const secrets = secretsOf(resolved.uri);
  try {
    return await runOfflineCheck({ provider: providerFor(resolved), projectRoot: resolved.projectRoot, clean: (text) => redactText(text, secrets) }, options);
  } catch (error) {
    if (!(error instanceof MongrateError)) throw error;
    return { findings: [], migrations: 0, typescript: { skipped: 'the check stopped before it' }, error: resultErrorOf(error) };
  }
}
