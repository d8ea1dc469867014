/**
 * JoinableQueue's count of unfinished items, in one process: every item a get of any kind returns
 * (its own batch, a batch another get of this thread brought, getSync, getNowait) is owed one
 * taskDone, which the broker hears without a round trip; a taskDone beyond the items put is
 * Python's ValueError; join() answers once every item put is marked done.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { broker } from '../../src/internal/process/broker-client.js';
import { JoinableQueue } from '../../src/multiprocessing/index.js';
import { fragileKind, RevivalError } from '../support/fragile-kind.js';

const tooMany = { name: 'RangeError', code: 'ERR_WEFT_TASK_DONE' };

const Fragile = fragileKind(
  'test.mp-joinable-count',
  // A module every worker preloads anyway: this file is never imported by one.
  new URL('../../src/multiprocessing/queue.ts', import.meta.url).href,
);

describe('JoinableQueue: the count of unfinished items', () => {
  test('each item a get returns, by any path, is owed one taskDone and no more', async () => {
    const q = new JoinableQueue<number>(0, { prefetch: 4 });
    for (let i = 0; i < 12; i++) q.putNowait(i);
    // Three gets at once: the first brings a batch of 4, which serves the two others.
    const firstThree = await Promise.all([q.get(), q.get(), q.get()]);
    const rest = [await q.get(), q.getSync(), q.getNowait()];
    for (let i = 0; i < 6; i++) rest.push(await q.get());
    assert.deepEqual([...firstThree, ...rest], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    assert.equal(q._taken, 12);
    const before = broker()._requests;
    for (let i = 0; i < 12; i++) q.taskDone();
    // Items this handle took are marked done without asking the broker first.
    assert.equal(broker()._requests, before);
    assert.equal(q._taken, 0);
    assert.equal(await q.join({ timeout: 10_000 }), true);
    assert.throws(() => q.taskDone(), tooMany);
    q.close();
  });

  test('a get that finds nothing owes nothing', async () => {
    const q = new JoinableQueue<number>();
    assert.throws(() => q.getNowait(), { name: 'Empty' });
    await assert.rejects(q.get({ timeout: 10 }), { name: 'Empty' });
    assert.equal(q._taken, 0);
    assert.throws(() => q.taskDone(), tooMany);
    q.close();
  });

  test('an item that fails to revive is owed by no get: its own, or one served from a batch', async () => {
    // (reviewer-6) Counted once it has revived: a get that throws returns nothing to mark done.
    const q = new JoinableQueue<unknown>(0, { prefetch: 4 });
    try {
      q.putNowait([new Fragile()]);
      q.putNowait('good');
      q.putNowait([new Fragile()]);
      q.putNowait('last');
      // The first get brings all four: its own item fails; it serves the two others.
      const a = q.get({ timeout: 10_000 });
      const b = q.get({ timeout: 10_000 });
      const c = q.get({ timeout: 10_000 });
      await assert.rejects(a, RevivalError);
      assert.equal(await b, 'good');
      await assert.rejects(c, RevivalError);
      assert.equal(q.getNowait(), 'last');
      assert.equal(q._taken, 2);
      q.taskDone();
      q.taskDone();
      // The two that failed are still unfinished, as in Python (the count is the queue's): any
      // thread may mark them done, through the broker's check.
      assert.equal(await q.join({ timeout: 0 }), false);
      q.taskDone();
      q.taskDone();
      assert.equal(await q.join({ timeout: 10_000 }), true);
      assert.throws(() => q.taskDone(), tooMany);
    } finally {
      q.close();
    }
  });

  test('property: taskDone fails exactly when every item put is done; join answers then', async () => {
    const op = fc.constantFrom('put', 'get', 'done', 'join');
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { maxLength: 24 }),
        fc.integer({ min: 1, max: 5 }),
        async (ops, prefetch) => {
          const q = new JoinableQueue<number>(0, { prefetch });
          let put = 0;
          let got = 0;
          let done = 0;
          try {
            for (const o of ops) {
              if (o === 'put') q.putNowait(put++);
              else if (o === 'get') {
                if (got === put) continue;
                assert.equal(await q.get({ timeout: 10_000 }), got++);
              } else if (o === 'done') {
                // Python: legal while fewer items were marked done than were put, taken or not.
                // Left out, as documented (docs/multiprocessing.md): a taskDone for an item this
                // handle took, once others marked every item put done (theirs were for items not
                // taken yet), is counted here where Python refuses it: the handle does not ask.
                if (done === put && q._taken > 0) continue;
                if (done === put) assert.throws(() => q.taskDone(), tooMany);
                else {
                  q.taskDone();
                  done++;
                }
              } else assert.equal(await q.join({ timeout: 0 }), done === put);
            }
            assert.equal(await q.join({ timeout: 0 }), done === put);
          } finally {
            q.close();
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
