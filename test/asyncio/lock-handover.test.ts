/**
 * A Lock passed back and forth between tasks reuses the waiter of an earlier hand-over
 * (`Lock.spare`, `Waiter.reuse`). These tests hold the hand-over to CPython's behaviour while
 * waiters are being reused, and pin down which finished waiters may be reused at all.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CancelledError,
  createTask,
  currentTask,
  DeadlockError,
  gather,
  Lock,
  run,
  Semaphore,
  sleep,
  type Task,
} from '../../src/asyncio/index.js';
import { Waiter } from '../../src/internal/waiter.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

/** `n` critical sections of `name`: acquire, log, `sleep(0)` holding the lock, release. */
async function sections(lock: Lock, log: string[], name: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await lock.acquire();
    log.push(`${name}${i}`);
    await sleep(0);
    lock.release();
  }
}

describe('Lock hand-over with reused waiters', () => {
  test('a lock passed round three tasks keeps CPython order', async () => {
    await run(async () => {
      const lock = new Lock();
      const log: string[] = [];
      await gather(
        createTask(() => sections(lock, log, 'a', 4)),
        createTask(() => sections(lock, log, 'b', 3)),
        createTask(() => sections(lock, log, 'c', 4)),
      );
      // CPython 3.11, the same loop with asyncio.Lock.
      assert.equal(log.join(' '), 'a0 b0 c0 a1 b1 c1 a2 b2 c2 a3 c3');
      assert.equal(lock.locked(), false);
    });
  });

  test('a waiter cancelled at its wake-up, after hand-overs, passes the lock on', async () => {
    await run(async () => {
      const lock = new Lock();
      const log: string[] = [];
      const tasks = new Map<string, Task<void>>();
      const worker = async (name: string): Promise<void> => {
        try {
          for (let i = 0; i < 5; i++) {
            await lock.acquire();
            log.push(`${name}${i}`);
            await sleep(0);
            lock.release(); // hands the lock to the first waiter
            if (name === 'a' && i === 2) {
              tasks.get('b')!.cancel(); // b was just handed it, and has not resumed
              log.push('a cancels b');
            }
          }
        } catch (e) {
          assert.ok(e instanceof CancelledError);
          log.push(`${name}!`);
        }
      };
      for (const name of ['a', 'b', 'c'])
        tasks.set(
          name,
          createTask(() => worker(name)),
        );
      await gather(...tasks.values());
      // CPython 3.11: b's cancelled acquire wakes c, which goes on in b's place.
      assert.equal(log.join(' '), 'a0 b0 c0 a1 b1 c1 a2 a cancels b b! c2 a3 c3 a4 c4');
      assert.equal(lock.locked(), false);
    });
  });

  test('a wait-for cycle through a reused waiter is still reported', async () => {
    await run(async () => {
      const l1 = new Lock({ name: 'L1' });
      const l2 = new Lock({ name: 'L2' });
      const log: string[] = [];
      let refused: unknown = null;
      const x = createTask(
        async () => {
          await sections(l1, log, 'x', 3);
          await l1.acquire();
          try {
            await sleep(0); // y takes L2, then waits for L1
            await sleep(0);
            await l2.acquire();
            l2.release();
          } catch (e) {
            refused = e;
          } finally {
            l1.release();
          }
        },
        { name: 'x' },
      );
      const y = createTask(
        async () => {
          await sections(l1, log, 'y', 3);
          await l2.acquire();
          await l1.acquire();
          l1.release();
          l2.release();
        },
        { name: 'y' },
      );
      await gather(x, y);
      assert.equal(log.join(' '), 'x0 y0 x1 y1 x2 y2');
      assert.ok(refused instanceof DeadlockError, `x was refused: ${String(refused)}`);
      assert.match(
        (refused as Error).message,
        /Task 'x' waits for Lock 'L2' held by Task 'y', which waits for Lock 'L1' held by Task 'x'/,
      );
      assert.equal(l1.locked(), false);
      assert.equal(l2.locked(), false);
    });
  });

  test('acquires handed to gather amid hand-overs keep mutual exclusion', async () => {
    await run(async () => {
      const lock = new Lock();
      const log: string[] = [];
      let inside = 0;
      const viaGather = async (n: number): Promise<void> => {
        for (let i = 0; i < n; i++) {
          await gather(lock.acquire()); // the wait belongs to the gather
          inside++;
          assert.equal(inside, 1);
          log.push(`g${i}`);
          await sleep(0);
          inside--;
          lock.release();
        }
      };
      await gather(
        createTask(() => sections(lock, log, 'a', 4)),
        createTask(() => viaGather(3)),
        createTask(() => sections(lock, log, 'b', 4)),
      );
      assert.deepEqual(
        log.filter((s) => s.startsWith('g')),
        ['g0', 'g1', 'g2'],
      );
      assert.equal(log.length, 11);
      assert.equal(lock.locked(), false);
    });
  });

  test('only a finished waiter that nothing else reaches is reusable', async () => {
    await run(async () => {
      const lock = new Lock();
      await lock.acquire();
      const me = currentTask()!;
      const waiterOf = (t: Task<unknown>): Waiter<unknown> => {
        const w = t._waiter;
        assert.ok(w instanceof Waiter);
        return w;
      };

      // Pending, then handed the lock, then resumed.
      const plain = createTask(async () => {
        await lock.acquire();
      });
      await sleep(0);
      const w = waiterOf(plain);
      assert.equal(w.reusable(), false, 'pending');
      lock.release();
      assert.equal(w.reusable(), false, 'granted, not resumed');
      await plain;
      assert.equal(w.reusable(), true, 'resumed');
      lock.release();

      // A lock held by another task, for waiting calls of this one.
      const takeIt = (): Promise<unknown> => createTask(() => lock.acquire());

      // Taken over by a combinator: the combinator's future may still cancel it.
      await takeIt();
      const p = lock.acquire();
      const taken = me._waiter!;
      const g = gather(p);
      lock.release();
      await g;
      assert.equal(taken.reusable(), false, 'taken over');
      lock.release();

      // Displaced by a later waiting call of the same task.
      await takeIt();
      const q = lock.acquire();
      const displaced = me._waiter!;
      const nap = sleep(1);
      lock.release();
      await nap;
      await q;
      assert.equal(displaced.reusable(), false, 'displaced');
      lock.release();

      // A wait of a waiting call (`hold`): its CallWaits keeps it.
      await lock.acquire();
      const holder = createTask(async () => {
        using _ = await lock.hold();
      });
      await sleep(0);
      const held = waiterOf(holder);
      lock.release();
      await holder;
      assert.equal(held.reusable(), false, 'recorded by a call');
      assert.equal(lock.locked(), false);
    });
  });

  test('a woken waiter cancelled before it runs hands on when it resumes, as CPython: a newcomer queues behind it', async () => {
    // CPython 3.11 (/usr/bin/python3): the lock (or permit) stays with the woken waiter until
    // its task runs its except clause; main, acquiring meanwhile, waits behind it:
    // ['cancel:True', 'waiter:cancelled', 'main:in'] for a Lock and a Semaphore alike.
    for (const make of [() => new Lock(), () => new Semaphore(0)]) {
      await run(async () => {
        const log: string[] = [];
        const prim = make();
        if (prim instanceof Lock) await prim.acquire();
        const w = createTask(async () => {
          try {
            await prim.acquire();
            log.push('waiter:in');
            prim.release();
          } catch (e) {
            if (e instanceof CancelledError) log.push('waiter:cancelled');
            throw e;
          }
        });
        await sleep(0); // the waiter blocks
        prim.release(); // handed to the waiter, whose wake-up is queued
        log.push(`cancel:${w.cancel()}`);
        await prim.acquire();
        log.push('main:in');
        prim.release();
        await gather(w, { returnExceptions: true });
        assert.deepEqual(
          log,
          ['cancel:true', 'waiter:cancelled', 'main:in'],
          prim.constructor.name,
        );
      });
    }
  });

  test('locked() is false between a release that hands the lock on and the waiter resuming, as in CPython', async () => {
    // CPython 3.11: L.release() with a waiter → L.locked() is False until the waiter runs.
    await run(async () => {
      const lock = new Lock();
      await lock.acquire();
      const seen: boolean[] = [];
      const w = createTask(async () => {
        await lock.acquire();
        seen.push(lock.locked());
        lock.release();
      });
      await sleep(0);
      lock.release();
      seen.push(lock.locked());
      const newcomer = lock.acquire(); // still queues behind the waiter
      await w;
      assert.equal(await newcomer, true);
      seen.push(lock.locked());
      lock.release();
      assert.deepEqual(seen, [false, true, true]);
    });
  });
});
