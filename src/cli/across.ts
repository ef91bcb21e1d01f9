/**
 * A database command across databases (config `databases`, `--databases`, `--databases-match`):
 * the same `run` once per database through `createFanOut`, its lines prefixed with the database,
 * then a summary table (or one JSON document) made from the fan-out's result: the API's
 * per-database results, never what was printed. The fan-out owns Ctrl-C: the first stops every
 * database at its next safe point and starts no other, the second leaves at once.
 */
import type { DatabaseResult, ResolvedConfig } from '../index.ts';
import { jsonFields, say, type CommandResult, type DatabaseCommand } from './command.ts';
import { errorDocument } from './advice.ts';
import { exitCodeOf } from './exit-codes.ts';
import { publicApi, type Invocation } from './invocation.ts';
import type { Renderer } from './renderer.ts';
import { onStopSignals } from './stop-signals.ts';
import { summaryTable } from './summary-table.ts';

export async function runAcross<F, R extends CommandResult>(
  invocation: Invocation,
  name: string,
  command: DatabaseCommand<F, R>,
  flags: F,
  args: string[],
  config: ResolvedConfig,
): Promise<number> {
  const out = invocation.renderer;
  const fanOut = (await publicApi()).createFanOut(config);
  const words = { stopping: 'stopping every database at its next safe point; no other database starts', leftBehind: 'the locks and running records are' };
  const signals = onStopSignals(out, words, () => fanOut.interrupt(), invocation.leave);
  try {
    const names = await fanOut.databases();
    if (names.length === 0) {
      out.warn(`no database is selected (${describeSelection(config)}): nothing to do`);
      out.emitJson({ ok: true, databases: [] });
      return 0;
    }
    const refusal = command.refuseAcross?.(flags);
    if (refusal !== undefined) {
      out.report(refusal);
      return exitCodeOf({ error: refusal });
    }
    const prefix = prefixFor(out, names);
    const { canary, keepGoing } = invocation.globals;
    const result = await fanOut.run(
      name,
      async (migrator, database) => {
        const own = out.prefixed(prefix(database));
        await command.follow?.(own, migrator);
        let result: R;
        try {
          result = await command.run(migrator, flags, args, invocation);
        } catch (error) {
          // a bug: said on its database's lines; the fan-out records it as that database's error
          if (!own.json) own.fail(error);
          throw error;
        }
        if (command.across === undefined && !own.json) say(own, command, result);
        return result;
      },
      { databases: names, ...(canary === undefined ? {} : { canary }), keepGoing: keepGoing === true },
    );
    // what stopped the command as a whole is its error; an interruption each database has told already
    if (result.error !== undefined && result.error.code !== 'INTERRUPTED') {
      out.report(result.error);
    } else if (out.json) {
      out.emitJson(command.across?.json(result) ?? { ok: result.ok, databases: result.databases.map((d) => databaseDocument(command, d)) });
    } else if (command.across !== undefined) {
      command.across.render(out, result);
    } else {
      out.out(summaryTable(out.chalk, result, command.count));
    }
    return exitCodeOf(result);
  } finally {
    signals.dispose();
    await fanOut.close();
  }
}

function describeSelection(config: ResolvedConfig): string {
  const { databases } = config;
  if (Array.isArray(databases)) return databases.join(', ');
  if (typeof databases === 'function') return "the config's `databases` function returned none";
  return `no database matches '${databases?.match ?? ''}'`;
}

function prefixFor(out: Renderer, names: string[]): (database: string) => string {
  const width = Math.max(...names.map((n) => n.length));
  return (database) => `${out.chalk.cyan(database.padEnd(width))} ${out.chalk.dim('│')} `;
}

/** One database in the `--json` document: how it ended, and the document the command prints for one database. */
function databaseDocument<F, R extends CommandResult>(command: DatabaseCommand<F, R>, d: DatabaseResult<R>): object {
  const fields = d.result === undefined ? {} : jsonFields(command, d.result);
  return { database: d.database, ok: d.outcome === 'ok', outcome: d.outcome, durationMs: d.durationMs, ...fields, ...(d.error === undefined ? {} : { error: errorDocument(d.error) }) };
}
