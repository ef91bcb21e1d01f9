/**
 * console-table-printer, loaded when a table is first printed (`status`, a command across
 * databases): the other commands (`--version`, `up`, `down`, ...) never load it (20-30 ms of CPU
 * measured in a bare process on the shared 2-core machine). Through require, not import(): it is
 * CommonJS, and import() would also run Node's CommonJS export scan over it (see
 * util/import-module.ts, which loads jiti the same way).
 */
import { createRequire } from 'node:module';
import type { Table } from 'console-table-printer';

let loaded: typeof Table | undefined;

/** The table class, loaded on first use. */
export function tableClass(): typeof Table {
  loaded ??= (createRequire(import.meta.url)('console-table-printer') as typeof import('console-table-printer')).Table;
  return loaded;
}
