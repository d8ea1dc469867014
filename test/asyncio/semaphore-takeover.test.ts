/**
 * `sem.acquire()` handed to a combinator: the combinator takes its wait over, so a cancel through
 * the combinator reaches the wait (helper-110's review; both failed before: the acquire's
 * promise was not the waiter's own, and was not tied to it). CPython 3.11's outcome is quoted.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BoundedSemaphore,
  CancelledError,
  createTask,
  ensureFuture,
  gather,
  run,
  Semaphore,
  sleep,
} from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

describe('a Semaphore acquire taken over by a combinator', () => {
  test('gather(sem.acquire()) cancelled while the acquire waits leaves no ghost waiter', async () => {
    await run(async () => {
      const sem = new Semaphore(0);
      let g: ReturnType<typeof gather> | undefined;
      const T = createTask(async () => {
        g = gather(sem.acquire());
        await g;
      });
      await sleep(0);
      assert.ok(g);
      g.cancel();
      await assert.rejects(T, CancelledError);
      sem.release();
      for (let i = 0; i < 3; i++) await sleep(0);
      // CPython 3.11: the acquire's task is cancelled, its waiter removed: the permit is free.
      assert.equal(sem.value, 1);
      assert.equal(sem.locked(), false);
    });
  });

  test('ensureFuture(sem.acquire()) cancelled after its wake-up passes the permit on', async () => {
    await run(async () => {
      const sem = new BoundedSemaphore(1);
      await sem.acquire();
      let f: ReturnType<typeof ensureFuture<boolean>> | undefined;
      const T = createTask(async () => {
        f = ensureFuture(sem.acquire());
        await f;
      });
      await sleep(0);
      assert.ok(f);
      sem.release(); // hands the permit to f's wait
      f.cancel(); // CPython: the wrapped acquire gives the permit back (value 1)
      await assert.rejects(T, CancelledError);
      for (let i = 0; i < 3; i++) await sleep(0);
      assert.equal(f.cancelled(), true);
      assert.equal(sem.value, 1);
    });
  });
});
