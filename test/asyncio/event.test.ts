/**
 * asyncio Event: wake-up order as in CPython's ready queue (test_locks.EventTests), timeouts,
 * cancellation and AbortSignal leave no waiter behind.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CancelledError,
  createTask,
  Event,
  gather,
  run,
  sleep,
  TimeoutError,
  waitFor,
} from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';
import { mockClock } from './mock-clock.js';

checkLeaks();

/** Pending waiters of an Event (white-box: the count is what "leaves no waiter" means). */
function waiterCount(ev: Event): number {
  return (ev as unknown as { waiters: { size: number } }).waiters.size;
}

describe('Event', () => {
  test('set wakes waiters in ready-queue order behind a task created before set', async () => {
    // CPython test_wait: t1 and t2 wait; t3 is created (not yet started) before set(); the
    // ready queue then holds [start t3, wake t1, wake t2].
    await run(async () => {
      const ev = new Event();
      const result: number[] = [];
      const waiter = (n: number) => async () => {
        if (await ev.wait()) result.push(n);
      };
      const t1 = createTask(waiter(1));
      const t2 = createTask(waiter(2));
      await sleep(0);
      assert.deepEqual(result, []);
      const t3 = createTask(waiter(3));
      ev.set();
      await sleep(0);
      assert.deepEqual(result, [3, 1, 2]);
      assert.ok(t1.done() && t2.done() && t3.done());
      assert.equal(t1.result(), undefined);
    });
  });

  test('set wakes waiters FIFO and each runs until it suspends before the next resumes', async () => {
    await run(async () => {
      const ev = new Event();
      const log: string[] = [];
      const waiter = (name: string) => async () => {
        await ev.wait();
        log.push(`${name} woke`);
        await Promise.resolve(); // does not suspend the task for the ready queue
        log.push(`${name} continued`);
        await sleep(0);
        log.push(`${name} after sleep`);
      };
      const tasks = ['a', 'b', 'c'].map((n) => createTask(waiter(n)));
      await sleep(0);
      ev.set();
      await gather(...tasks);
      assert.deepEqual(log, [
        'a woke',
        'a continued',
        'b woke',
        'b continued',
        'c woke',
        'c continued',
        'a after sleep',
        'b after sleep',
        'c after sleep',
      ]);
    });
  });

  test('wait on a set event resolves true at once, without suspending', async () => {
    await run(async () => {
      const ev = new Event();
      ev.set();
      const log: string[] = [];
      const other = createTask(() => {
        log.push('other ran');
      });
      assert.equal(await ev.wait(), true);
      log.push('main after wait');
      await other;
      assert.deepEqual(log, ['main after wait', 'other ran']);
      assert.ok(ev.wait() instanceof Promise, 'a waiting call always returns a Promise');
    });
  });

  test('clear resets the flag; set is idempotent', () => {
    const ev = new Event();
    assert.equal(ev.isSet(), false);
    ev.set();
    assert.equal(ev.isSet(), true);
    ev.set();
    assert.equal(ev.isSet(), true);
    ev.clear();
    assert.equal(ev.isSet(), false);
    ev.clear();
    assert.equal(ev.isSet(), false);
  });

  test('set then clear before the waiter runs still wakes it with true', async () => {
    // CPython test_clear_with_waiters.
    await run(async () => {
      const ev = new Event();
      const result: boolean[] = [];
      const t = createTask(async () => {
        result.push(await ev.wait());
      });
      await sleep(0);
      ev.set();
      ev.clear();
      assert.equal(ev.isSet(), false);
      ev.set();
      ev.set();
      assert.equal(waiterCount(ev), 0, 'the first set took the waiter');
      await sleep(0);
      assert.deepEqual(result, [true]);
      await t;
    });
  });

  test('wait cancelled while waiting raises CancelledError and leaves no waiter', async () => {
    await run(async () => {
      const ev = new Event();
      const t = createTask(() => ev.wait());
      await sleep(0);
      assert.equal(waiterCount(ev), 1);
      t.cancel('stop');
      await assert.rejects(t, (e: unknown) => e instanceof CancelledError && e.message === 'stop');
      assert.equal(waiterCount(ev), 0);
      assert.ok(t.cancelled());
    });
  });

  test('wait cancelled at the moment set woke it raises CancelledError, others still wake', async () => {
    await run(async () => {
      const ev = new Event();
      const log: string[] = [];
      const a = createTask(async () => {
        await ev.wait();
        log.push('a');
      });
      const b = createTask(async () => {
        await ev.wait();
        log.push('b');
      });
      await sleep(0);
      ev.set();
      a.cancel();
      const [ra] = await gather(a, b, { returnExceptions: true });
      assert.ok(ra instanceof CancelledError);
      assert.deepEqual(log, ['b']);
      assert.equal(ev.isSet(), true);
    });
  });

  test('wait with timeout resolves false when it expires and leaves no waiter', async () => {
    await run(async () => {
      const ev = new Event();
      assert.equal(await ev.wait({ timeout: 5 }), false);
      assert.equal(waiterCount(ev), 0);
      assert.equal(await ev.wait({ timeout: 0 }), false);
      assert.equal(await ev.wait({ timeout: -1 }), false, 'a negative timeout is 0');
      assert.equal(waiterCount(ev), 0);
    });
  });

  test('wait with timeout resolves true when set first, and clears its timer', async () => {
    await run(async () => {
      const ev = new Event();
      const t = createTask(() => ev.wait({ timeout: 60_000 }));
      await sleep(0);
      ev.set();
      assert.equal(await t, true);
      // checkLeaks fails this test if the 60 s timer were still armed.
    });
  });

  test('set wins over a timeout that fires before the woken waiter resumes', async () => {
    await run(async () => {
      // Mock timers fire the timeout between set() and the waiter's resumption.
      const clock = mockClock();
      try {
        const ev = new Event();
        const t = createTask(() => ev.wait({ timeout: 5 }));
        await sleep(0);
        ev.set(); // t's resumption waits on the ready queue …
        clock.tick(5); // … when its timer fires: too late
        assert.equal(await t, true);
      } finally {
        clock[Symbol.dispose]();
      }
    });
  });

  test('wait with an already aborted signal rejects with its reason and adds no waiter', async () => {
    await run(async () => {
      const ev = new Event();
      const reason = new Error('aborted before');
      await assert.rejects(ev.wait({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
      assert.equal(waiterCount(ev), 0);
    });
  });

  test('wait aborted while waiting rejects with the reason and leaves no waiter', async () => {
    await run(async () => {
      const ev = new Event();
      const ac = new AbortController();
      const log: string[] = [];
      const aborted = createTask(async () => {
        try {
          await ev.wait({ signal: ac.signal });
        } catch (e) {
          log.push(`aborted: ${(e as Error).message}`);
        }
      });
      const other = createTask(async () => {
        await ev.wait();
        log.push('other woke');
      });
      await sleep(0);
      assert.equal(waiterCount(ev), 2);
      ac.abort(new Error('gave up'));
      await aborted;
      assert.equal(waiterCount(ev), 1);
      ev.set();
      await other;
      assert.deepEqual(log, ['aborted: gave up', 'other woke']);
    });
  });

  test('wait on a set event still refuses an aborted signal and checks its options', async () => {
    await run(async () => {
      const ev = new Event();
      ev.set();
      const reason = new Error('aborted');
      await assert.rejects(ev.wait({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
      await assert.rejects(ev.wait({ timeout: 'x' as unknown as number }), TypeError);
      assert.equal(await ev.wait({ signal: new AbortController().signal }), true);
      assert.equal(await ev.wait({ timeout: 0 }), true, 'a set flag answers before the timeout');
    });
  });

  test('a signal aborted after set but before the waiter resumes rejects the wait', async () => {
    await run(async () => {
      const ev = new Event();
      const ac = new AbortController();
      const t = createTask(() => ev.wait({ signal: ac.signal }));
      await sleep(0);
      ev.set();
      ac.abort(new Error('too late'));
      // As task.cancel() in CPython: a wake-up not yet delivered is refused (an Event's
      // wake-up is not a scarce grant, so nothing has to be passed on).
      await assert.rejects(t, /too late/);
      assert.equal(ev.isSet(), true);
    });
  });

  test('waitFor around wait times out with TimeoutError and leaves no waiter', async () => {
    await run(async () => {
      const ev = new Event();
      await assert.rejects(waitFor(ev.wait(), 5), TimeoutError);
      assert.equal(waiterCount(ev), 0);
    });
  });

  test('wait outside any task works and can be set from a plain callback', async () => {
    const ev = new Event();
    const p = ev.wait();
    setTimeout(() => ev.set(), 1);
    assert.equal(await p, true);
  });

  test('wait with bad options rejects with a TypeError naming what was received', async () => {
    const ev = new Event();
    await assert.rejects(
      () => ev.wait({ timeout: 'soon' as unknown as number }),
      (e: unknown) => e instanceof TypeError && /timeout must be a number.*soon/.test(e.message),
    );
    await assert.rejects(
      () => ev.wait({ timeout: Number.NaN }),
      (e: unknown) => e instanceof TypeError && /timeout/.test(e.message),
    );
    await assert.rejects(
      () => ev.wait({ signal: {} as AbortSignal }),
      (e: unknown) => e instanceof TypeError && /signal must be an AbortSignal/.test(e.message),
    );
    await assert.rejects(
      () => ev.wait(42 as never),
      (e: unknown) => e instanceof TypeError && /options must be an object/.test(e.message),
    );
    assert.equal(waiterCount(ev), 0);
  });
});
