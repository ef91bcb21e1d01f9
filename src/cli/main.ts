/**
 * Commander wiring: the global options, the help, the list of commands. `main` parses, runs one
 * command and resolves to its exit code; the bin is the only place that exits (a second Ctrl-C
 * makes `main` resolve at once with 130, whatever the command is still doing).
 */
import { dirname, resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { describeDrivers, MongrateError, TOOL_VERSION } from '../light.ts';
import type { CliCommand, Start } from './command.ts';
import { baselineCommand } from './commands/baseline.ts';
import { checkCommand } from './commands/check.ts';
import { createCommand } from './commands/create.ts';
import { downCommand } from './commands/down.ts';
import { historyCommand } from './commands/history.ts';
import { importCommand } from './commands/import.ts';
import { initCommand } from './commands/init.ts';
import { redoCommand } from './commands/redo.ts';
import { repairCommand } from './commands/repair.ts';
import { showCommand } from './commands/show.ts';
import { statusCommand } from './commands/status.ts';
import { unlockCommand } from './commands/unlock.ts';
import { upCommand } from './commands/up.ts';
import { validateCommand } from './commands/validate.ts';
import { EXIT_CODES } from './exit-codes.ts';
import { Invocation, type CliIo, type GlobalOptions } from './invocation.ts';
import { addAcrossDatabasesOptions } from './options.ts';
import { Renderer } from './renderer.ts';

/** Every command, in the order `--help` lists them. */
const COMMANDS: CliCommand[] = [
  initCommand,
  createCommand,
  statusCommand,
  upCommand,
  downCommand,
  redoCommand,
  historyCommand,
  showCommand,
  importCommand,
  validateCommand,
  checkCommand,
  baselineCommand,
  repairCommand,
  unlockCommand,
];

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
  MONGRATE_ENV        the config's environment, when --env is not given
  NO_COLOR, FORCE_COLOR  colour; CI (or no terminal): plain lines instead of spinners

Exit codes:
  0    success
  1    a migration failed (with --dry-run: the plan already shows it would)
  2    usage or configuration error: a bad flag or config key, no database, a bad URI,
       refused credentials, a migration that does not load, two migrations with one id
  3    the lock is held by another live runner (or this run lost it)
  4    status --check, validate or check --offline found problems; up refused changed or
       out-of-order files
  5    cannot reach the server
  130  interrupted (Ctrl-C, SIGTERM, or a migration past its timeoutSeconds)

Run 'mongrate <command> --help' for a command's options.
`;

/**
 * `--version`: mongrate's version, then the driver the project resolves and where from (found, not
 * loaded: start-up stays light). The project root is the folder of `--config` when given before
 * `--version`, else the cwd.
 */
function printVersion(program: Command, io: CliIo): never {
  const { config, file } = program.opts<GlobalOptions>();
  const given = config ?? file;
  const root = given === undefined ? io.cwd : dirname(resolve(io.cwd, given));
  io.stdout.write(`${TOOL_VERSION}\n${describeDrivers(root)}\n`);
  throw new CommanderError(0, 'commander.version', TOOL_VERSION);
}

export function buildProgram(io: CliIo, ending: { setExitCode: (code: number) => void; leave: (code: number) => void }): Command {
  const program = new Command('mongrate')
    .description('MongoDB migrations: ordered, checksummed, locked, batched.')
    .option('-V, --version', 'output the version number and the mongodb driver the project resolves')
    .addOption(new Option('-c, --config <path>', 'config file (default: search the cwd for migrate.config.ts and friends)').conflicts('file'))
    .option('-f, --file <path>', "the same as --config (migrate-mongo's spelling)")
    .option('--env <name>', "the config's environment to use: its keys merged over the others (beats MONGRATE_ENV)")
    .option('--uri <uri>', 'connection string (beats MONGODB_URI and the config)')
    .option('--db <name>', 'database (beats MONGODB_DATABASE and the config)')
    .option('--migrations-dir <dir>', 'migrations folder (beats the config)')
    .option('--json', 'print one JSON document on stdout; no colour, no spinner')
    .option('--no-color', 'no colour (NO_COLOR and FORCE_COLOR are honoured too)')
    .addOption(new Option('-v, --verbose', "more output: the config used, stack traces (a failed migration's own)").conflicts('quiet'))
    .addOption(new Option('-q, --quiet', 'only results and errors'));
  addAcrossDatabasesOptions(program);
  program.on('option:version', () => printVersion(program, io));
  program
    // every command's --help lists these too: they are valid with every command
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s), outputError: () => undefined })
    .exitOverride()
    .addHelpText('after', MORE_HELP);

  // a command's action: its invocation, its work, and whatever that throws (a config error, a bug) printed the one way
  const start: Start = (work) => async (...params: unknown[]) => {
    const self = params.at(-1) as Command;
    const flags = params.at(-2) as object;
    const args = params.slice(0, -2).filter((p): p is string => typeof p === 'string');
    const globals = self.optsWithGlobals<GlobalOptions>();
    const invocation = new Invocation(globals, rendererFor(self.name(), globals, io), io, ending.leave);
    try {
      ending.setExitCode(await work(invocation, flags, args));
    } catch (error) {
      ending.setExitCode(invocation.renderer.fail(error));
    } finally {
      await invocation.close();
    }
  };

  // the commands inherit the output, exit and help settings above (commander copies them)
  for (const command of COMMANDS) command(program, start);
  for (const command of program.commands) command.addHelpText('after', '\nExit codes and environment variables: mongrate --help\n');
  return program;
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  let exitCode = 0;
  let leave: (code: number) => void = () => undefined;
  const leaving = new Promise<number>((resolve) => (leave = resolve));
  const program = buildProgram(io, { setExitCode: (code) => (exitCode = code), leave: (code) => leave(code) });
  return Promise.race([run(program, argv, io).then((code) => code ?? exitCode), leaving]);
}

/** Parses and runs; resolves to the exit code of what commander refused, undefined when a command ran. */
async function run(program: Command, argv: string[], io: CliIo): Promise<number | undefined> {
  try {
    await program.parseAsync(argv);
    return undefined;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0 || error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
      if (error.code === 'commander.help') return EXIT_CODES.USAGE; // no command given: help went to stderr
      const globals = program.opts<GlobalOptions>();
      const command = program.commands.find((c) => c.name() === program.args[0]);
      const renderer = rendererFor(command?.name() ?? 'mongrate', globals, io);
      const code = renderer.fail(new MongrateError('USAGE', error.message.replace(/^error: /, '')));
      renderer.hint(`run \`mongrate${command === undefined ? '' : ` ${command.name()}`} --help\` for usage`);
      return code;
    }
    const renderer = rendererFor(program.args[0] ?? 'mongrate', program.opts<GlobalOptions>(), io);
    return renderer.fail(error);
  }
}
