/** `import migrate-mongo`: adopt a project that used migrate-mongo, without running anything again. */
import { writeFile } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import type { Command } from 'commander';
import { usageError } from '../../errors.ts';
import { redactUri, secretsOf } from '../../util/redact.ts';
import { api } from '../context.ts';
import type { Register } from '../context.ts';
import { wholeNumber } from '../options.ts';

interface ImportFlags {
  from?: string;
  out?: string;
  dryRun?: boolean;
  lockWait?: number;
}

export function defineImport(program: Command, register: Register): void {
  const command = program
    .command('import')
    .argument('<tool>', 'the tool the project used: migrate-mongo')
    .description("record what another tool applied as applied (from its changelog, left untouched) and write a migrate.config.ts that runs its files unchanged")
    .option('--from <config>', "that tool's config file (default: migrate-mongo-config.js)")
    .option('--out <file>', 'the mongrate config to write (default: migrate.config.ts, or beside it a name derived from --from)')
    .option('--dry-run', 'print what would be recorded; change nothing')
    .option('--lock-wait <seconds>', 'wait this long for a lock held by another runner', wholeNumber('--lock-wait'));
  register<ImportFlags>(command, async (ctx, flags, [tool = '']) => {
    if (tool !== 'migrate-mongo') throw usageError(`cannot import from '${tool}': mongrate imports from migrate-mongo`);
    const { renderer, io, globals } = ctx;
    const dryRun = flags.dryRun === true;
    const { adoptMigrateMongo, migrateMongoConfigTemplate } = await api();
    const adoption = await adoptMigrateMongo({ from: flags.from, out: flags.out, cwd: io.cwd, uri: globals.uri, database: globals.db, env: io.env, dryRun, lockWait: flags.lockWait });
    const { settings, result } = adoption;
    renderer.addSecrets([...secretsOf(settings.url), ...secretsOf(adoption.uri)]);
    const target = adoption.config;
    const configPath = target.path;
    const configExists = target.kept;
    if (!dryRun && !configExists) await writeFile(configPath, migrateMongoConfigTemplate(settings, dirname(configPath), io.cwd), { flag: 'wx' });

    const { chalk } = renderer;
    const source = `${settings.changelogCollectionName} in ${adoption.database} at ${redactUri(adoption.uri)}`;
    renderer.info(`${dryRun ? 'Would import' : 'Importing'} migrate-mongo's changelog (${source}):`);
    for (const entry of result.imported) {
      const when = entry.appliedAt.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
      const gone = entry.state === 'missing' ? chalk.red(' (its file is gone: shows as missing)') : '';
      renderer.out(`  ${chalk.green(dryRun ? '→' : '✔')} ${entry.id} ${chalk.dim(`applied ${when}, ${entry.run}`)}${gone}`);
    }
    for (const skipped of result.skipped) {
      renderer.info(`  ${chalk.dim(`- ${skipped.id}: ${skipped.reason === 'recorded' ? 'already in mongrate\'s changelog' : 'imported before (and reverted since): left alone'}`)}`);
    }
    for (const note of adoption.notes) renderer.warn(note);
    const runs = new Set(result.imported.map((i) => i.run)).size;
    const counted = `${result.imported.length} migration${result.imported.length === 1 ? '' : 's'} in ${runs} run${runs === 1 ? '' : 's'}`;
    renderer.out(
      result.imported.length === 0 ? 'Nothing to import: every entry is in mongrate\'s changelog, or was imported before.'
      : `${dryRun ? 'Would import' : 'Imported'} ${counted}${result.skipped.length > 0 ? `; ${result.skipped.length} left alone` : ''}.`,
    );
    const shownConfig = relative(io.cwd, configPath);
    const besides = target.besides === undefined ? '' : `, beside ${relative(io.cwd, target.besides)}, which is for another source`;
    if (configExists) renderer.info(`Kept ${shownConfig}: it reads ${relative(io.cwd, settings.file)} already.`);
    else renderer.info(`${dryRun ? 'Would write' : 'Wrote'} ${shownConfig} (compat: 'migrate-mongo'; it reads the connection from ${relative(io.cwd, settings.file)})${besides}.`);
    const command = `mongrate${target.configFlag === undefined ? '' : ` --config ${target.configFlag}`} status`;
    renderer.out(`${dryRun ? 'Then run' : 'Run'} its migrations with: ${command} (then up, down, ...)`);
    if (dryRun) renderer.out('Nothing was changed.');
    renderer.emitJson({
      ok: true,
      from: 'migrate-mongo',
      database: adoption.database,
      ...result,
      notes: adoption.notes,
      config: { path: configPath, written: !dryRun && !configExists, command },
    });
    return 0;
  });
}
