/** `import migrate-mongo`: adopt a project that used migrate-mongo, without running anything again. */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Adoption } from '../../index.ts';
import { MongrateError, redactUri, secretsOf } from '../../light.ts';
import { withoutError, type CommandResult } from '../command.ts';
import { publicApi } from '../invocation.ts';
import { wholeNumber } from '../options.ts';
import { projectCommand } from '../run-command.ts';
import { countOf } from '../format.ts';

interface ImportFlags {
  from?: string;
  dryRun?: boolean;
  lockWait?: number;
}

interface Imported extends CommandResult {
  adoption: Adoption;
  /** The mongrate config it writes next to migrate-mongo's, and whether one was there already (it is kept). */
  configPath: string;
  configExists: boolean;
  cwd: string;
}

const CONFIG_FILE = 'migrate.config.ts';

export const importCommand = projectCommand<ImportFlags, Imported>({
  declare: (program) =>
    program
      .command('import')
      .argument('<tool>', 'the tool the project used: migrate-mongo')
      .description("record what another tool applied as applied (from its changelog, left untouched) and write a migrate.config.ts that runs its files unchanged")
      .option('--from <config>', "that tool's config file (default: migrate-mongo-config.js)")
      .option('--dry-run', 'print what would be recorded; change nothing')
      .option('--lock-wait <seconds>', 'wait this long for a lock held by another runner', wholeNumber('--lock-wait')),
  async run(flags, [tool = ''], { renderer, io, globals }) {
    if (tool !== 'migrate-mongo') throw new MongrateError('USAGE', `cannot import from '${tool}': mongrate imports from migrate-mongo`);
    const dryRun = flags.dryRun === true;
    const { adoptMigrateMongo, migrateMongoConfigTemplate } = await publicApi();
    const adoption = await adoptMigrateMongo({ from: flags.from, cwd: io.cwd, uri: globals.uri, database: globals.db, dryRun, lockWait: flags.lockWait });
    renderer.addSecrets([...secretsOf(adoption.settings.url), ...secretsOf(adoption.uri)]);
    const configPath = join(io.cwd, CONFIG_FILE);
    const configExists = existsSync(configPath);
    const imported = { adoption, configPath, configExists, cwd: io.cwd, error: adoption.result.error };
    if (imported.error === undefined && !dryRun && !configExists) await writeFile(configPath, migrateMongoConfigTemplate(adoption.settings, io.cwd), { flag: 'wx' });
    return imported;
  },
  render(out, { adoption, configPath, configExists, cwd, error }) {
    if (error !== undefined) return;
    const { settings, result } = adoption;
    const { chalk } = out;
    const dryRun = result.dryRun;
    const source = `${settings.changelogCollectionName} in ${adoption.database} at ${redactUri(adoption.uri)}`;
    out.info(`${dryRun ? 'Would import' : 'Importing'} migrate-mongo's changelog (${source}):`);
    for (const entry of result.imported) {
      const when = entry.appliedAt.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
      const gone = entry.state === 'missing' ? chalk.red(' (its file is gone: shows as missing)') : '';
      out.out(`  ${chalk.green(dryRun ? '→' : '✔')} ${entry.id} ${chalk.dim(`applied ${when}, ${entry.run}`)}${gone}`);
    }
    for (const skipped of result.skipped) {
      out.info(`  ${chalk.dim(`- ${skipped.id}: ${skipped.reason === 'recorded' ? "already in mongrate's changelog" : 'imported before (and reverted since): left alone'}`)}`);
    }
    for (const note of adoption.notes) out.warn(note);
    const runs = new Set(result.imported.map((i) => i.run)).size;
    const counted = `${countOf(result.imported.length, 'migration')} in ${countOf(runs, 'run')}`;
    out.out(
      result.imported.length === 0 ? "Nothing to import: every entry is in mongrate's changelog, or was imported before."
      : `${dryRun ? 'Would import' : 'Imported'} ${counted}${result.skipped.length > 0 ? `; ${result.skipped.length} left alone` : ''}.`,
    );
    const shownConfig = relative(cwd, configPath);
    if (configExists) out.info(`Kept the existing ${shownConfig}: it should set compat: 'migrate-mongo' to run migrate-mongo's files unchanged.`);
    else out.info(`${dryRun ? 'Would write' : 'Wrote'} ${shownConfig} (compat: 'migrate-mongo'; it reads the connection from ${relative(cwd, settings.file)}).`);
    if (dryRun) out.out('Nothing was changed.');
  },
  json: ({ adoption, configPath, configExists, error }) =>
    error !== undefined ? {} : {
      from: 'migrate-mongo',
      database: adoption.database,
      ...withoutError(adoption.result),
      notes: adoption.notes,
      config: { path: configPath, written: !adoption.result.dryRun && !configExists },
    },
});
