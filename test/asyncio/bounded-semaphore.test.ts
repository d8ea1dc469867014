/**
 * asyncio BoundedSemaphore: a Semaphore that refuses to be released past its initial value
 * (CPython's ValueError is a RangeError here); everything else behaves as Semaphore.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BoundedSemaphore,
  CancelledError,
  createTask,
  gather,
  run,
  Semaphore,
  sleep,
} from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

describe('BoundedSemaphore', () => {
  test('release of a never-acquired BoundedSemaphore throws RangeError', () => {
    // CPython test_release_not_acquired.
    const sem = new BoundedSemaphore();
    assert.throws(
      () => sem.release(),
      (e: unknown) =>
        e instanceof RangeError &&
        /released too many times: 1 of 1 permits are free/.test(e.message),
    );
    assert.equal(sem.value, 1, 'the refused release changed nothing');
  });

  test('release after each acquire is fine, one more throws', async () => {
    await run(async () => {
      const sem = new BoundedSemaphore(2);
      await sem.acquire();
      await sem.acquire();
      sem.release();
      sem.release();
      assert.throws(() => sem.release(), RangeError);
      assert.equal(sem.value, 2);
    });
  });

  test('release(n) past the bound throws and releases nothing', async () => {
    await run(async () => {
      const sem = new BoundedSemaphore(3);
      await sem.acquire();
      await sem.acquire();
      assert.throws(
        () => sem.release(3),
        (e: unknown) => e instanceof RangeError && /releasing 3 more/.test(e.message),
      );
      assert.equal(sem.value, 1, 'no partial release');
      sem.release(2);
      assert.equal(sem.value, 3);
    });
  });

  test('a release handed to a waiter counts against the bound', async () => {
    await run(async () => {
      const sem = new BoundedSemaphore(1);
      await sem.acquire();
      const t = createTask(async () => {
        await sem.acquire();
        return 'got it';
      });
      await sleep(0);
      sem.release(); // goes to t
      assert.equal(await t, 'got it');
      sem.release(); // t's permit back
      assert.throws(() => sem.release(), RangeError, 'a third release exceeds the bound');
      assert.equal(sem.value, 1);
    });
  });

  test('a waiter cancelled at its wake-up passes the permit on without breaking the bound', async () => {
    await run(async () => {
      const sem = new BoundedSemaphore(1);
      await sem.acquire();
      const first = createTask(() => sem.acquire());
      const second = createTask(() => sem.acquire());
      await sleep(0);
      sem.release();
      first.cancel();
      const [r1, r2] = await gather(first, second, { returnExceptions: true });
      assert.ok(r1 instanceof CancelledError);
      assert.equal(r2, true);
      assert.equal(sem.value, 0);
      sem.release();
      assert.equal(sem.value, 1);
      assert.throws(() => sem.release(), RangeError);
    });
  });

  test('run and hold release exactly once and stay within the bound', async () => {
    await run(async () => {
      const sem = new BoundedSemaphore(1);
      await sem.run(() => sleep(0));
      {
        await using _ = await sem.hold();
        assert.equal(sem.locked(), true);
      }
      assert.equal(sem.value, 1);
      assert.throws(() => sem.release(), RangeError);
    });
  });

  test('FIFO order and timeouts behave as in Semaphore', async () => {
    await run(async () => {
      const sem = new BoundedSemaphore(1);
      assert.ok(sem instanceof Semaphore);
      const order: number[] = [];
      await sem.acquire();
      const tasks = [1, 2, 3].map((n) =>
        createTask(async () => {
          await sem.acquire();
          order.push(n);
          sem.release();
        }),
      );
      assert.equal(await sem.acquire({ timeout: 2 }), false);
      sem.release();
      await gather(...tasks);
      assert.deepEqual(order, [1, 2, 3]);
      assert.equal(sem.value, 1);
    });
  });

  test('bad initial values throw as in Semaphore', () => {
    assert.throws(() => new BoundedSemaphore(-1), RangeError);
    assert.throws(() => new BoundedSemaphore(0.5), TypeError);
    assert.throws(() => new BoundedSemaphore(null as unknown as number), TypeError);
    const zero = new BoundedSemaphore(0);
    assert.equal(zero.locked(), true);
    assert.throws(() => zero.release(), RangeError, 'a bound of 0 allows no release');
  });
});
