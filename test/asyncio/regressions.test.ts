// Regression tests for issue 2 (weft/asyncio), found by the primitives' test suites.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Condition,
  createTask,
  DeadlockError,
  gather,
  Lock,
  PriorityQueue,
  run,
  sleep,
} from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';
import { mockClock } from './mock-clock.js';

checkLeaks();

// Lock.acquire({ timeout }) that times out and is then cancelled before it
// resumes releases the lock held by ANOTHER task (Lock sets onRevoke = release at push time;
// Waiter.cancel revokes any SCHEDULED waiter with ok=true, including a withdraw(true, false)).
// Suggested fix (src/internal/waiter.ts): withdraw() clears onRevoke (a withdrawn wait holds no
// grant) — that also covers Semaphore/Condition/Queue, fixed locally in their files meanwhile.
test('a timed-out acquire cancelled before it resumes does not release the holder’s lock', async () => {
  await run(async () => {
    const clock = mockClock();
    try {
      const lock = new Lock();
      await lock.acquire(); // main holds it
      const t = createTask(() => lock.acquire({ timeout: 5 }));
      await sleep(0);
      clock.tick(5); // t times out; its resumption waits on the ready queue …
      t.cancel(); // … and it is cancelled before it runs
      await gather(t, { returnExceptions: true });
      assert.equal(lock.locked(), true, 'main still holds the lock');
      lock.release();
    } finally {
      clock[Symbol.dispose]();
    }
  });
});

// a DeadlockError raised while Condition.wait re-acquires its lock leaves wait()
// without the lock, and the caller's `cond.run` then releases the lock ANOTHER task holds.
// W holds L2 and waits on the condition; H takes the condition's lock, notifies, then blocks on
// L2. W's re-acquire closes the cycle and gets DeadlockError; W's run() releases C (held by H);
// H's own release then throws "not held". Suggested fix (src/asyncio/lock.ts findCycle): treat a
// task waiting on a Condition as waiting for that condition's lock, so the cycle is reported to
// H at its L2 acquire (where H still holds C and can release it properly).
test('a deadlock closed by a Condition re-acquire never releases a lock held by another task', async () => {
  await run(async () => {
    const c = new Condition(new Lock({ name: 'C' }));
    const l2 = new Lock({ name: 'L2' });
    const w = createTask(
      async () => {
        await l2.acquire();
        try {
          await c.run(() => c.wait());
        } finally {
          l2.release();
        }
      },
      { name: 'W' },
    );
    await sleep(0);
    let cHeldByH = false;
    const h = createTask(
      async () => {
        await c.acquire();
        c.notify();
        try {
          await l2.run(() => 'got L2');
        } finally {
          cHeldByH = c.locked();
          c.release();
        }
      },
      { name: 'H' },
    );
    const results = await gather(w, h, { returnExceptions: true });
    assert.ok(
      results.some((r) => r instanceof DeadlockError),
      'the cycle is reported',
    );
    assert.equal(cHeldByH, true, 'C was still held by H when H released it');
  });
});

// a PriorityQueue put refused with TypeError (items that cannot be ordered) still
// leaves the item in the heap: qsize grows, a later get returns it, and the unfinished count
// (join/taskDone) no longer matches. Cause: src/internal/heap.ts push() appends before sifting,
// and the comparator throws during the sift. CPython's heappush has the same quirk, but weft's
// rule is "bad input -> typed error" with no state change.
test('a put refused with TypeError leaves the queue unchanged', () => {
  const q = new PriorityQueue<unknown>();
  q.putNowait(1);
  assert.throws(() => q.putNowait({}), TypeError);
  assert.equal(q.qsize(), 1);
  assert.equal(q.getNowait(), 1);
  assert.equal(q.empty(), true);
});
