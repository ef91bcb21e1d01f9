/**
 * Puts a command on the program and runs it: a project command once; a database command on the
 * one database the config names, or across the ones it selects (across.ts). Either way the
 * command's `run` returns a result and `finish` (or the summary across databases) turns it into
 * output and the exit code.
 */
import type { Migrator, ResultError } from '../index.ts';
import { runAcross } from './across.ts';
import { finish, type CliCommand, type CommandResult, type DatabaseCommand, type ProjectCommand } from './command.ts';
import { exitCodeOf } from './exit-codes.ts';
import type { Invocation } from './invocation.ts';
import { onStopSignals } from './stop-signals.ts';

export function projectCommand<F, R extends CommandResult>(command: ProjectCommand<F, R>): CliCommand {
  return (program, start) => {
    command.declare(program).action(start(async (invocation, flags, args) => finish(invocation.renderer, command, await command.run(flags as F, args, invocation))));
  };
}

export function databaseCommand<F, R extends CommandResult>(command: DatabaseCommand<F, R>): CliCommand {
  return (program, start) => {
    const declared = command.declare(program);
    declared.action(
      start(async (invocation, flags, args) => {
        const config = await invocation.config();
        if (config.databases !== undefined) return runAcross(invocation, declared.name(), command, flags as F, args, config);
        const { canary, keepGoing } = invocation.globals;
        if (canary !== undefined || keepGoing === true) {
          const error: ResultError = { code: 'USAGE', message: '--canary and --keep-going are for several databases: select them with --databases, --databases-match or config `databases`' };
          invocation.renderer.report(error);
          return exitCodeOf({ error });
        }
        return onOneDatabase(invocation, command, flags as F, args, await invocation.openMigrator());
      }),
    );
  };
}

async function onOneDatabase<F, R extends CommandResult>(invocation: Invocation, command: DatabaseCommand<F, R>, flags: F, args: string[], migrator: Migrator): Promise<number> {
  const out = invocation.renderer;
  const words = { stopping: 'stopping at the next safe point', leftBehind: 'the lock and the running record are' };
  const signals = command.interruptible === true ? onStopSignals(out, words, () => migrator.interrupt(), invocation.leave) : undefined;
  try {
    await command.follow?.(out, migrator);
    return finish(out, command, await command.run(migrator, flags, args, invocation));
  } finally {
    signals?.dispose();
  }
}
