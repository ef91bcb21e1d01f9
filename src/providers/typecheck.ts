/**
 * Type-checks TypeScript migration files, for `check --offline`, with the project's own
 * TypeScript (what `require('typescript')` finds from the project root; none: skipped, saying so)
 * and its tsconfig.json (the nearest one above the migrations folder; none: TypeScript's defaults,
 * with module resolution as the run-time loader does it). Only the migration files' own errors
 * count: a project's other type errors are its own business. `mongrate` resolves to this
 * package's declarations, as it resolves to this package when the migrations run.
 */
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import type * as TypeScript from 'typescript';
import { ownFile } from '../util/package-files.ts';

export type TypeCheckOutcome =
  | { version: string; files: number; errors: { path: string; message: string }[] }
  /** Why nothing was type-checked. */
  | { skipped: string };

/** This package's declarations (built), or its source (run from source, as in its own tests). */
function ownTypes(): string {
  return ownFile('index.d.ts', 'index.ts');
}

function projectTypeScript(projectRoot: string): typeof TypeScript | undefined {
  try {
    return createRequire(join(projectRoot, 'package.json'))('typescript') as typeof TypeScript;
  } catch {
    return undefined;
  }
}

/**
 * 'bundler' resolution (TypeScript 5+), the nearest to how the run-time loader resolves imports;
 * TypeScript 4.x, which has no such member, gets its node resolution. Read as a record, since
 * the project's TypeScript may be older than the one these types come from.
 */
function loaderLikeResolution(ts: typeof TypeScript): TypeScript.ModuleResolutionKind | undefined {
  // a numeric enum maps names to numbers and numbers back to names
  const kinds: Partial<Record<string, TypeScript.ModuleResolutionKind | string>> = ts.ModuleResolutionKind;
  const member = (name: string): TypeScript.ModuleResolutionKind | undefined => {
    const value = kinds[name];
    return typeof value === 'number' ? value : undefined;
  };
  return member('Bundler') ?? member('Node10') ?? member('NodeJs');
}

function compilerOptions(ts: typeof TypeScript, dir: string): TypeScript.CompilerOptions {
  const configFile = ts.findConfigFile(dir, (path) => ts.sys.fileExists(path), 'tsconfig.json');
  const ignore = (): void => undefined;
  const parsed = configFile === undefined ? undefined : ts.getParsedCommandLineOfConfigFile(configFile, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: ignore });
  const base: TypeScript.CompilerOptions = parsed?.options ?? {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: loaderLikeResolution(ts),
    esModuleInterop: true,
    allowImportingTsExtensions: true,
    skipLibCheck: true,
  };
  return {
    ...base,
    noEmit: true,
    incremental: false,
    composite: false,
    declaration: false,
    paths: { ...base.paths, mongrate: [ownTypes()] },
  };
}

/** Type-checks `files` (absolute paths of .ts/.mts/.cts migrations); messages name them relative to `shownFrom`. */
export function typeCheck(files: string[], options: { projectRoot: string; dir: string; shownFrom: string }): TypeCheckOutcome {
  if (files.length === 0) return { skipped: 'no TypeScript migrations' };
  const ts = projectTypeScript(options.projectRoot);
  if (ts === undefined) return { skipped: `TypeScript is not installed in the project (${options.projectRoot})` };
  const program = ts.createProgram(files, compilerOptions(ts, options.dir));
  // TypeScript names files its own way (forward slashes): back to the paths given
  const roots = new Map(files.flatMap((file) => {
    const name = program.getSourceFile(file)?.fileName;
    return name === undefined ? [] : [[name, file] as const];
  }));
  const errors = ts.getPreEmitDiagnostics(program).flatMap((d) => {
    const path = d.file === undefined ? undefined : roots.get(d.file.fileName);
    if (d.category !== ts.DiagnosticCategory.Error || d.file === undefined || path === undefined) return [];
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
    const shown = relative(options.shownFrom, path) || path;
    return [{ path, message: `${shown}:${line + 1}:${character + 1} TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}` }];
  });
  return { version: ts.version, files: files.length, errors };
}
