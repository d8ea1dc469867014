import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  CancelledError,
  createTask,
  DeadlockError,
  gather,
  Lock,
  RuntimeError,
  run,
  setDeadlockDetection,
  sleep,
  TimeoutError,
  waitFor,
} from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

describe('Lock', () => {
  test('acquire keeps FIFO order', async () => {
    await run(async () => {
      const lock = new Lock();
      const order: number[] = [];
      await lock.acquire();
      const tasks = [0, 1, 2, 3].map((i) => createTask(() => lock.run(() => order.push(i))));
      await sleep(0);
      lock.release();
      await gather(...tasks);
      assert.deepEqual(order, [0, 1, 2, 3]);
      assert.equal(lock.locked(), false);
    });
  });

  test('a newcomer does not barge ahead of a woken waiter', async () => {
    await run(async () => {
      const lock = new Lock();
      const order: string[] = [];
      await lock.acquire();
      const waiter = createTask(() => lock.run(() => order.push('waiter')));
      await sleep(0);
      lock.release();
      // Handed to the waiter, yet locked() is false until it resumes, as CPython's is.
      assert.equal(lock.locked(), false, 'locked() while the hand-over is under way');
      const late = createTask(() => lock.run(() => order.push('late')));
      await gather(waiter, late);
      assert.deepEqual(order, ['waiter', 'late']);
    });
  });

  test('release of an unheld lock throws RuntimeError', () => {
    const lock = new Lock();
    assert.throws(
      () => lock.release(),
      (e: unknown) => e instanceof RuntimeError && /not held/.test((e as Error).message),
    );
  });

  test('a waiter cancelled at the moment it is woken passes the lock on', async () => {
    await run(async () => {
      const lock = new Lock();
      await lock.acquire();
      const first = createTask(() => lock.acquire());
      const second = createTask(async () => {
        await lock.acquire();
        return 'second got it';
      });
      await sleep(0);
      lock.release(); // hands the lock to `first`, whose resume is queued
      first.cancel(); // … but it is cancelled before it runs
      await assert.rejects(first, CancelledError);
      assert.equal(await second, 'second got it');
      lock.release();
      assert.equal(lock.locked(), false);
    });
  });

  test('acquire with blocking false or timeout resolves false', async () => {
    await run(async () => {
      const lock = new Lock();
      await lock.acquire();
      assert.equal(await lock.acquire({ blocking: false }), false);
      // A timed wait on a lock the task holds itself is no deadlock: it times out.
      assert.equal(await lock.acquire({ timeout: 5 }), false);
      lock.release();
      assert.equal(await lock.acquire({ timeout: 5 }), true);
      lock.release();
    });
  });

  test('an aborted signal rejects the wait and leaves no waiter', async () => {
    await run(async () => {
      const lock = new Lock();
      const holder = createTask(() => lock.acquire());
      await holder;
      const ac = new AbortController();
      const p = lock.acquire({ signal: ac.signal });
      ac.abort(new Error('gave up'));
      await assert.rejects(p, /gave up/);
      lock.release();
      assert.equal(lock.locked(), false);
      const pre = AbortSignal.abort(new Error('already'));
      await assert.rejects(lock.acquire({ signal: pre }), /already/);
      assert.equal(lock.locked(), false);
    });
  });

  test('re-acquiring a held lock from the holder task raises DeadlockError', async () => {
    await run(async () => {
      const lock = new Lock({ name: 'L' });
      await lock.acquire();
      await assert.rejects(lock.acquire(), (e: unknown) => {
        assert.ok(e instanceof DeadlockError);
        assert.match((e as Error).message, /tried to acquire Lock 'L', which it already holds/);
        return true;
      });
      lock.release();
    });
  });

  test('a wait-for cycle of three tasks is reported with every edge', async () => {
    await run(async () => {
      const locks = ['A', 'B', 'C'].map((name) => new Lock({ name }));
      const worker = (i: number) => () =>
        locks[i]!.run(async () => {
          await sleep(5);
          return locks[(i + 1) % 3]!.run(() => 'ok');
        });
      const results = await gather(
        createTask(worker(0), { name: 't0' }),
        createTask(worker(1), { name: 't1' }),
        createTask(worker(2), { name: 't2' }),
        { returnExceptions: true },
      );
      const errors = results.filter((r) => r instanceof DeadlockError) as DeadlockError[];
      assert.equal(errors.length, 1, 'exactly the task closing the cycle is refused');
      assert.equal(errors[0]!.cycle.length, 3);
      assert.match(
        errors[0]!.message,
        /Task 't2' waits for Lock 'A' held by Task 't0', which waits for Lock 'B' held by Task 't1', which waits for Lock 'C' held by Task 't2'/,
      );
      assert.equal(results.filter((r) => r === 'ok').length, 2);
    });
  });

  test('with detection off a cycle is not reported (and a timeout ends it)', async () => {
    setDeadlockDetection(false);
    try {
      await run(async () => {
        const a = new Lock();
        const b = new Lock();
        const t1 = createTask(() =>
          a.run(async () => {
            await sleep(2);
            await b.run(() => 1);
          }),
        );
        const t2 = createTask(() =>
          b.run(async () => {
            await sleep(2);
            await a.run(() => 2);
          }),
        );
        await assert.rejects(waitFor(gather(t1, t2), 30), TimeoutError);
        t1.cancel();
        t2.cancel();
        await gather(t1, t2, { returnExceptions: true });
      });
    } finally {
      setDeadlockDetection(true);
    }
  });

  test('hold() releases on dispose', async () => {
    await run(async () => {
      const lock = new Lock();
      {
        using _ = await lock.hold();
        assert.equal(lock.locked(), true);
      }
      assert.equal(lock.locked(), false);
    });
  });

  test('run() releases when fn throws', async () => {
    await run(async () => {
      const lock = new Lock();
      await assert.rejects(
        lock.run(() => {
          throw new Error('inside');
        }),
        /inside/,
      );
      assert.equal(lock.locked(), false);
    });
  });

  test('bad options reject with a TypeError', async () => {
    const lock = new Lock();
    await lock.acquire();
    await assert.rejects(
      () => lock.acquire({ timeout: 'soon' as never }),
      /timeout must be a number of milliseconds: received "soon"/,
    );
    await assert.rejects(
      () => lock.acquire({ blocking: 1 as never }),
      /blocking must be a boolean: received 1/,
    );
    await assert.rejects(
      () => lock.acquire({ signal: {} as never }),
      /signal must be an AbortSignal/,
    );
    assert.throws(() => new Lock(null as never), /options must be an object/);
    assert.throws(
      () => new Lock({ name: 5 as never }),
      (e: unknown) =>
        e instanceof TypeError && e.message === 'Lock name must be a string: received 5',
    );
    lock.release();
  });

  test('property: mutual exclusion and FIFO under random schedules', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            delay: fc.integer({ min: 0, max: 2 }),
            hold: fc.integer({ min: 0, max: 3 }),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        async (plan) => {
          await run(async () => {
            const lock = new Lock();
            let inside = 0;
            let maxInside = 0;
            const entered: number[] = [];
            const requested: number[] = [];
            await gather(
              ...plan.map((p, i) => async () => {
                for (let k = 0; k < p.delay; k++) await sleep(0);
                requested.push(i);
                await lock.run(async () => {
                  entered.push(i);
                  inside++;
                  maxInside = Math.max(maxInside, inside);
                  for (let k = 0; k < p.hold; k++) await sleep(0);
                  inside--;
                });
              }),
            );
            assert.equal(maxInside, 1);
            assert.deepEqual(entered, requested, 'entered in request order');
          });
        },
      ),
      { numRuns: 60 },
    );
  });
});
