// The shared promise behind a migrator's connection, server probe and clock sample: made once,
// retried after a failure, handed over by take().
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retryable } from '../../src/util/retryable.ts';

void describe('retryable()', () => {
  void it('makes the promise once for every caller', async () => {
    let made = 0;
    const get = retryable(() => Promise.resolve(++made));
    assert.deepEqual(await Promise.all([get(), get(), get()]), [1, 1, 1]);
    assert.equal(made, 1);
  });

  void it('forgets a failed attempt, so the next call tries again', async () => {
    let made = 0;
    const get = retryable(() => (++made === 1 ? Promise.reject(new Error('refused')) : Promise.resolve(made)));
    await assert.rejects(get(), /refused/);
    assert.equal(await get(), 2);
  });

  void it("an old attempt's late failure does not forget the attempt that replaced it", async () => {
    let rejectFirst: (error: Error) => void = () => undefined;
    let made = 0;
    const get = retryable(() => {
      made += 1;
      return made === 1 ? new Promise<number>((_, reject) => (rejectFirst = reject)) : Promise.resolve(made);
    });
    const first = get();
    void get.take();
    assert.equal(await get(), 2);
    rejectFirst(new Error('late'));
    await assert.rejects(first, /late/);
    assert.equal(await get(), 2);
    assert.equal(made, 2);
  });

  void it('take() hands the promise over and forgets it', async () => {
    let made = 0;
    const get = retryable(() => Promise.resolve(++made));
    assert.equal(get.take(), undefined);
    const first = get();
    assert.equal(get.take(), first);
    assert.equal(await get(), 2);
  });
});
