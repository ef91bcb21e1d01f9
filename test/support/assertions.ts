// Assertions shared by unit and integration tests.
import assert from 'node:assert/strict';
import { MongrateError, type ErrorCode } from '../../src/errors.ts';

/** For assert.throws / assert.rejects: a MongrateError of this code whose message matches. */
export function isError(code: ErrorCode, message: RegExp): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof MongrateError, `expected a MongrateError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  };
}
