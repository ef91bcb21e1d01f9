// Unit tests of migrations given in code (the inline provider): id order, checksums, duplicates, entry checks.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inlineProvider } from '../../src/providers/inline.ts';
import { checksumOf } from '../../src/providers/discover.ts';
import { isError } from '../support/assertions.ts';

void describe('in-code migrations', () => {
  void it('lists in id order with the checksum of the source, reports duplicates, checks entries', async () => {
    const up = (): Promise<void> => Promise.resolve();
    const provider = inlineProvider([{ id: 'b', up, source: 'text' }, { id: 'a', up }, { id: 'c', up }, { id: 'c', up }]);
    const survey = await provider.survey();
    assert.deepEqual(survey.migrations.map((m) => [m.id, m.checksum]), [['a', undefined], ['b', checksumOf('text')]]);
    assert.deepEqual(survey.duplicates, [{ id: 'c', names: ['migrations[2]', 'migrations[3]'] }]);
    await assert.rejects(inlineProvider([{ id: '', up }]).survey(), isError('USAGE', /migrations\[0\] needs an `id`/));
    const brokenProvider = inlineProvider([{ id: 'x', up: 'nope' as unknown as typeof up }]);
    const [broken] = (await brokenProvider.survey()).migrations;
    assert.ok(broken !== undefined, 'it is listed: checked when it is about to run');
    await assert.rejects(brokenProvider.load(broken), isError('USAGE', /'x' does not export an `up`/));
  });
});
