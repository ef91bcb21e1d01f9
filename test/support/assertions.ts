// Assertions shared by unit and integration tests.
import assert from 'node:assert/strict';
import { MongrateError, type ErrorCode, type Hint } from '../../src/errors.ts';

/** For assert.throws / assert.rejects: a MongrateError of this code whose message matches. */
export function isError(code: ErrorCode, message: RegExp): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof MongrateError, `expected a MongrateError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  };
}

/**
 * An error's ways out in API terms, one string each: `up(retryFailed)`, `repair()`, and
 * `again(lockWait)` for a hint to call the same method again with an option.
 */
export function waysOut(error: { hints?: readonly Hint[] | undefined }): string[] {
  return (error.hints ?? []).map((hint) => `${hint.command ?? 'again'}(${Object.keys(hint.options ?? {}).join(', ')})`);
}
