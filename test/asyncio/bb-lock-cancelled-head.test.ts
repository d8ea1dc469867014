/**
 * A Lock released while its first waiter has been cancelled and has not run yet (helper-127).
 *
 * CPython keeps a cancelled waiter's future in the lock's queue until its task runs; `release()`
 * wakes only the first waiter, so it wakes nobody then, and the cancelled task wakes the next
 * waiter from its `except` clause when it runs. Every trace below is the one CPython prints for
 * the same program written with asyncio.Lock (3.11.2, 3.11.7, 3.12.1 and 3.13.0 print the same:
 * their Lock.acquire/release/_wake_up_first differ only in comments). A `ticker` task logs
 * `tickN` once per loop iteration, so the traces show in which iteration each step runs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CancelledError,
  Condition,
  createTask,
  gather,
  Lock,
  run,
  sleep,
  type Task,
} from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

const py = (b: boolean): string => (b ? 'True' : 'False');

async function ticker(log: string[], n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    log.push(`tick${i}`);
    await sleep(0);
  }
}

/** Waits for the lock, holds it over one `sleep(0)`, releases it; logs each step. */
async function waiter(
  lock: Lock,
  log: string[],
  name: string,
  signal?: AbortSignal,
): Promise<void> {
  log.push(`${name}:wait`);
  try {
    await (signal === undefined ? lock.acquire() : lock.acquire({ signal }));
  } catch (e) {
    if (e instanceof CancelledError || signal?.aborted)
      log.push(`${name}:cancelled locked=${py(lock.locked())}`);
    throw e;
  }
  log.push(`${name}:got`);
  await sleep(0);
  lock.release();
  log.push(`${name}:released`);
}

function settle(tasks: Task<unknown>[]): Promise<unknown[]> {
  return gather(...tasks, { returnExceptions: true });
}

describe('Lock: a release whose first waiter is cancelled and has not run (as CPython)', () => {
  test('the release wakes nobody; the cancelled waiter wakes the next when it runs', async () => {
    const log: string[] = [];
    await run(async () => {
      const lock = new Lock();
      await lock.acquire();
      const b = createTask(() => waiter(lock, log, 'B'));
      const c = createTask(() => waiter(lock, log, 'C'));
      await sleep(0);
      const tk = createTask(() => ticker(log, 6));
      b.cancel();
      lock.release();
      log.push(`main:released locked=${py(lock.locked())}`);
      await settle([b, c, tk]);
      log.push(`end locked=${py(lock.locked())}`);
    });
    // weft before: … B:cancelled locked=False | C:got | tick1 | … (C woken by the release).
    assert.equal(
      log.join(' | '),
      'B:wait | C:wait | main:released locked=False | tick0 | B:cancelled locked=False | tick1 | C:got | tick2 | C:released | tick3 | tick4 | tick5 | end locked=False',
    );
  });

  test('a newcomer in between queues behind the waiter the cancelled one will wake', async () => {
    const log: string[] = [];
    await run(async () => {
      const lock = new Lock();
      await lock.acquire();
      const b = createTask(() => waiter(lock, log, 'B'));
      const c = createTask(() => waiter(lock, log, 'C'));
      await sleep(0);
      const tk = createTask(() => ticker(log, 6));
      b.cancel();
      lock.release();
      // Free, yet not to be taken: C is due first.
      assert.equal(lock.locked(), false);
      await lock.acquire();
      log.push(`main:got locked=${py(lock.locked())}`);
      lock.release();
      await settle([b, c, tk]);
      log.push(`end locked=${py(lock.locked())}`);
    });
    assert.equal(
      log.join(' | '),
      'B:wait | C:wait | tick0 | B:cancelled locked=False | tick1 | C:got | tick2 | C:released | tick3 | main:got locked=True | tick4 | tick5 | end locked=False',
    );
  });

  test('a newcomer task arriving after the cancelled waiter ran queues behind the woken one', async () => {
    const log: string[] = [];
    await run(async () => {
      const lock = new Lock();
      await lock.acquire();
      const b = createTask(() => waiter(lock, log, 'B'));
      const c = createTask(() => waiter(lock, log, 'C'));
      await sleep(0);
      const tk = createTask(() => ticker(log, 6));
      b.cancel();
      lock.release();
      log.push(`main:released locked=${py(lock.locked())}`);
      const d = createTask(() => waiter(lock, log, 'D'));
      await settle([b, c, tk, d]);
      log.push(`end locked=${py(lock.locked())}`);
    });
    assert.equal(
      log.join(' | '),
      'B:wait | C:wait | main:released locked=False | tick0 | B:cancelled locked=False | D:wait | tick1 | C:got | tick2 | C:released | tick3 | D:got | tick4 | D:released | tick5 | end locked=False',
    );
  });

  test('when every waiter left is cancelled, a newcomer takes the lock at once', async () => {
    const log: string[] = [];
    await run(async () => {
      const lock = new Lock();
      await lock.acquire();
      const b = createTask(() => waiter(lock, log, 'B'));
      const c = createTask(() => waiter(lock, log, 'C'));
      await sleep(0);
      const tk = createTask(() => ticker(log, 4));
      b.cancel();
      lock.release();
      c.cancel(); // the waiter B would have woken is cancelled too
      await lock.acquire();
      log.push(`main:got locked=${py(lock.locked())}`);
      lock.release();
      await settle([b, c, tk]);
      log.push(`end locked=${py(lock.locked())}`);
    });
    // weft before: main queued and got the lock after tick1.
    assert.equal(
      log.join(' | '),
      'B:wait | C:wait | main:got locked=True | tick0 | B:cancelled locked=False | C:cancelled locked=False | tick1 | tick2 | tick3 | end locked=False',
    );
  });

  test('a second release in between is refused, as the lock is not held', async () => {
    const log: string[] = [];
    await run(async () => {
      const lock = new Lock();
      await lock.acquire();
      const b = createTask(() => waiter(lock, log, 'B'));
      const c = createTask(() => waiter(lock, log, 'C'));
      await sleep(0);
      b.cancel();
      lock.release();
      try {
        lock.release();
        log.push('second release ok');
      } catch (e) {
        assert.equal((e as { code?: string }).code, 'ERR_WEFT_LOCK_NOT_HELD');
        log.push('second release RuntimeError');
      }
      await settle([b, c]);
      log.push(`end locked=${py(lock.locked())}`);
    });
    assert.equal(
      log.join(' | '),
      'B:wait | C:wait | second release RuntimeError | B:cancelled locked=False | C:got | C:released | end locked=False',
    );
  });

  test('a woken waiter cancelled with a cancelled one behind it: the next pending one is woken after both ran', async () => {
    const log: string[] = [];
    await run(async () => {
      const lock = new Lock();
      await lock.acquire();
      const c = createTask(() => waiter(lock, log, 'C'));
      const b = createTask(() => waiter(lock, log, 'B'));
      const d = createTask(() => waiter(lock, log, 'D'));
      await sleep(0);
      const tk = createTask(() => ticker(log, 6));
      lock.release(); // hands the lock to C
      b.cancel();
      c.cancel();
      log.push(`main:cancelled locked=${py(lock.locked())}`);
      await settle([b, c, d, tk]);
      log.push(`end locked=${py(lock.locked())}`);
    });
    assert.equal(
      log.join(' | '),
      'C:wait | B:wait | D:wait | main:cancelled locked=False | tick0 | C:cancelled locked=False | B:cancelled locked=False | tick1 | D:got | tick2 | D:released | tick3 | tick4 | tick5 | end locked=False',
    );
  });

  test('an aborted acquire keeps its place as a cancelled one does; nothing is lost', async () => {
    // weft's own `signal`: an abort ends the wait as a cancel does, so it follows the same order.
    const log: string[] = [];
    await run(async () => {
      const lock = new Lock();
      await lock.acquire();
      const ac = new AbortController();
      const b = createTask(() => waiter(lock, log, 'B', ac.signal));
      const c = createTask(() => waiter(lock, log, 'C'));
      await sleep(0);
      const tk = createTask(() => ticker(log, 6));
      ac.abort(new RangeError('gone'));
      lock.release();
      log.push(`main:released locked=${py(lock.locked())}`);
      const results = await settle([b, c, tk]);
      assert.ok(results[0] instanceof RangeError);
      log.push(`end locked=${py(lock.locked())}`);
    });
    assert.equal(
      log.join(' | '),
      'B:wait | C:wait | main:released locked=False | tick0 | B:cancelled locked=False | tick1 | C:got | tick2 | C:released | tick3 | tick4 | tick5 | end locked=False',
    );
  });

  test('Condition.wait: a notified waiter cancelled while it takes the lock back is first: the next is woken when it runs', async () => {
    // CPython (asyncio.Condition, 3.11.2 and 3.13.0 alike): W1's cancelled re-acquire
    // wakes W2 from its except clause, then queues again (Condition.wait must hold the lock).
    const log: string[] = [];
    const w = async (cond: Condition, name: string): Promise<void> => {
      await cond.acquire();
      try {
        try {
          await cond.wait();
          log.push(`${name}:woke`);
        } catch (e) {
          if (e instanceof CancelledError)
            log.push(`${name}:cancelled locked=${py(cond.locked())}`);
          throw e;
        }
        await sleep(0);
      } finally {
        cond.release();
      }
      log.push(`${name}:out`);
    };
    await run(async () => {
      const cond = new Condition();
      const t1 = createTask(() => w(cond, 'W1'));
      const t2 = createTask(() => w(cond, 'W2'));
      await sleep(0);
      await cond.acquire();
      cond.notifyAll();
      await sleep(0); // both wait to take the lock back
      const tk = createTask(() => ticker(log, 8));
      t1.cancel();
      cond.release();
      log.push(`main:released locked=${py(cond.locked())}`);
      await settle([t1, t2, tk]);
      log.push(`end locked=${py(cond.locked())}`);
    });
    // weft before: W2 was handed the lock by the release, one iteration early.
    assert.equal(
      log.join(' | '),
      'main:released locked=False | tick0 | tick1 | W2:woke | tick2 | W2:out | tick3 | W1:cancelled locked=True | tick4 | tick5 | tick6 | tick7 | end locked=False',
    );
  });

  test('cancelled waiters resuming while the lock is held or handed over leave it as it is', async () => {
    await run(async () => {
      const lock = new Lock();
      await lock.acquire();
      const log: string[] = [];
      const tasks = ['B', 'C', 'D', 'E'].map((n) => createTask(() => waiter(lock, log, n)));
      await sleep(0);
      tasks[1]!.cancel(); // C, behind B, while held: leaves when it runs
      await sleep(0);
      assert.equal(lock.locked(), true);
      lock.release(); // to B
      tasks[2]!.cancel(); // D, while B is being handed the lock
      await sleep(0);
      await settle(tasks);
      assert.deepEqual(
        log.filter((l) => !l.endsWith(':wait')),
        // CPython's order: B's wake-up was queued before D's cancel.
        [
          'C:cancelled locked=True',
          'B:got',
          'D:cancelled locked=True',
          'B:released',
          'E:got',
          'E:released',
        ],
      );
      assert.equal(lock.locked(), false);
      // The lock is free and its queue empty: taken at once.
      assert.equal(await lock.acquire({ blocking: false }), true);
      lock.release();
    });
  });
});
