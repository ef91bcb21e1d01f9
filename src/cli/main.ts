/**
 * Commander wiring. Parses, builds the context, calls one command handler and returns the exit
 * code; the bin is the only place that exits.
 */
import { dirname, resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { describeDrivers } from '../driver/find.ts';
import { usageError } from '../errors.ts';
import { TOOL_VERSION } from '../util/identity.ts';
import { defineCreate } from './commands/create.ts';
import { defineImport } from './commands/import.ts';
import { defineDown, defineRedo } from './commands/down.ts';
import { defineInit } from './commands/init.ts';
import { defineBaseline, defineRepair, defineUnlock, defineValidate } from './commands/maintenance.ts';
import { defineStatus } from './commands/status.ts';
import { defineUp } from './commands/up.ts';
import { CommandContext, type CliIo, type GlobalOptions, type Handler, type Register } from './context.ts';
import { dispatch } from './fan-out/across.ts';
import { defineFanOutOptions } from './fan-out/options.ts';
import { Renderer } from './renderer.ts';

function rendererFor(command: string, globals: GlobalOptions, io: CliIo): Renderer {
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

/** After the top-level help: what the options table cannot say. */
const MORE_HELP = `
Environment:
  MONGODB_URI         connection string, when --uri is not given (it beats the config's uri)
  MONGODB_DATABASE    database, when --db is not given (it beats the config's database)
  NO_COLOR, FORCE_COLOR  colour; CI (or no terminal): plain lines instead of spinners

Exit codes:
  0    success
  1    a migration failed (with --dry-run: the plan already shows it would)
  2    usage or configuration error: a bad flag or config key, no database, a bad URI,
       refused credentials, a migration that does not load, two migrations with one id
  3    the lock is held by another live runner (or this run lost it)
  4    status --check or validate found problems; up refused changed or out-of-order files
  5    cannot reach the server
  130  interrupted (Ctrl-C, SIGTERM)

Run 'mongrate <command> --help' for a command's options.
`;

/**
 * `--version`: mongrate's version, then the driver the project resolves and where from (found, not
 * loaded: start-up stays light). The project root is the folder of `--config` when given before
 * `--version`, else the cwd.
 */
function printVersion(program: Command, io: CliIo): never {
  const { config } = program.opts<GlobalOptions>();
  const root = config === undefined ? io.cwd : dirname(resolve(io.cwd, config));
  io.stdout.write(`${TOOL_VERSION}\n${describeDrivers(root)}\n`);
  throw new CommanderError(0, 'commander.version', TOOL_VERSION);
}

export function buildProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command('mongrate')
    .description('MongoDB migrations: ordered, checksummed, locked, batched.')
    .option('-V, --version', 'output the version number and the mongodb driver the project resolves')
    .option('-c, --config <path>', 'config file (default: search the cwd for migrate.config.ts and friends)')
    .option('--uri <uri>', 'connection string (beats MONGODB_URI and the config)')
    .option('--db <name>', 'database (beats MONGODB_DATABASE and the config)')
    .option('--migrations-dir <dir>', 'migrations folder (beats the config)')
    .option('--json', 'print one JSON document on stdout; no colour, no spinner')
    .option('--no-color', 'no colour (NO_COLOR and FORCE_COLOR are honoured too)')
    .addOption(new Option('-v, --verbose', "more output: the config used, stack traces (a failed migration's own)").conflicts('quiet'))
    .addOption(new Option('-q, --quiet', 'only results and errors'));
  defineFanOutOptions(program);
  program.on('option:version', () => printVersion(program, io));
  program
    // every command's --help lists these too: they are valid with every command
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s), outputError: () => undefined })
    .exitOverride()
    .addHelpText('after', MORE_HELP);

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

  // the commands inherit the output, exit and help settings above (commander copies them)
  const commands = [defineInit, defineCreate, defineStatus, defineUp, defineDown, defineRedo, defineImport];
  for (const define of [...commands, defineValidate, defineBaseline, defineRepair, defineUnlock]) define(program, register);
  for (const command of program.commands) command.addHelpText('after', '\nExit codes and environment variables: mongrate --help\n');
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
      const command = program.commands.find((c) => c.name() === program.args[0]);
      const renderer = rendererFor(command?.name() ?? 'mongrate', globals, io);
      const code = renderer.fail(usageError(error.message.replace(/^error: /, '')));
      renderer.hint(`run \`mongrate${command === undefined ? '' : ` ${command.name()}`} --help\` for usage`);
      return code;
    }
    const renderer = rendererFor(program.args[0] ?? 'mongrate', program.opts<GlobalOptions>(), io);
    return renderer.fail(error);
  }
  return exitCode;
}
