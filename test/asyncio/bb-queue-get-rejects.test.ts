import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PriorityQueue, run } from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

describe('Queue.get() with an item that cannot be taken', () => {
  test('a PriorityQueue whose pop cannot order its items rejects the promise of get(), never throws at the call', async () => {
    // Python:
    //   q = asyncio.PriorityQueue()
    //   await q.put((1, 'x')); await q.put((2, {'a': 1})); await q.put((2, {'b': 2}))
    //   c = q.get()   # no error here
    //   await c       # TypeError: '<' not supported between instances of 'dict' and 'dict'
    await run(async () => {
      const q = new PriorityQueue<unknown>();
      await q.put([1, 'x']);
      await q.put([2, { a: 1 }]);
      await q.put([2, { b: 2 }]);
      let p: Promise<unknown> | null = null;
      assert.doesNotThrow(() => {
        p = q.get();
      });
      assert.ok(p !== null);
      await assert.rejects(
        p as unknown as Promise<unknown>,
        (e: unknown) => e instanceof TypeError && /cannot order/.test(e.message),
      );
      // As heapq's heappop, the item on top is lost and the two left stay (qsize 2 in Python).
      assert.equal(q.qsize(), 2);
    });
  });
});
