/**
 * Commander wiring. Parses, builds the context, calls one command handler and returns the exit
 * code; the bin is the only place that exits.
 */
import { Command, CommanderError, Option } from 'commander';
import { usageError } from '../errors.ts';
import { TOOL_VERSION } from '../util/identity.ts';
import { defineCreate } from './commands/create.ts';
import { defineImport } from './commands/import.ts';
import { defineDown, defineRedo } from './commands/down.ts';
import { defineInit } from './commands/init.ts';
import { defineBaseline, defineRepair, defineUnlock, defineValidate } from './commands/maintenance.ts';
import { defineStatus } from './commands/status.ts';
import { defineUp } from './commands/up.ts';
import { CommandContext, type CliIo, type GlobalOptions } from './context.ts';
import { dispatch } from './fan-out/across.ts';
import { defineFanOutOptions } from './fan-out/options.ts';
import { Renderer } from './renderer.ts';

/** A command handler returns its exit code; throwing a MongrateError maps to that error's code. */
export type Handler<O> = (ctx: CommandContext, options: O, args: string[]) => Promise<number>;
export type Register = <O>(command: Command, handler: Handler<O>) => Command;

function rendererFor(command: string, globals: Partial<GlobalOptions>, io: CliIo): Renderer {
  return new Renderer({
    command,
    json: globals.json === true,
    color: globals.color !== false,
    verbose: globals.verbose === true,
    quiet: globals.quiet === true,
    env: io.env,
    stdout: io.stdout,
    stderr: io.stderr,
  });
}

/** Parses a whole number option; commander calls this while parsing. */
export function wholeNumber(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw usageError(`${flag} takes a whole number >= 0, got '${value}'`);
    return Number(value);
  };
}

export function buildProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command('mongrate')
    .description('MongoDB migrations: ordered, checksummed, locked, batched.')
    .version(TOOL_VERSION, '-V, --version')
    .option('-c, --config <path>', 'config file (default: search the cwd for migrate.config.ts and friends)')
    .option('--uri <uri>', 'connection string (overrides MONGODB_URI and the config)')
    .option('--db <name>', 'database (overrides MONGODB_DATABASE and the config)')
    .option('--migrations-dir <dir>', 'migrations folder (overrides the config)')
    .option('--json', 'print one JSON document; no colour, no spinner', false)
    .option('--no-color', 'no colour (NO_COLOR and FORCE_COLOR are honoured too)')
    .addOption(new Option('-v, --verbose', 'more output, stack traces on errors').default(false).conflicts('quiet'))
    .addOption(new Option('-q, --quiet', 'only results and errors').default(false));
  defineFanOutOptions(program);
  program
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s), outputError: () => undefined })
    .exitOverride();

  const register: Register = <O,>(command: Command, handler: Handler<O>): Command =>
    command.action(async (...params: unknown[]) => {
      const self = params.at(-1) as Command;
      const options = params.at(-2) as O;
      const args = params.slice(0, -2).filter((p): p is string => typeof p === 'string');
      const globals = self.optsWithGlobals<GlobalOptions>();
      const ctx = new CommandContext(globals, rendererFor(self.name(), globals, io), io);
      try {
        setExitCode(await dispatch(ctx, self.name(), options as object, (one) => handler(one, options, args)));
      } catch (error) {
        setExitCode(ctx.renderer.fail(error));
      } finally {
        await ctx.close();
      }
    });

  const commands = [defineInit, defineCreate, defineStatus, defineUp, defineDown, defineRedo, defineImport];
  for (const define of [...commands, defineValidate, defineBaseline, defineRepair, defineUnlock]) define(program, register);
  for (const command of program.commands) {
    command.configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s), outputError: () => undefined });
    command.exitOverride();
  }
  return program;
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  let exitCode = 0;
  const program = buildProgram(io, (code) => (exitCode = code));
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0 || error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
      if (error.code === 'commander.help') return 2; // no command given: help went to stderr
      const globals = program.opts<GlobalOptions>();
      const renderer = rendererFor(program.args[0] ?? 'mongrate', globals, io);
      const code = renderer.fail(usageError(error.message.replace(/^error: /, '')));
      renderer.hint('run `mongrate --help` for usage');
      return code;
    }
    const renderer = rendererFor(program.args[0] ?? 'mongrate', program.opts<GlobalOptions>(), io);
    return renderer.fail(error);
  }
  return exitCode;
}
