/**
 * next() calls that overlap on a chunked map (`Promise.all([it.next(), it.next()])`) are
 * answered in turn, each with the next result, as an async generator's are (bug bash 5): the
 * second read the next chunk over the first's, and the results of both chunks but their first
 * were lost (0,3,6,9 then done for 12 items in chunks of 3).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ThreadPoolExecutor } from '../../src/futures/index.js';
import { checkLeaks } from '../support/leaks.js';
import { inc, sleepThen, throwRange } from './fixtures/tasks.js';

checkLeaks({ graceMs: 3000 });

describe('Executor.map: overlapping next() calls (bug bash 5)', () => {
  let ex: ThreadPoolExecutor;
  before(async () => {
    ex = new ThreadPoolExecutor({ maxWorkers: 2 });
    // Start both workers before the tests (the leak check counts them).
    await Promise.all([ex.submit(sleepThen, 100, 0), ex.submit(sleepThen, 100, 0)]);
  });
  after(async () => {
    await ex.shutdown();
  });

  for (const chunksize of [1, 3, 5]) {
    test(`chunksize ${chunksize}: 13 next() at once give the 12 results in order, then done`, async () => {
      const xs = Array.from({ length: 12 }, (_, i) => i);
      // An array and a generator: the map reads them by two different paths.
      for (const input of [
        xs,
        (function* () {
          yield* xs;
        })(),
      ]) {
        const it = ex.map(inc, [input], { chunksize });
        const got = await Promise.all(Array.from({ length: 13 }, () => it.next()));
        assert.deepEqual(
          got.map((r) => (r.done ? 'done' : r.value)),
          [...xs.map((x) => x + 1), 'done'],
        );
      }
    });
  }

  test('a failed chunk: the next() made with it rejects, the ones after it are done', async () => {
    const it = ex.map(throwRange, [['a', 'b', 'c', 'd']], { chunksize: 2 });
    const got = await Promise.allSettled([it.next(), it.next(), it.next()]);
    assert.equal(got[0]?.status, 'rejected');
    assert.ok((got[0] as PromiseRejectedResult).reason instanceof RangeError);
    assert.deepEqual(
      got.slice(1).map((r) => (r.status === 'fulfilled' ? r.value : r.reason)),
      [
        { done: true, value: undefined },
        { done: true, value: undefined },
      ],
    );
  });
});
