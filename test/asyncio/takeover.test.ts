import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Barrier,
  CancelledError,
  Condition,
  createTask,
  gather,
  getRunningLoop,
  Lock,
  Queue,
  run,
  Semaphore,
  shield,
  sleep,
  TimeoutError,
  wait,
  waitFor,
} from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

// The waiting calls that are async methods (their promise is not their waiter's): handed to a
// combinator, the combinator takes the call over, as CPython wraps the coroutine in a task.
describe('combinators take over waiting calls made by async methods', () => {
  test('gather(cond.wait(), t, { returnExceptions }): a cancel reaches both, and the gather ends once the wait holds the lock again', async () => {
    // As CPython 3.11 (checked): with return_exceptions the gather waits for every child, and
    // the wait's child re-acquires the lock before it ends. (Without it, the gather ends at the
    // first child cancelled, the other one here, in CPython as in weft.)
    await run(async () => {
      const cond = new Condition();
      const log: string[] = [];
      const other = createTask(() => sleep(60_000));
      const t = createTask(async () => {
        await cond.acquire();
        try {
          await gather(cond.wait(), other, { returnExceptions: true });
        } catch (e) {
          log.push(`task resumed: ${(e as Error).name}, locked ${cond.locked()}`);
          throw e;
        } finally {
          cond.release();
        }
      });
      const third = createTask(async () => {
        await cond.acquire();
        log.push('third holds');
        await sleep(10);
        log.push('third releases');
        cond.release();
      });
      while (!log.includes('third holds')) await sleep(0);
      t.cancel('stop');
      await assert.rejects(t, (e: unknown) => e instanceof CancelledError && e.message === 'stop');
      await third;
      assert.equal(other.cancelled(), true, 'the cancel reached the other child');
      assert.deepEqual(log, [
        'third holds',
        'third releases',
        'task resumed: CancelledError, locked true',
      ]);
      assert.equal(cond.locked(), false);
    });
  });

  test('shield(cond.waitFor(pred)): cancelling the task leaves the wait running; it ends when notified', async () => {
    await run(async () => {
      const cond = new Condition();
      let ready = false;
      let inner: Promise<boolean> | undefined;
      const t = createTask(async () => {
        await cond.acquire();
        inner = cond.waitFor(() => ready);
        return shield(inner);
      });
      await sleep(0);
      await sleep(0);
      t.cancel();
      await assert.rejects(t, CancelledError);
      await cond.run(() => {
        ready = true;
        cond.notifyAll();
      });
      assert.equal(await inner, true, 'the shielded wait was notified and returned');
      assert.equal(cond.locked(), true, 'it holds the lock again, for the task that waited');
      cond.release();
    });
  });

  test('wait([q.join(), t]): a cancel of the waiting task is raised, not spent on the join', async () => {
    await run(async () => {
      const q = new Queue<number>();
      q.putNowait(1);
      const worker = createTask(() => sleep(60_000));
      let joined: Promise<void> | undefined;
      const t = createTask(() => {
        joined = q.join();
        return wait([joined, worker], { returnWhen: 'FIRST_COMPLETED' });
      });
      await sleep(0);
      await sleep(0);
      t.cancel('stop');
      await assert.rejects(t, (e: unknown) => e instanceof CancelledError && e.message === 'stop');
      assert.equal(worker.cancelled(), false, 'wait() cancels nothing it waits for');
      q.getNowait();
      q.taskDone();
      await joined;
      worker.cancel();
      await assert.rejects(worker, CancelledError);
    });
  });

  test('gather(lock.hold(), t) and gather(sem.hold(), t): a cancel ends the acquire, takes no hold, and cancels t', async () => {
    await run(async () => {
      for (const prim of [new Lock(), new Semaphore(1)]) {
        await prim.acquire();
        const other = createTask(() => sleep(60_000));
        const t = createTask(() => gather(prim.hold(), other));
        await sleep(0);
        await sleep(0);
        t.cancel();
        await assert.rejects(t, CancelledError);
        assert.equal(other.cancelled(), true);
        prim.release();
        assert.equal(prim.locked(), false, 'the cancelled hold was not handed the lock');
      }
    });
  });

  test('waitFor(cond.waitFor(pred), ms) times out holding the lock, waiter gone', async () => {
    await run(async () => {
      const cond = new Condition();
      await cond.acquire();
      await assert.rejects(
        waitFor(
          cond.waitFor(() => false),
          5,
        ),
        TimeoutError,
      );
      assert.equal(cond.locked(), true);
      cond.release();
      // No waiter is left behind to take a notification.
      await cond.run(() => cond.notify());
      assert.equal(cond.locked(), false);
    });
  });

  test('a taken-over cond.wait() cancelled after its wake-up, before it goes on: raises, holds the lock, passes the notification on', async () => {
    await run(async () => {
      const cond = new Condition();
      const woken: string[] = [];
      const t = createTask(async () => {
        await cond.acquire();
        try {
          await gather(cond.wait(), { returnExceptions: true });
        } finally {
          woken.push(`t ends, locked ${cond.locked()}`);
          cond.release();
        }
      });
      const u = createTask(async () => {
        await cond.acquire();
        await cond.wait();
        woken.push('u notified');
        cond.release();
      });
      await sleep(0);
      await sleep(0);
      await cond.acquire();
      cond.notify(1); // t's wait, the first in line
      // Runs from the ready queue right after t's wait resumes, before its method goes on.
      getRunningLoop().callSoon(() => t.cancel('late'));
      cond.release();
      await assert.rejects(t, (e: unknown) => e instanceof CancelledError && e.message === 'late');
      await u;
      assert.deepEqual(woken, ['t ends, locked true', 'u notified']);
    });
  });

  test('a taken-over q.get() cancelled between its wake-up and its resume: takes no item, passes the wake-up on', async () => {
    await run(async () => {
      const q = new Queue<number>();
      const t = createTask(() => gather(q.get(), { returnExceptions: true }));
      const u = createTask(() => q.get());
      await sleep(0);
      await sleep(0);
      // The cancel is ready before the wake-up of t's get, the first in line.
      getRunningLoop().callSoon(() => t.cancel('late'));
      q.putNowait(1);
      await assert.rejects(t, (e: unknown) => e instanceof CancelledError && e.message === 'late');
      assert.equal(await u, 1, 'the item went to the next getter');
    });
  });
  test('a waiting call made and not awaited, then an awaited task: a cancel reaches the awaited task, and the call goes on to get its item', async () => {
    await run(async () => {
      const q = new Queue<number>();
      let early: Promise<number> | undefined;
      const other = createTask(() => sleep(60_000));
      const t = createTask(async () => {
        early = q.get();
        await other;
      });
      await sleep(0);
      await sleep(0);
      t.cancel('stop');
      await assert.rejects(t, (e: unknown) => e instanceof CancelledError && e.message === 'stop');
      assert.equal(other.cancelled(), true, 'the awaited task was cancelled, as in CPython');
      q.putNowait(7);
      assert.equal(await early, 7, 'the get made early still takes its item');
    });
  });

  test('a taken-over q.get() cancelled after its wake-up resumed it, before it goes on: takes no item, passes the wake-up on', async () => {
    await run(async () => {
      const loop = getRunningLoop();
      const q = new Queue<number>();
      const t = createTask(() => gather(q.get(), { returnExceptions: true }));
      const u = createTask(() => q.get());
      await sleep(0);
      await sleep(0);
      // From a ready callback, not a task: the get's resume is queued and the cancel right
      // behind it, and a taken-over wait's resume begins no step, so the cancel runs before
      // the get's method goes on.
      loop.callSoon(() => {
        q.putNowait(1);
        loop.callSoon(() => t.cancel('late'));
      });
      await assert.rejects(t, (e: unknown) => e instanceof CancelledError && e.message === 'late');
      assert.equal(await u, 1, 'the item went to the next getter');
    });
  });
});

describe('a taken-over call cancelled after its wait resumed, before it goes on', () => {
  // The cancel comes from a ready callback queued right behind the wait's resume: a taken-over
  // wait's resume begins no step, so the cancel runs before the method goes on. The call then
  // raises it (the child's CancelledError carries its message, as CPython's does), and gives
  // back what the wait took.
  for (const kind of ['Lock', 'Semaphore'] as const) {
    test(`gather(${kind === 'Lock' ? 'lock' : 'sem'}.hold()): takes no hold, and the lock is free again`, async () => {
      await run(async () => {
        const loop = getRunningLoop();
        const lock = kind === 'Lock' ? new Lock() : new Semaphore(1);
        await lock.acquire();
        const t = createTask(() => gather(lock.hold(), { returnExceptions: true }));
        const u = createTask(async () => {
          await lock.acquire();
          lock.release();
          return 'u held it';
        });
        await sleep(0);
        await sleep(0);
        loop.callSoon(() => {
          lock.release();
          loop.callSoon(() => t.cancel('late'));
        });
        await assert.rejects(
          t,
          (e: unknown) => e instanceof CancelledError && e.message === 'late',
        );
        assert.equal(await u, 'u held it', 'the hold given back went to the next waiter');
        assert.equal(lock.locked(), false);
      });
    });
  }

  test("gather(barrier.wait()) granted the barrier's lock: does not arrive (the action runs once)", async () => {
    await run(async () => {
      const loop = getRunningLoop();
      let t: ReturnType<typeof createTask> | undefined;
      let actions = 0;
      // One party: every wait is the last to arrive and runs the action, holding the lock.
      const b = new Barrier(1, {
        action: async () => {
          actions++;
          await sleep(5);
          // Queued now, it queues the cancel behind the lock's hand-over to t's wait.
          if (actions === 1) loop.callSoon(() => loop.callSoon(() => t?.cancel('late')));
        },
      });
      const first = createTask(() => b.wait());
      await sleep(0);
      t = createTask(() => gather(b.wait(), { returnExceptions: true }));
      await assert.rejects(t, (e: unknown) => e instanceof CancelledError && e.message === 'late');
      assert.equal(await first, 0);
      assert.equal(actions, 1, 'the cancelled wait did not arrive');
      assert.equal(b.broken, false);
    });
  });

  test('gather(q.join()): raises the cancel', async () => {
    await run(async () => {
      const loop = getRunningLoop();
      const q = new Queue<number>();
      q.putNowait(1);
      const t = createTask(() => gather(q.join(), { returnExceptions: true }));
      await sleep(0);
      await sleep(0);
      loop.callSoon(() => {
        q.getNowait();
        q.taskDone();
        loop.callSoon(() => t.cancel('late'));
      });
      await assert.rejects(t, (e: unknown) => e instanceof CancelledError && e.message === 'late');
    });
  });
});

describe('combinators take over Barrier.wait', () => {
  // As CPython 3.11 (checked): a cancel of the task reaches both children of the gather, and
  // the barrier wait leaves the barrier unbroken.
  test('gather(barrier.wait(), t): a cancel reaches both; the barrier is left, not broken', async () => {
    await run(async () => {
      const b = new Barrier(2);
      const other = createTask(() => sleep(60_000));
      const t = createTask(() => gather(b.wait(), other));
      await sleep(0);
      await sleep(0);
      assert.equal(b.nWaiting, 1);
      t.cancel('stop');
      await assert.rejects(t, (e: unknown) => e instanceof CancelledError && e.message === 'stop');
      assert.equal(other.cancelled(), true, 'the cancel reached the other child');
      assert.equal(b.nWaiting, 0);
      assert.equal(b.broken, false);
    });
  });

  test('shield(barrier.wait()): cancelling the task leaves the wait in the barrier; the next party completes it', async () => {
    await run(async () => {
      const b = new Barrier(2);
      let shielded: Promise<number> | undefined;
      const t = createTask(async () => {
        shielded = b.wait();
        await shield(shielded);
      });
      await sleep(0);
      await sleep(0);
      t.cancel();
      await assert.rejects(t, CancelledError);
      assert.equal(b.nWaiting, 1, 'the shielded wait is still in the barrier');
      assert.equal(await b.wait(), 1);
      assert.equal(await shielded, 0);
      assert.equal(b.nWaiting, 0);
    });
  });

  test('waitFor(barrier.wait(), ms): times out and leaves the barrier, unbroken', async () => {
    await run(async () => {
      const b = new Barrier(2);
      await assert.rejects(waitFor(b.wait(), 5), TimeoutError);
      assert.equal(b.nWaiting, 0);
      assert.equal(b.broken, false);
    });
  });

  test("a wait whose first wait is for the barrier's lock (an action is running): a cancel of a gather ends it and reaches t", async () => {
    await run(async () => {
      const log: string[] = [];
      const b = new Barrier(2, {
        action: async () => {
          log.push('action');
          await sleep(20);
        },
      });
      const first = createTask(() => b.wait());
      const second = createTask(() => b.wait()); // last: runs the action, holding the lock
      await sleep(0);
      await sleep(0);
      assert.deepEqual(log, ['action']);
      const other = createTask(() => sleep(60_000));
      const t = createTask(() => gather(b.wait(), other));
      await sleep(0);
      await sleep(0);
      t.cancel('stop');
      await assert.rejects(t, (e: unknown) => e instanceof CancelledError && e.message === 'stop');
      assert.equal(other.cancelled(), true, 'the cancel reached the other child');
      assert.deepEqual((await gather(first, second)).sort(), [0, 1]);
      assert.equal(b.nWaiting, 0, 'the cancelled wait never entered the next round');
      assert.equal(b.broken, false);
    });
  });
});
