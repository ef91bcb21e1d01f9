/**
 * Reads migrate-mongo's changelog, `{ fileName, appliedAt, migrationBlock, fileHash? }` per
 * applied file, into entries mongrate can import. It is only read, never changed. Ids are file
 * names without the extension; one `migrationBlock` (one `migrate-mongo up`) becomes one run.
 * With `useFileHash` a file edited and run again has several entries: the newest counts.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from 'mongodb';
import { MongrateError } from '../../errors.ts';
import { migrationIdOf } from '../../providers/discover.ts';
import type { ImportedMigration } from '../../types.ts';
import type { MigrateMongoSettings } from './config.ts';

interface MigrateMongoEntry {
  fileName?: unknown;
  appliedAt?: unknown;
  migrationBlock?: unknown;
  fileHash?: unknown;
}

export interface MigrateMongoChangelog {
  entries: ImportedMigration[];
  warnings: string[];
}

export function idOfFileName(fileName: string, extension: string): string {
  return fileName.endsWith(extension) ? fileName.slice(0, -extension.length) : migrationIdOf(fileName);
}

/** migrate-mongo's own file hash: sha256 hex of the raw bytes (no line-ending normalisation). */
function migrateMongoHash(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Refuses while migrate-mongo holds its lock (only kept when `lockTtl` > 0): it may be applying migrations right now. */
export async function refuseWhileLocked(db: Db, settings: MigrateMongoSettings): Promise<void> {
  if (settings.lockCollectionName === undefined || settings.lockTtl <= 0) return;
  const held = await db.collection(settings.lockCollectionName).countDocuments({}, { limit: 1 });
  if (held > 0) {
    throw new MongrateError('LOCK_HELD', `migrate-mongo's lock in ${settings.lockCollectionName} is held: a migrate-mongo run may be under way; import once it has finished`);
  }
}

export async function readMigrateMongoChangelog(db: Db, settings: MigrateMongoSettings): Promise<MigrateMongoChangelog> {
  const documents = await db.collection<MigrateMongoEntry>(settings.changelogCollectionName).find({}).toArray();
  const warnings: string[] = [];
  const newest = new Map<string, { entry: ImportedMigration; fileName: string; fileHash: unknown }>();
  for (const doc of documents) {
    const { fileName, appliedAt, migrationBlock, fileHash } = doc;
    if (typeof fileName !== 'string' || !(appliedAt instanceof Date)) {
      warnings.push(`skipped a ${settings.changelogCollectionName} entry without a fileName and an appliedAt date (_id ${String(doc._id)})`);
      continue;
    }
    const id = idOfFileName(fileName, settings.migrationFileExtension);
    // entries of migrate-mongo before 8.0 have no block: each then stands alone, as its `down` reverts one
    const run = typeof migrationBlock === 'number' ? `migrate-mongo-block-${migrationBlock}` : `migrate-mongo-${fileName}`;
    const previous = newest.get(id);
    if (previous === undefined || previous.entry.appliedAt < appliedAt) newest.set(id, { entry: { id, appliedAt, run }, fileName, fileHash });
  }
  for (const { fileName, fileHash } of newest.values()) {
    const path = join(settings.migrationsDir, fileName);
    if (settings.useFileHash && typeof fileHash === 'string' && existsSync(path) && migrateMongoHash(path) !== fileHash) {
      warnings.push(
        `${fileName} changed since migrate-mongo last ran it: with useFileHash migrate-mongo would run it again, mongrate records it as applied (run \`mongrate redo ${idOfFileName(fileName, settings.migrationFileExtension)}\` if it should run again)`,
      );
    }
  }
  return { entries: [...newest.values()].map((n) => n.entry), warnings };
}
