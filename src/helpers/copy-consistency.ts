/**
 * Making copyAndRename's copy hold what the source holds at the swap, while an application may
 * still write to the source: catch-up passes (copy-catch-up.ts) until one finds nothing, then the
 * source frozen where the server allows it (copy-freeze.ts) and passes again until one finds
 * nothing, so that only a delete (which no validator refuses) can slip in before the swap. Where
 * the source cannot be frozen (no collMod: FerretDB), the last clean pass is the last look, and the
 * moment from it to the swap is unguarded: the caller says how long it was.
 *
 * Writers that never let a pass come out clean get the copy refused, both collections kept.
 */
import { performance } from 'node:perf_hooks';
import type { Db, Document } from 'mongodb';
import { collectionEntry } from './collection-options.ts';
import { catchUpPass, changesOf, type PassOutcome } from './copy-catch-up.ts';
import { freeze, validationOf, type Frozen } from './copy-freeze.ts';
import type { CopyJob } from './copy-job.ts';
import type { HelperContext } from './types.ts';

/** Passes before the source is frozen (where it can be). */
const PASSES_BEFORE_FREEZE = 3;
/** Passes with the source frozen: only deletes can change it then, so one more pass is clean. */
const FROZEN_PASSES = 3;
/** Passes in all where the source cannot be frozen. */
const UNFROZEN_PASSES = 6;

export interface Consistency {
  /** The copy held the source as the last pass read it. */
  clean: boolean;
  passes: PassOutcome[];
  /** The source, refusing inserts and updates until restored; undefined where it could not be frozen. */
  frozen: Frozen | undefined;
  /** Why it could not be frozen. */
  unfrozenBecause: string | undefined;
  /** performance.now() when the last pass began: from then on, a write it did not see is not carried over. */
  lastLook: number;
}

/** `walk`: the records can be read beside the source (see copy-catch-up.ts). */
export async function makeConsistent(ctx: HelperContext, job: CopyJob, db: Db, batchSize: number, sort: Document, walk: boolean): Promise<Consistency> {
  const passes: PassOutcome[] = [];
  let lastLook = performance.now();
  const pass = async (): Promise<boolean> => {
    lastLook = performance.now();
    const outcome = await catchUpPass(ctx, job, batchSize, sort, walk);
    passes.push(outcome);
    return changesOf(outcome) === 0;
  };
  const name = job.source.collectionName;
  let clean = false;
  while (!clean && passes.length < PASSES_BEFORE_FREEZE) clean = await pass();
  const current = validationOf((await collectionEntry(ctx, db, name))?.options as Document | undefined);
  const frozen = await freeze(ctx, db, name, current);
  if ('reason' in frozen) {
    while (!clean && passes.length < UNFROZEN_PASSES) clean = await pass();
    return { clean, passes, frozen: undefined, unfrozenBecause: frozen.reason, lastLook };
  }
  try {
    clean = false;
    for (let i = 0; i < FROZEN_PASSES && !clean; i++) clean = await pass();
  } catch (error) {
    await frozen.restore(name).catch(() => undefined);
    throw error;
  }
  return { clean, passes, frozen, unfrozenBecause: undefined, lastLook };
}
