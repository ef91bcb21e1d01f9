/**
 * The renderer of one database in a command across databases: the command's own renderer, its
 * lines prefixed with the database, and what it showed kept for the summary (the run result,
 * the JSON document, the error). Spinners are off: several databases share the terminal.
 */
import { Writable } from 'node:stream';
import type { RunResult } from '../../index.ts';
import { secretsOf } from '../../util/redact.ts';
import type { CommandContext } from '../context.ts';
import { Renderer, type Failure } from '../renderer.ts';

/** A stream that writes every line to `target` with `prefix` before it. */
export function prefixedStream(target: NodeJS.WritableStream, prefix: string): Writable {
  let partial = '';
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, callback) {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      if (lines.length > 0) target.write(lines.map((line) => prefix + line + '\n').join(''));
      callback();
    },
  });
}

/** Discards what is written: a database's own JSON document is kept, not printed. */
function discard(): Writable {
  return new Writable({ write: (_chunk, _encoding, callback) => callback() });
}

export class DatabaseRenderer extends Renderer {
  /** The last JSON document the command emitted (in text mode too: it is what `--json` would print). */
  document: Record<string, unknown> | undefined;
  /** The run's result, for `up`, `down` and `redo`. */
  run: RunResult | undefined;
  /** What the command failed with, if it did. */
  failure: Failure | undefined;

  override emitJson(document: Record<string, unknown>): void {
    this.document = document;
    super.emitJson(document);
  }

  override report(failure: Failure, extra: Record<string, unknown> = {}): number {
    this.failure = failure;
    return super.report(failure, extra);
  }

  override runEnded(result: RunResult): void {
    this.run = result;
  }
}

export function databaseRenderer(ctx: CommandContext, command: string, prefix: string, uri: string): DatabaseRenderer {
  const { globals, io } = ctx;
  const json = globals.json === true;
  // colour follows the real terminal; the prefixed streams themselves are no TTY, so no spinner
  const stdout = Object.assign(json ? discard() : prefixedStream(io.stdout, prefix), { isTTY: io.stdout.isTTY });
  const renderer = new DatabaseRenderer({
    command,
    json,
    color: globals.color !== false,
    verbose: globals.verbose === true,
    quiet: globals.quiet === true,
    env: io.env,
    stdout,
    stderr: json ? discard() : prefixedStream(io.stderr, prefix),
  });
  renderer.addSecrets([...secretsOf(uri), ...secretsOf(globals.uri)]);
  return renderer;
}
