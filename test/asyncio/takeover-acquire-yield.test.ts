/**
 * Waits a combinator must take over though they have no Waiter promise of their own: a
 * `sem.acquire()` (its promise is derived from its waiter's) and a `sleep(0)` (a task's yield).
 * A cancel through the combinator, or of the task awaiting it, then reaches the wait, as in
 * CPython, which wraps each in a task (helper-110's review; each test failed before its fix).
 * CPython 3.11's outcome is quoted in each.
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

describe('waits taken over by a combinator without a waiter promise of their own', () => {
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

  test('a task cancelled while its gather(sleep(0), fn) yields cancels the gather children', async () => {
    await run(async () => {
      const log: string[] = [];
      const slow = async (): Promise<void> => {
        try {
          await sleep(200);
          log.push('late');
        } catch (e) {
          log.push('cancelled');
          throw e;
        }
      };
      const T = createTask(async () => {
        await gather(sleep(0), slow);
      });
      await sleep(0); // T has made the gather; its sleep(0) child has not resumed yet
      T.cancel();
      await assert.rejects(T, CancelledError);
      await sleep(300);
      // CPython 3.11: T's cancel goes to the gather, which cancels both children: `slow` never
      // runs to its end (log [] there: its task is cancelled before its first step).
      assert.ok(!log.includes('late'), `log: ${log.join(', ')}`);
    });
  });
});
