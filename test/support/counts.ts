// Status counts as the API gives them: every state, 0 where there is none.
import type { MigrationState } from '../../src/types.ts';

export const NO_COUNTS: Readonly<Record<MigrationState, number>> = {
  applied: 0,
  baseline: 0,
  pending: 0,
  'out-of-order': 0,
  running: 0,
  failed: 0,
  changed: 0,
  missing: 0,
  unchecked: 0,
};

/** The counts of a status with these states (every other state 0). */
export function counts(some: Partial<Record<MigrationState, number>>): Record<MigrationState, number> {
  return { ...NO_COUNTS, ...some };
}
