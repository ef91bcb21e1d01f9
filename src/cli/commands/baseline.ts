/** `baseline <id>`: record every migration up to and including `<id>` as applied without running it. */
import type { BaselineResult } from '../../index.ts';
import { withoutError } from '../command.ts';
import { given, lockWaitOption } from '../options.ts';
import { databaseCommand } from '../run-command.ts';
import { countOf } from '../format.ts';

export const baselineCommand = databaseCommand<{ lockWait?: number }, BaselineResult>({
  declare: (program) =>
    program
      .command('baseline')
      .argument('<id>', 'the newest migration the database already reflects')
      .description('record every migration up to and including <id> as applied without running it')
      .addOption(lockWaitOption()),
  follow: (out, migrator) => out.followLock(migrator),
  run: (migrator, flags, [id = '']) => migrator.baseline(id, given('lockWait', flags.lockWait)),
  render(out, result) {
    if (result.error !== undefined) return;
    for (const baselined of result.baselined) out.info(`${out.chalk.cyan('✔')} baselined ${baselined}`);
    const skipped = result.skipped.length > 0 ? `; ${result.skipped.length} already recorded, left as they were` : '';
    out.out(`Baselined ${countOf(result.baselined.length, 'migration')}${skipped}.`);
  },
  json: (result) => (result.error === undefined ? withoutError(result) : {}),
  count: { title: 'Baselined', of: (result) => (result.error === undefined ? result.baselined.length : undefined) },
});
