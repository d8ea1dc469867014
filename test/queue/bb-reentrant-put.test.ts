/**
 * Queue regression from bug bash T: a put measures its item into a scratch object shared by
 * every put of the thread. An item with an own getter that itself puts on a queue (a number or a
 * string: its measure writes the scratch's tag) while the item was being serialised left the
 * outer put with the inner item's tag over its own bytes: the outer put of a FIFO or LIFO queue
 * threw Buffer's internal "TypeError: argument must be a string" (inner string or number), or
 * stored the inner item's value in place of its own (inner true or null: the outer item came
 * back as `true` or `null`). Both items are stored now, the inner one first (its put ended
 * first).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LifoQueue, PriorityQueue, Queue, SimpleQueue } from '../../src/queue/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

const INNER: unknown[] = ['inner', 7, 1.5, true, null, { o: [1, 2] }, 'lone \ud800'];

describe('a put whose item puts on a queue while it is serialised', () => {
  for (const Q of [Queue, SimpleQueue, LifoQueue, PriorityQueue]) {
    const wrap = Q === PriorityQueue ? (x: unknown) => [1, x] : (x: unknown) => x;
    for (const inner of INNER) {
      test(`${Q.name}: inner ${JSON.stringify(inner)} — both items stored, whole`, async () => {
        const q = new Q<unknown>();
        const outer = {
          get a() {
            q.putSync(wrap(inner));
            return 'outer';
          },
        };
        q.putSync(wrap(outer));
        await q.put(
          wrap({
            get b() {
              q.putSync(wrap(inner));
              return 'outer 2';
            },
          }),
        );
        assert.equal(q.qsize(), 4);
        const got: unknown[] = [];
        while (!q.empty()) got.push(q.getNowait());
        const unwrap = (x: unknown) => (Q === PriorityQueue ? (x as unknown[])[1] : x);
        const items = got.map(unwrap);
        // LIFO: last stored first; the others: the inner put ended first.
        const stored = [inner, { a: 'outer' }, inner, { b: 'outer 2' }];
        assert.deepEqual(items, Q === LifoQueue ? stored.reverse() : stored);
      });
    }
  }
});
