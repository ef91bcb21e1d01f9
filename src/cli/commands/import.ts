/** `import migrate-mongo`: adopt a project that used migrate-mongo, without running anything again. */
import { writeFile } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import type { Adoption } from '../../index.ts';
import { MongrateError, redactUri, secretsOf } from '../../light.ts';
import { withoutError, type CommandResult } from '../command.ts';
import { publicApi } from '../invocation.ts';
import { wholeNumber } from '../options.ts';
import { projectCommand } from '../run-command.ts';
import { countOf } from '../format.ts';

interface ImportFlags {
  from?: string;
  out?: string;
  dryRun?: boolean;
  lockWait?: number;
}

interface Imported extends CommandResult {
  adoption: Adoption;
  /** The command that runs the imported migrations (with `--config` when the config is not the default one). */
  command: string;
  cwd: string;
}

export const importCommand = projectCommand<ImportFlags, Imported>({
  declare: (program) =>
    program
      .command('import')
      .argument('<tool>', 'the tool the project used: migrate-mongo')
      .description("record what another tool applied as applied (from its changelog, left untouched) and write a migrate.config.ts that runs its files unchanged")
      .option('--from <config>', "that tool's config file (default: migrate-mongo-config.js)")
      .option('--out <file>', 'the mongrate config to write (default: migrate.config.ts, or beside it a name derived from --from)')
      .option('--dry-run', 'print what would be recorded; change nothing')
      .option('--lock-wait <seconds>', 'wait this long for a lock held by another runner', wholeNumber('--lock-wait')),
  async run(flags, [tool = ''], { renderer, io, globals }) {
    if (tool !== 'migrate-mongo') throw new MongrateError('USAGE', `cannot import from '${tool}': mongrate imports from migrate-mongo`);
    const dryRun = flags.dryRun === true;
    const { adoptMigrateMongo, migrateMongoConfigTemplate } = await publicApi();
    const adoption = await adoptMigrateMongo({ from: flags.from, out: flags.out, cwd: io.cwd, uri: globals.uri, database: globals.db, env: io.env, dryRun, lockWait: flags.lockWait });
    renderer.addSecrets([...secretsOf(adoption.settings.url), ...secretsOf(adoption.uri)]);
    const target = adoption.config;
    const command = `mongrate${target.configFlag === undefined ? '' : ` --config ${target.configFlag}`} status`;
    const imported = { adoption, command, cwd: io.cwd, error: adoption.result.error };
    if (imported.error === undefined && !dryRun && !target.kept) {
      await writeFile(target.path, migrateMongoConfigTemplate(adoption.settings, dirname(target.path), io.cwd), { flag: 'wx' });
    }
    return imported;
  },
  render(out, { adoption, command, cwd, error }) {
    if (error !== undefined) return;
    const { settings, result, config: target } = adoption;
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
    const shownConfig = relative(cwd, target.path);
    const besides = target.besides === undefined ? '' : `, beside ${relative(cwd, target.besides)}, which is for another source`;
    if (target.kept) out.info(`Kept ${shownConfig}: it reads ${relative(cwd, settings.file)} already.`);
    else out.info(`${dryRun ? 'Would write' : 'Wrote'} ${shownConfig} (compat: 'migrate-mongo'; it reads the connection from ${relative(cwd, settings.file)})${besides}.`);
    out.out(`${dryRun ? 'Then run' : 'Run'} its migrations with: ${command} (then up, down, ...)`);
    if (dryRun) out.out('Nothing was changed.');
  },
  json: ({ adoption, command, error }) =>
    error !== undefined ? {} : {
      from: 'migrate-mongo',
      database: adoption.database,
      ...withoutError(adoption.result),
      notes: adoption.notes,
      config: { path: adoption.config.path, written: !adoption.result.dryRun && !adoption.config.kept, command },
    },
});
