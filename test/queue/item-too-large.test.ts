/**
 * ItemTooLargeError names the item's size and the maxbytes that would hold it (docs/queue.md
 * promises "which maxbytes to choose"; bug bash): a queue made with that maxbytes takes the item.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ItemTooLargeError, LifoQueue, PriorityQueue, Queue } from '../../src/queue/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

for (const [Q, item] of [
  [Queue, 'x'.repeat(3000)],
  [LifoQueue, 'x'.repeat(3000)],
  [PriorityQueue, [1, 'x'.repeat(3000)]],
] as const) {
  test(`${Q.name}: the error names the size and a maxbytes that then holds the item`, async () => {
    const q = new (Q as typeof Queue)<unknown>(0, { maxbytes: 1024 });
    let message = '';
    await assert.rejects(q.put(item), (e: unknown) => {
      message = (e as Error).message;
      return e instanceof ItemTooLargeError;
    });
    const size = /takes (\d+) bytes/.exec(message);
    const advice = /maxbytes: (\d+) or more/.exec(message);
    assert.ok(size && advice, message);
    assert.ok(Number(size[1]) >= 3000, message);
    const fits = new (Q as typeof Queue)<unknown>(0, { maxbytes: Number(advice[1]) });
    await fits.put(item);
    assert.deepEqual(await fits.get(), item);
  });
}
