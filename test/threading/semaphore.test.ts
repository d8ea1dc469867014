/**
 * A threading Semaphore has no owner, as in Python and weft/multiprocessing: a permit taken by
 * one thread may be given back by another, or be a signal consumed. It used to count permits per
 * thread and per handle and give them back when a thread ended, with an OwnerDiedError for the
 * next acquire: that invented permits (three parties inside a Semaphore(2)), made a legal
 * BoundedSemaphore release throw, and broke the Semaphore(0) signalling idiom.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Queue } from '../../src/queue/index.js';
import { BoundedSemaphore, Semaphore, Thread } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { takePermit, takeThenReleaseViaOtherHandle, waitForGo } from './fixtures/tasks.js';

checkLeaks();

describe('Semaphore without an owner (bug bash t50, t13, t12, t11)', () => {
  test('Semaphore(0) signalling: each release lets one waiter go, after the first one ended', async () => {
    const go = new Semaphore(0);
    const out = new Queue<string>();
    const threads = new Map(
      ['a', 'b'].map((id) => [id, new Thread({ target: waitForGo, args: [go, out, id] })]),
    );
    for (const t of threads.values()) t.start();
    go.release();
    const first = await out.get({ timeout: 15_000 });
    assert.ok(threads.has(first), `first waiter reported: ${first}`);
    // The first waiter has ended with the permit it consumed: nothing of it may come back.
    await threads.get(first)?.join();
    assert.equal(go.value, 0);
    go.release();
    const second = await out.get({ timeout: 15_000 });
    assert.ok(threads.has(second) && second !== first, `second waiter reported: ${second}`);
    for (const t of threads.values()) await t.join();
    assert.equal(go.value, 0);
  });

  for (const S of [Semaphore, BoundedSemaphore]) {
    test(`${S.name}: a permit taken by a thread that ended and released by another is counted once`, async () => {
      const sem = new S(2);
      await sem.acquire();
      const t = new Thread({ target: takePermit, args: [sem] });
      t.start();
      await t.join();
      assert.equal(sem.value, 0);
      sem.release();
      assert.equal(sem.value, 1);
      assert.equal(await sem.acquire({ blocking: false }), true);
      assert.equal(await sem.acquire({ blocking: false }), false);
      sem.release();
      sem.release();
      assert.equal(sem.value, 2);
    });

    test(`${S.name}: a thread releasing through a second handle leaves nothing to give back`, async () => {
      const sem = new S(2);
      await sem.acquire();
      const q = new Queue<InstanceType<typeof S>>();
      q.putSync(sem);
      const t = new Thread({ target: takeThenReleaseViaOtherHandle, args: [sem, q] });
      t.start();
      await t.join();
      assert.equal(sem.value, 1);
      sem.release();
      assert.equal(sem.value, 2);
      assert.equal(await sem.acquire({ timeout: 15_000 }), true);
      sem.release();
    });
  }
});

describe('Semaphore.acquire options (bug bash s1)', () => {
  for (const S of [Semaphore, BoundedSemaphore]) {
    test(`${S.name}: blocking: false with a timeout is a RangeError, as for Lock (Python's ValueError)`, async () => {
      const sem = new S(1);
      await assert.rejects(sem.acquire({ blocking: false, timeout: 10 }), RangeError);
      assert.throws(() => sem.acquireSync({ blocking: false, timeout: 10 }), RangeError);
      // Nothing was taken; a timeout of 0 asks for no wait and is let through, as for Lock.
      assert.equal(sem.value, 1);
      assert.equal(await sem.acquire({ blocking: false, timeout: 0 }), true);
      sem.release();
    });
  }
});
