/**
 * What `validate` finds: duplicate ids, applied migrations changed or gone, what a stopped
 * copyAndRename left behind, and migrations that do not load. Pure: the migrator gathers the facts.
 */
import type { ChangelogRecord } from '../changelog/contract.ts';
import type { LeftoverCollection } from '../helpers/index.ts';
import type { Finding, ListedMigration } from '../types.ts';
import { integrityFindings } from './plan.ts';

export interface ValidateFacts {
  migrations: ListedMigration[];
  duplicates: { id: string; names: string[] }[];
  records: ChangelogRecord[];
  leftovers: LeftoverCollection[];
  /** Migrations whose code did not load, with why. */
  loadErrors: { id: string; message: string }[];
}

function leftoverMessage(leftover: LeftoverCollection): string {
  return leftover.kind === 'copy' ?
      `collection '${leftover.name}' is an unfinished copy of '${leftover.collection}' left by a copyAndRename that stopped or refused its swap; the next run of that migration drops it (or check it and drop it)`
    : `collection '${leftover.name}' is the original of '${leftover.collection}', moved aside by a brief-gap copyAndRename that stopped between its renames; if '${leftover.collection}' is missing, rename it back, else drop it`;
}

export function validateFindings(facts: ValidateFacts): Finding[] {
  const findings: Finding[] = facts.duplicates.map(({ id, names }) => ({
    id,
    kind: 'duplicate-id',
    message: `duplicate migration id '${id}': ${names.join(' and ')}; rename or remove one`,
  }));
  const duplicated = new Set(facts.duplicates.map((d) => d.id));
  findings.push(...integrityFindings(facts.migrations, facts.records.filter((r) => !duplicated.has(r._id))));
  for (const leftover of facts.leftovers) findings.push({ id: leftover.name, kind: 'leftover-collection', message: leftoverMessage(leftover) });
  for (const { id, message } of facts.loadErrors) {
    findings.push({ id, kind: message.includes('does not export an `up`') ? 'no-up' : 'load-error', message });
  }
  return findings;
}
