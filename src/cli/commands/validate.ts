/** `validate`: applied files exist and match their checksums, ids are unique, every file exports `up`. */
import type { ValidateResult } from '../../index.ts';
import { databaseCommand } from '../run-command.ts';

/** Findings are what validate reports; any other error kept it from looking. */
const looked = (result: ValidateResult): boolean => result.error === undefined || result.error.code === 'CHECK_FAILED';

export const validateCommand = databaseCommand<object, ValidateResult>({
  declare: (program) =>
    program
      .command('validate')
      .description('check applied files exist and match their checksums, ids are unique, every file exports up (exit 4 on findings)'),
  run: (migrator) => migrator.validate(),
  render(out, result) {
    if (!looked(result)) return;
    for (const finding of result.findings) out.out(`${out.chalk.red('✖')} ${finding.kind}: ${finding.message}`);
    if (result.error === undefined) out.info(out.chalk.green('✔ valid: every applied migration is present and unchanged'));
    else out.out(out.chalk.red(`validate: ${result.error.message}`));
  },
  showsError: (error) => error.code === 'CHECK_FAILED',
  json: (result) => (looked(result) ? { findings: result.findings } : {}),
  count: { title: 'Findings', of: (result) => (looked(result) ? result.findings.length : undefined) },
});
