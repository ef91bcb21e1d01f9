/**
 * Commands across databases (config `databases`, `--databases`, `--databases-match`): every
 * command that works on a database runs once per database, through the same handler as for one
 * database, with its lines prefixed by the database; a summary table (or one JSON document)
 * follows. The fan-out owns Ctrl-C: the first stops every database at its next safe point and
 * starts no other, the second leaves at once (`stop-signals.ts`).
 */
import { usageError, type ErrorCode } from '../../errors.ts';
import { exitCodeOf } from '../errors.ts';
import type { Failure } from '../renderer.ts';
import type { DatabaseResult, FanOut, ResolvedConfig, StatusResult } from '../../index.ts';
import { api, CommandContext } from '../context.ts';
import { onStopSignals } from '../stop-signals.ts';
import { databaseRenderer, type DatabaseRenderer } from './database-renderer.ts';
import { runSummaryTable, statusSummaryTable } from './summary.ts';

/** The commands that run per database; `init`, `create` and `import` do not. */
const PER_DATABASE = new Set(['status', 'up', 'down', 'redo', 'validate', 'baseline', 'repair', 'unlock']);

/**
 * Runs `runOne` for one database, or across the selected databases when the config or the flags
 * select several. `flags` are the command's own options.
 */
export async function dispatch(ctx: CommandContext, command: string, flags: object, runOne: (ctx: CommandContext) => Promise<number>): Promise<number> {
  const { canary, keepGoing } = ctx.globals;
  if (!PER_DATABASE.has(command)) return runOne(ctx);
  const config = await ctx.config();
  if (config.databases === undefined) {
    if (canary !== undefined || keepGoing === true) {
      throw usageError('--canary and --keep-going are for several databases: select them with --databases, --databases-match or config `databases`');
    }
    return runOne(ctx);
  }
  const { createFanOut } = await api();
  const fanOut = createFanOut(config);
  const stopSignals = onStopSignals(
    ctx,
    { stopping: 'stopping every database at its next safe point; no other database starts', leftBehind: 'the locks and running records are' },
    () => fanOut.interrupt(),
  );
  try {
    const names = await fanOut.databases();
    if (names.length === 0) {
      ctx.renderer.warn(`no database is selected (${describeSelection(config)}): nothing to do`);
      ctx.renderer.emitJson({ ok: true, databases: [] });
      return 0;
    }
    if (command === 'status') return await statusAcross(ctx, fanOut, names, 'check' in flags && flags.check === true);
    if (command === 'repair' && !('yes' in flags && flags.yes === true)) {
      throw usageError('repair across databases does not ask per database: check each with `mongrate repair --db <name>`, or pass --yes');
    }
    return await runAcross(ctx, fanOut, config, command, names, runOne);
  } finally {
    stopSignals.dispose();
    await fanOut.close();
  }
}

function describeSelection(config: ResolvedConfig): string {
  const { databases } = config;
  if (Array.isArray(databases)) return databases.join(', ');
  if (typeof databases === 'function') return 'the config\'s `databases` function returned none';
  return `no database matches '${databases?.match ?? ''}'`;
}

function prefixFor(ctx: CommandContext, names: string[]): (database: string) => string {
  const width = Math.max(...names.map((n) => n.length));
  return (database) => `${ctx.renderer.chalk.cyan(database.padEnd(width))} ${ctx.renderer.chalk.dim('│')} `;
}

async function runAcross(
  ctx: CommandContext,
  fanOut: FanOut,
  config: ResolvedConfig,
  command: string,
  names: string[],
  runOne: (ctx: CommandContext) => Promise<number>,
): Promise<number> {
  const prefix = prefixFor(ctx, names);
  const result = await fanOut.run(
    command,
    async (migrator, database) => {
      const renderer = databaseRenderer(ctx, command, prefix(database), config.uri);
      const member = new CommandContext(ctx.globals, renderer, ctx.io, { database, migrator });
      let exitCode: number;
      try {
        exitCode = await runOne(member);
      } catch (error) {
        exitCode = renderer.fail(error);
      }
      return { exitCode, renderer, error: errorOf(renderer.failure) };
    },
    {
      databases: names,
      ...(ctx.globals.canary === undefined ? {} : { canary: ctx.globals.canary }),
      keepGoing: ctx.globals.keepGoing === true,
    },
  );
  const { renderer } = ctx;
  if (result.error !== undefined && result.databases.length === 0) return renderer.report(result.error);
  if (renderer.json) {
    renderer.emitJson({ ok: result.ok, databases: result.databases.map(databaseDocument) });
  } else {
    renderer.out(runSummaryTable(renderer.chalk, command, result.databases));
  }
  return exitCodeOf([result.error, ...result.databases.map((d) => d.error)]);
}

function errorOf(failure: Failure | undefined): DatabaseResult<unknown>['error'] {
  return failure === undefined ? undefined : { code: failure.code as ErrorCode, message: failure.message };
}

/** One database in the `--json` document: its result, and what the command printed for it with `--json`. */
function databaseDocument(d: DatabaseResult<{ exitCode: number; renderer: DatabaseRenderer; error: DatabaseResult<unknown>['error'] }>): Record<string, unknown> {
  const { command: _command, ok: _ok, ...document } = d.result?.renderer.document ?? {};
  return {
    database: d.database,
    ok: d.outcome === 'ok',
    outcome: d.outcome,
    durationMs: d.durationMs,
    ...document,
    ...(d.error === undefined || 'error' in document ? {} : { error: d.error }),
  };
}

async function statusAcross(ctx: CommandContext, fanOut: FanOut, names: string[], check: boolean): Promise<number> {
  const result = await fanOut.status({ databases: names });
  const { renderer } = ctx;
  if (result.error !== undefined && result.databases.length === 0) return renderer.report(result.error);
  const failing = (d: DatabaseResult<StatusResult>): boolean => check && (d.result?.problems ?? 0) > 0;
  const errors = [result.error, ...result.databases.map((d) => d.error ?? (failing(d) ? { code: 'CHECK_FAILED' } : undefined))];
  if (renderer.json) {
    renderer.emitJson({
      ok: errors.every((e) => e === undefined),
      databases: result.databases.map((d) => ({
        database: d.database,
        ok: d.outcome === 'ok' && !failing(d),
        outcome: failing(d) ? 'problems' : d.outcome,
        ...d.result,
        ...(d.error === undefined ? {} : { error: { code: d.error.code, message: d.error.message } }),
      })),
    });
  } else {
    renderer.out(statusSummaryTable(renderer.chalk, result.databases));
    const problems = result.databases.filter(failing).map((d) => d.database);
    if (problems.length > 0) renderer.out(renderer.chalk.red(`check failed: ${problems.join(', ')} need${problems.length === 1 ? 's' : ''} attention (mongrate status --db <name> shows which migrations)`));
  }
  return exitCodeOf(errors);
}
