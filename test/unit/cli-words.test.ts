// The CLI's pure wording: hints as commands and flags (and exit codes) from the one table, text
// wrapped to a width, progress and ETA, and the description a new migration starts with.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { descriptionFor } from '../../src/cli/commands/create.ts';
import { hintWords, withAdvice } from '../../src/cli/advice.ts';
import { EXIT_CODES, exitCodeFor } from '../../src/cli/exit-codes.ts';
import { formatEta, progressWords } from '../../src/cli/format.ts';
import { breakLongWords, wrapLine } from '../../src/cli/wrap.ts';

void describe('hints as CLI words', () => {
  void it('a command with options is a command line; options alone are flags to pass', () => {
    assert.equal(hintWords({ command: 'down', options: { retryFailed: true }, purpose: 'finish reverting it' }), 'run `mongrate down --retry-failed` to finish reverting it');
    assert.equal(hintWords({ command: 'unlock', purpose: 'release it' }), 'run `mongrate unlock` to release it');
    assert.equal(hintWords({ options: { lockWait: 'seconds' }, purpose: 'wait for it' }), 'pass `--lock-wait <seconds>` to wait for it');
    assert.equal(hintWords({ options: { validate: false }, purpose: 'skip this check' }), 'pass `--no-validate` to skip this check');
    assert.equal(hintWords({ command: 'up', options: { allowOutOfOrder: true }, purpose: 'apply it anyway' }), 'run `mongrate up --allow-out-of-order` to apply it anyway');
  });

  void it('a setting is its flag, its config key and (for the migrations folder) the command that creates it', () => {
    assert.equal(hintWords({ setting: 'database', purpose: 'name it' }), 'pass `--db <name>` (or set `database` in the config, or MONGODB_DATABASE) to name it');
    assert.equal(
      hintWords({ setting: 'migrationsDir', purpose: 'name the folder of migration files' }),
      'pass `--migrations-dir <dir>` (or set `migrationsDir` in the config) to name the folder of migration files, or run `mongrate init` to create it',
    );
  });

  void it('the message, then every way out', () => {
    assert.equal(withAdvice('lock held by x', []), 'lock held by x');
    assert.equal(withAdvice('lock held by x', undefined), 'lock held by x');
    assert.equal(
      withAdvice('lock held by x', [
        { options: { lockWait: 'seconds' }, purpose: 'wait for it' },
        { command: 'unlock', purpose: 'release it if that runner is dead' },
      ]),
      'lock held by x; pass `--lock-wait <seconds>` to wait for it, or run `mongrate unlock` to release it if that runner is dead',
    );
  });

  void it('exit codes as the README lists them; an unknown code is a failure', () => {
    assert.deepEqual(
      Object.entries(EXIT_CODES).map(([code, exit]) => `${code}=${exit}`).sort(),
      [
        'AUTH_FAILED=2', 'CHECK_FAILED=4', 'CONFIG=2', 'DUPLICATE_ID=2', 'INTERRUPTED=130', 'LOCK_HELD=3', 'LOCK_LOST=3',
        'MIGRATION_FAILED=1', 'SERVER_ERROR=1', 'SERVER_PROBE_FAILED=5', 'TRANSACTION_LIMIT=1', 'UNREACHABLE=5', 'USAGE=2',
      ],
    );
    assert.equal(exitCodeFor('SOMETHING_NEW'), 1);
  });
});

void describe('wrapping', () => {
  void it('breaks words wider than the column at a dash or slash, else where they must', () => {
    assert.equal(breakLongWords('20250102090000-users-flat-to-nested', 20), '20250102090000- users-flat-to-nested');
    assert.equal(breakLongWords('short words stay', 5), 'short words stay');
    assert.equal(breakLongWords('abcdefghij', 4), 'abcd efgh ij');
    assert.equal(breakLongWords('profile/settings,', 16), 'profile/ settings,');
  });

  void it('wraps a line at spaces, every line within the width, later ones indented', () => {
    const lines = wrapLine('002-fails (failed): E11000 duplicate key error collection: app.users index: email_unique', 30, '    ');
    assert.ok(lines.every((line) => line.length <= 30), lines.join('\n'));
    assert.equal(lines[0], '002-fails (failed): E11000');
    assert.ok(lines.slice(1).every((line) => line.startsWith('    ')));
    assert.equal(lines.map((line) => line.trim()).join(' '), '002-fails (failed): E11000 duplicate key error collection: app.users index: email_unique');
    assert.deepEqual(wrapLine('', 30), ['']);
  });
});

void describe('progress words', () => {
  void it('done/total, percent, docs/s and an ETA; done at the end', () => {
    assert.equal(progressWords({ helper: 'reshape', collection: 'users', done: 400, total: 1000, docsPerSecond: 38 }), 'reshape users: 400/1000 (40%), 38 docs/s, ETA 16 s');
    assert.equal(progressWords({ helper: 'reshape', collection: 'users', done: 1000, total: 1000, docsPerSecond: 38 }), 'reshape users: 1000/1000 (100%), 38 docs/s, done');
    assert.equal(progressWords({ helper: 'reshape', collection: 'users', done: 0, total: 10, docsPerSecond: 0 }), 'reshape users: 0/10 (0%), 0 docs/s, ETA unknown');
  });

  void it('an ETA reads as a person estimates', () => {
    assert.deepEqual([0.2, 40, 190, 7500].map(formatEta), ['1 s', '40 s', '3 min 10 s', '2 h 5 min']);
  });
});

void describe('a new migration', () => {
  void it('starts with its name in words as the description', () => {
    assert.equal(descriptionFor('add-users-index'), 'Add users index');
    assert.equal(descriptionFor('Add User profile!'), 'Add User profile!');
    assert.equal(descriptionFor('  backfill_orders--v2 '), 'Backfill orders v2');
  });
});
