/**
 * asyncio Semaphore: CPython's test_locks.SemaphoreTests (FIFO order, cancellation before and
 * after the wake-up — bpo-45390 / gh-90155), timeouts, AbortSignal, bad input, and a property
 * test that the number of holders never exceeds the value and no permit leaks.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  CancelledError,
  createTask,
  gather,
  getRunningLoop,
  RuntimeError,
  run,
  Semaphore,
  sleep,
  type Task,
  TaskGroup,
  waitFor,
} from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';
import { mockClock } from './mock-clock.js';

checkLeaks();

/** Pending waiters of a Semaphore (white-box). */
function waiterCount(sem: Semaphore): number {
  return (sem as unknown as { waiters: { size: number } }).waiters.size;
}

describe('Semaphore', () => {
  test('a semaphore of value 0 is locked; of value 1 is not', () => {
    assert.equal(new Semaphore(0).locked(), true);
    assert.equal(new Semaphore().locked(), false);
    assert.equal(new Semaphore().value, 1);
    assert.equal(new Semaphore(5).value, 5);
  });

  test('acquire takes permits until none is left, then waiters are served by release', async () => {
    // CPython test_acquire.
    await run(async () => {
      const sem = new Semaphore(3);
      const result: number[] = [];
      assert.equal(await sem.acquire(), true);
      assert.equal(await sem.acquire(), true);
      assert.equal(sem.locked(), false);
      const c = (n: number) => async () => {
        await sem.acquire();
        result.push(n);
        return true;
      };
      const t1 = createTask(c(1));
      const t2 = createTask(c(2));
      const t3 = createTask(c(3));
      await sleep(0);
      assert.deepEqual(result, [1]);
      assert.equal(sem.locked(), true);
      assert.equal(waiterCount(sem), 2);
      assert.equal(sem.value, 0);

      const t4 = createTask(c(4));
      sem.release();
      sem.release();
      assert.equal(sem.value, 0, 'the permits went straight to the waiters');
      await sleep(0);
      assert.equal(sem.value, 0);
      assert.deepEqual(result, [1, 2, 3], 'the waiters came first, FIFO');
      assert.equal(sem.locked(), true);
      assert.equal(waiterCount(sem), 1);
      assert.ok(t1.done() && t2.done() && t3.done() && !t4.done());
      sem.release();
      await gather(t2, t3, t4);
      assert.deepEqual(result, [1, 2, 3, 4]);
    });
  });

  test('acquire cancelled while waiting raises CancelledError and leaves no waiter', async () => {
    // CPython test_acquire_cancel.
    await run(async () => {
      const sem = new Semaphore();
      await sem.acquire();
      const t = createTask(() => sem.acquire());
      getRunningLoop().callSoon(() => t.cancel());
      await assert.rejects(t, CancelledError);
      assert.equal(waiterCount(sem), 0);
      assert.equal(sem.value, 0);
      sem.release();
      assert.equal(sem.value, 1);
    });
  });

  test('waiters cancelled before a release do not take its permit', async () => {
    // CPython test_acquire_cancel_before_awoken.
    await run(async () => {
      const sem = new Semaphore(0);
      const [t1, t2, t3, t4] = [0, 1, 2, 3].map(() => createTask(() => sem.acquire())) as [
        Task<boolean>,
        Task<boolean>,
        Task<boolean>,
        Task<boolean>,
      ];
      await sleep(0);
      t1.cancel();
      t2.cancel();
      sem.release();
      await sleep(0);
      await sleep(0);
      assert.ok(t1.cancelled() && t2.cancelled());
      assert.equal(t3.done(), true, 'the next live waiter got the permit');
      assert.equal(t4.done(), false);
      t4.cancel();
      await assert.rejects(t4, CancelledError);
      assert.equal(sem.value, 0);
      assert.equal(waiterCount(sem), 0);
    });
  });

  test('a waiter cancelled at the moment release woke it passes the permit on', async () => {
    // CPython test_acquire_hang / bpo-45390: the permit must not be lost.
    await run(async () => {
      const sem = new Semaphore(0);
      const t1 = createTask(() => sem.acquire());
      const t2 = createTask(() => sem.acquire());
      await sleep(0);
      sem.release(); // wakes t1 …
      t1.cancel(); // … which is cancelled before it runs
      await sleep(0);
      await sleep(0);
      assert.ok(t1.cancelled());
      assert.equal(t2.done(), true, 't2 got the permit t1 gave back');
      assert.equal(sem.locked(), true);
      assert.equal(sem.value, 0);
    });
  });

  test('a release racing a cancellation leaks no permit (gh-90155)', async () => {
    // CPython test_acquire_no_hang.
    await run(async () => {
      const sem = new Semaphore(1);
      let t2: Task<void>;
      const t1 = createTask(async () => {
        await sem.run(() => sleep(0));
        t2.cancel();
      });
      t2 = createTask(async () => {
        await sem.run(() => assert.fail('t2 must not run its block'));
      });
      const [r1, r2] = await gather(t1, t2, { returnExceptions: true });
      assert.equal(r1, undefined);
      assert.ok(r2 instanceof CancelledError);
      assert.equal(await waitFor(sem.acquire(), 1000), true, 'the permit came back');
      assert.equal(sem.value, 0);
    });
  });

  test('release with no waiters unlocks', async () => {
    await run(async () => {
      const sem = new Semaphore();
      await sem.acquire();
      assert.equal(sem.locked(), true);
      sem.release();
      assert.equal(sem.locked(), false);
    });
  });

  test('an unbounded Semaphore may be released above its initial value', () => {
    const sem = new Semaphore(1);
    sem.release();
    sem.release(3);
    assert.equal(sem.value, 5);
    sem.release(2 ** 40); // counted at once, not one by one
    assert.equal(sem.value, 5 + 2 ** 40);
  });

  test('release(n) wakes n waiters in FIFO order', async () => {
    await run(async () => {
      const sem = new Semaphore(0);
      const result: number[] = [];
      const tasks = [1, 2, 3, 4].map((n) =>
        createTask(async () => {
          await sem.acquire();
          result.push(n);
        }),
      );
      await sleep(0);
      sem.release(3);
      await sleep(0);
      assert.deepEqual(result, [1, 2, 3]);
      assert.equal(waiterCount(sem), 1);
      sem.release();
      await gather(...tasks);
      assert.deepEqual(result, [1, 2, 3, 4]);
      assert.equal(sem.value, 0);
    });
  });

  test('acquire keeps FIFO order across tasks that release and re-acquire', async () => {
    // CPython test_acquire_fifo_order.
    await run(async () => {
      const sem = new Semaphore(1);
      const result: string[] = [];
      const coro = (tag: string) => async () => {
        await sem.acquire();
        result.push(`${tag}_1`);
        await sleep(2);
        sem.release();
        await sem.acquire();
        result.push(`${tag}_2`);
        await sleep(2);
        sem.release();
      };
      {
        await using tg = new TaskGroup();
        tg.createTask(coro('c1'));
        tg.createTask(coro('c2'));
        tg.createTask(coro('c3'));
      }
      assert.deepEqual(result, ['c1_1', 'c2_1', 'c3_1', 'c1_2', 'c2_2', 'c3_2']);
    });
  });

  test('a task releasing and re-acquiring queues behind the waiters already there', async () => {
    // CPython test_acquire_fifo_order_2.
    await run(async () => {
      const sem = new Semaphore(1);
      const result: number[] = [];
      const t1 = createTask(async () => {
        await sem.acquire();
        result.push(1);
      });
      const t2 = createTask(async () => {
        await sem.acquire();
        result.push(2);
        sem.release();
        await sem.acquire();
        result.push(4);
      });
      const t3 = createTask(async () => {
        await sem.acquire();
        result.push(3);
      });
      await sleep(0);
      sem.release();
      sem.release();
      await gather(t1, t2, t3);
      assert.deepEqual(result, [1, 2, 3, 4]);
    });
  });

  test('a waiter cancelled before the releases is skipped', async () => {
    // CPython test_acquire_fifo_order_3.
    await run(async () => {
      const sem = new Semaphore(0);
      const result: number[] = [];
      const c = (n: number) => async () => {
        await sem.acquire();
        result.push(n);
      };
      const tasks = [1, 2, 3].map((n) => createTask(c(n)));
      await sleep(0);
      tasks[0]!.cancel();
      await sleep(0);
      sem.release();
      sem.release();
      await gather(...tasks, { returnExceptions: true });
      assert.deepEqual(result, [2, 3]);
    });
  });

  test('newcomers queue behind a woken waiter that has not run yet, even with permits free', async () => {
    // CPython test_acquire_fifo_order_4.
    await run(async () => {
      const sem = new Semaphore(0);
      const result: number[] = [];
      let t4: Task<void> | null = null;
      const c4 = async () => {
        result.push(4);
      };
      const t1 = createTask(async () => {
        assert.equal(sem.value, 0);
        await sem.acquire();
        // Every waiter that the free permits allow has been woken now.
        assert.equal(sem.value, 0);
        t4 = createTask(c4); // runs after c3, not after c2
        result.push(1);
      });
      const t2 = createTask(async () => {
        sem.release();
        sem.release();
        sem.release();
        assert.equal(sem.value, 2);
        // Locked: t1 has been woken but has not run yet.
        assert.equal(sem.locked(), true);
        await sem.acquire();
        result.push(2);
      });
      const t3 = createTask(async () => {
        await sem.acquire();
        assert.equal(sem.locked(), true);
        result.push(3);
      });
      await sleep(0);
      await sleep(0);
      await gather(t1, t2, t3);
      await t4!;
      assert.deepEqual(result, [1, 2, 3, 4]);
    });
  });

  test('acquire with blocking false or timeout 0 resolves false when no permit is free', async () => {
    await run(async () => {
      const sem = new Semaphore(1);
      assert.equal(await sem.acquire({ blocking: false }), true);
      assert.equal(await sem.acquire({ blocking: false }), false);
      assert.equal(await sem.acquire({ timeout: 0 }), false);
      assert.equal(waiterCount(sem), 0);
      sem.release();
      assert.equal(sem.value, 1);
    });
  });

  test('acquire with timeout resolves false when it expires and leaves no waiter', async () => {
    await run(async () => {
      const sem = new Semaphore(0);
      assert.equal(await sem.acquire({ timeout: 5 }), false);
      assert.equal(waiterCount(sem), 0);
      sem.release();
      assert.equal(sem.value, 1, 'the release was not taken by the timed-out waiter');
    });
  });

  test('a timed-out waiter cancelled before it resumes creates no permit', async () => {
    await run(async () => {
      // Mock timers fire the timeout between the wait's end and its resumption, which real
      // timers cannot do deterministically.
      const clock = mockClock();
      try {
        const sem = new Semaphore(0);
        const t = createTask(() => sem.acquire({ timeout: 5 }));
        const next = createTask(() => sem.acquire());
        await sleep(0);
        clock.tick(5); // t times out; its resumption waits on the ready queue …
        t.cancel(); // … and it is cancelled before it runs
        await gather(t, { returnExceptions: true });
        assert.equal(sem.value, 0, 'nobody released, so no permit may appear');
        assert.equal(next.done(), false, 'and nobody was handed one');
        sem.release();
        assert.equal(await next, true);
      } finally {
        clock[Symbol.dispose]();
      }
    });
  });

  test('acquire with timeout resolves true when a release comes first, and clears its timer', async () => {
    await run(async () => {
      const sem = new Semaphore(0);
      const t = createTask(() => sem.acquire({ timeout: 60_000 }));
      await sleep(0);
      sem.release();
      assert.equal(await t, true);
      assert.equal(sem.value, 0);
    });
  });

  test('acquire with an already aborted signal rejects with its reason even with permits free', async () => {
    await run(async () => {
      const sem = new Semaphore(1);
      const reason = new Error('before');
      await assert.rejects(sem.acquire({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
      assert.equal(sem.value, 1, 'no permit taken');
    });
  });

  test('acquire aborted while waiting rejects with the reason; the next release goes to the next waiter', async () => {
    await run(async () => {
      const sem = new Semaphore(0);
      const ac = new AbortController();
      const log: string[] = [];
      const aborted = createTask(async () => {
        try {
          await sem.acquire({ signal: ac.signal });
        } catch (e) {
          log.push(`aborted: ${(e as Error).message}`);
        }
      });
      const next = createTask(async () => {
        await sem.acquire();
        log.push('next acquired');
      });
      await sleep(0);
      ac.abort(new Error('gave up'));
      await aborted;
      assert.equal(waiterCount(sem), 1);
      sem.release();
      await next;
      assert.deepEqual(log, ['aborted: gave up', 'next acquired']);
      assert.equal(sem.value, 0);
    });
  });

  test('a signal aborted after release woke the waiter passes the permit on', async () => {
    await run(async () => {
      const sem = new Semaphore(0);
      const ac = new AbortController();
      const first = createTask(() => sem.acquire({ signal: ac.signal }));
      const second = createTask(() => sem.acquire());
      await sleep(0);
      sem.release();
      ac.abort(new Error('late'));
      await assert.rejects(first, /late/);
      assert.equal(await second, true);
      assert.equal(sem.value, 0);
      assert.equal(waiterCount(sem), 0);
    });
  });

  test('run holds a permit around the block and gives it back even when it throws', async () => {
    await run(async () => {
      const sem = new Semaphore(2);
      assert.equal(
        await sem.run(() => {
          assert.equal(sem.value, 1);
          return 'r';
        }),
        'r',
      );
      assert.equal(sem.value, 2);
      await assert.rejects(
        sem.run(async () => {
          await sleep(0);
          throw new Error('inside');
        }),
        /inside/,
      );
      assert.equal(sem.value, 2);
    });
  });

  test('run with a timeout that expires throws RuntimeError and runs nothing', async () => {
    await run(async () => {
      const sem = new Semaphore(0);
      let ran = false;
      await assert.rejects(
        sem.run(
          () => {
            ran = true;
          },
          { timeout: 2 },
        ),
        (e: unknown) =>
          e instanceof RuntimeError && (e as RuntimeError).code === 'ERR_WEFT_SEMAPHORE_TIMEOUT',
      );
      assert.equal(ran, false);
      assert.equal(sem.value, 0);
    });
  });

  test('hold gives the permit back once when disposed, sync or async', async () => {
    await run(async () => {
      const sem = new Semaphore(1);
      {
        using _ = await sem.hold();
        assert.equal(sem.value, 0);
      }
      assert.equal(sem.value, 1);
      {
        await using _ = await sem.hold();
        assert.equal(sem.value, 0);
      }
      assert.equal(sem.value, 1);
      const h = await sem.hold();
      h[Symbol.dispose]();
      h[Symbol.dispose]();
      assert.equal(sem.value, 1, 'a second dispose releases nothing');
    });
  });

  test('bad input throws TypeError or RangeError naming what was received', async () => {
    assert.throws(
      () => new Semaphore(-1),
      (e: unknown) => e instanceof RangeError && /must be >= 0: received -1/.test(e.message),
    );
    assert.throws(
      () => new Semaphore(1.5),
      (e: unknown) => e instanceof TypeError && /must be an integer: received 1.5/.test(e.message),
    );
    assert.throws(
      () => new Semaphore('2' as unknown as number),
      (e: unknown) => e instanceof TypeError && /must be an integer/.test(e.message),
    );
    assert.throws(() => new Semaphore(Number.NaN), TypeError);
    const sem = new Semaphore(1);
    for (const n of [0, -1, 1.5, Number.NaN]) {
      assert.throws(
        () => sem.release(n),
        (e: unknown) => e instanceof RangeError && /integer n >= 1/.test(e.message),
        `release(${String(n)})`,
      );
    }
    // A value of the wrong type is a TypeError, as threading's release('1') raises in Python.
    for (const n of ['1', null, 1n]) {
      assert.throws(
        () => sem.release(n as unknown as number),
        (e: unknown) => e instanceof TypeError && /needs a number n: received/.test(e.message),
        `release(${String(n)})`,
      );
    }
    assert.equal(sem.value, 1, 'a refused release changes nothing');
    await assert.rejects(
      () => sem.acquire({ blocking: 'no' as unknown as boolean }),
      (e: unknown) => e instanceof TypeError && /blocking must be a boolean/.test(e.message),
    );
    await assert.rejects(
      () => sem.acquire({ timeout: '5' as unknown as number }),
      (e: unknown) => e instanceof TypeError && /timeout must be a number/.test(e.message),
    );
    assert.equal(sem.value, 1);
  });

  test('random holders, cancellations and timeouts never exceed the value nor leak a permit', async () => {
    // Each task: wait a little, acquire (maybe with a timeout), hold for a while, release; some
    // tasks are cancelled at random moments. At the end every permit must be back.
    const task = fc.record({
      delay: fc.integer({ min: 0, max: 3 }),
      hold: fc.integer({ min: 0, max: 2 }),
      timeout: fc.option(fc.integer({ min: 0, max: 3 })),
      cancelAfter: fc.option(fc.integer({ min: 0, max: 4 })),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.array(task, { minLength: 1, maxLength: 8 }),
        async (value, specs) => {
          await run(async () => {
            const sem = new Semaphore(value);
            let holders = 0;
            let maxHolders = 0;
            const tasks = specs.map((s) =>
              createTask(async () => {
                await sleep(s.delay);
                const ok = await sem.acquire(
                  s.timeout === null ? undefined : { timeout: s.timeout },
                );
                if (!ok) return;
                holders++;
                maxHolders = Math.max(maxHolders, holders);
                try {
                  await sleep(s.hold);
                } finally {
                  holders--;
                  sem.release();
                }
              }),
            );
            const cancels = specs.map((s, i) =>
              s.cancelAfter === null
                ? null
                : createTask(async () => {
                    await sleep(s.cancelAfter as number);
                    tasks[i]!.cancel();
                  }),
            );
            await gather(...tasks, { returnExceptions: true });
            await gather(...cancels.filter((c) => c !== null), { returnExceptions: true });
            assert.ok(maxHolders <= value, `${maxHolders} holders of a Semaphore(${value})`);
            assert.equal(holders, 0);
            assert.equal(sem.value, value, 'every permit came back');
            assert.equal(waiterCount(sem), 0);
          });
        },
      ),
      { numRuns: 40 },
    );
  });
});
