/** `unlock [--force]`: show the lock holder; release an expired lock, or any lock with `--force`. */
import type { UnlockResult } from '../../index.ts';
import { describeHolder } from '../../light.ts';
import { withoutError } from '../command.ts';
import { databaseCommand } from '../run-command.ts';

export const unlockCommand = databaseCommand<{ force?: boolean; yes?: boolean }, UnlockResult>({
  declare: (program) =>
    program
      .command('unlock')
      .description('show the lock holder; release an expired lock, or any lock with --force')
      .option('--force', 'release the lock even if its lease is still running')
      .option('--yes', 'confirm --force in a protected environment'),
  run: (migrator, flags) => migrator.unlock({ force: flags.force === true, confirmed: flags.yes === true }),
  render(out, result) {
    if (result.error !== undefined) return;
    const { lock } = result;
    if (lock === null) out.out('No lock is held.');
    else out.out(`Released the ${result.expired ? 'expired' : 'live'} lock of ${describeHolder(lock)}, lease until ${lock.expiresAt.toISOString()}.`);
  },
  json: (result) => (result.error === undefined ? withoutError(result) : {}),
});
