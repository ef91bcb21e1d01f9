/**
 * `check --offline [--base <ref>]`: a pull request's check without a database (ids, loading,
 * types; with `--base`, the files of the base branch untouched and new ones sorting after them).
 * Exit 4 on findings. It reads the config without needing a database, and opens no connection.
 */
import type { OfflineCheckResult } from '../../index.ts';
import { withoutError } from '../command.ts';
import { publicApi } from '../invocation.ts';
import { countOf } from '../format.ts';
import { projectCommand } from '../run-command.ts';

interface CheckFlags {
  offline?: boolean;
  base?: string;
}

/** Findings are what the check reports; any other error kept it from looking. */
const looked = (result: OfflineCheckResult): boolean => result.error === undefined || result.error.code === 'CHECK_FAILED';

function typescriptWords(typescript: OfflineCheckResult['typescript']): string {
  return 'skipped' in typescript ? `not type-checked: ${typescript.skipped}` : `${countOf(typescript.files, 'TypeScript file')} type-checked with TypeScript ${typescript.version}`;
}

export const checkCommand = projectCommand<CheckFlags, OfflineCheckResult>({
  declare: (program) =>
    program
      .command('check')
      .description('check the migrations without a database, for a pull request: ids, loading, TypeScript; with --base, the git history (exit 4 on findings)')
      .option('--offline', 'open no connection (required: the checks that need the database are `validate` and `status --check`)')
      .option('--base <ref>', 'a git ref, e.g. origin/main: no migration of it edited or deleted here, and new ones sort after all of its'),
  async run(flags, _args, invocation) {
    if (flags.offline !== true) {
      const message = 'check runs without a database: pass --offline (against the database, run `mongrate validate` or `mongrate status --check`)';
      return { findings: [], migrations: 0, typescript: { skipped: 'not run' }, error: { code: 'USAGE', message } };
    }
    const config = await invocation.config({ requireDatabase: false });
    return (await publicApi()).checkOffline(config, flags.base === undefined ? {} : { base: flags.base });
  },
  render(out, result) {
    if (!looked(result)) return;
    for (const finding of result.findings) out.out(`${out.chalk.red('✖')} ${finding.kind}: ${finding.message}`);
    const against = result.base === undefined ? '' : `; compared with ${result.base.ref} (forked at ${result.base.mergeBase.slice(0, 12)})`;
    const summary = `${countOf(result.migrations, 'migration')}; ${typescriptWords(result.typescript)}${against}`;
    if (result.error === undefined) out.info(out.chalk.green(`✔ no problems: ${summary}`));
    else out.out(out.chalk.red(`check: ${result.error.message} (${summary})`));
  },
  showsError: (error) => error.code === 'CHECK_FAILED',
  json: (result) => (looked(result) ? withoutError(result) : {}),
});
