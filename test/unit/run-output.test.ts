// Unit tests of what a run's history entry keeps of what the migration said: its own lines and
// its helpers' apart, at most 100 and 50 (first and last halves, a marker where lines were left
// out), 500 characters a line, every line masked; nothing at all when nothing was said.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HELPER_LINES, LINE_LENGTH, LOG_LINES, StepOutput } from '../../src/core/run-output.ts';
import { redactText } from '../../src/util/redact.ts';

const clean = (text: string): string => redactText(text, []);

void describe('StepOutput', () => {
  void it("keeps the migration's lines and the helpers' apart, masked", () => {
    const output = new StepOutput();
    output.add('copying from mongodb://app:hunter2@db.internal/x', 'migration');
    output.add('reshape(users): 3 matched, 3 modified, 0 deleted in 0.0 s', 'helper');
    assert.deepEqual(output.stored(clean), { log: ['copying from mongodb://app:***@db.internal/x'], helpers: ['reshape(users): 3 matched, 3 modified, 0 deleted in 0.0 s'] });
  });

  void it('nothing said: nothing stored', () => {
    assert.equal(new StepOutput().stored(clean), undefined);
  });

  void it('bounded: the first and last halves of each kind, a marker line, and how many were left out; long lines cut', () => {
    const output = new StepOutput();
    for (let i = 1; i <= 250; i++) output.add(`line ${i}`, 'migration');
    for (let i = 1; i <= 60; i++) output.add(`helper ${i}`, 'helper');
    output.add('y'.repeat(2000), 'helper');
    const stored = output.stored(clean);
    assert.ok(stored !== undefined);
    assert.equal(stored.log.length, LOG_LINES + 1);
    assert.deepEqual(stored.log.slice(LOG_LINES / 2 - 1, LOG_LINES / 2 + 2), ['line 50', '… 150 lines left out …', 'line 201']);
    assert.equal(stored.log.at(-1), 'line 250');
    assert.equal(stored.helpers.length, HELPER_LINES + 1);
    assert.equal(stored.helpers[HELPER_LINES / 2], '… 11 lines left out …');
    assert.equal(stored.helpers.at(-1)?.length, LINE_LENGTH);
    assert.equal(stored.omitted, 161);
  });
});
