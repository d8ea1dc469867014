import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CancelledError,
  createTask,
  currentTask,
  getRunningLoop,
  run,
  sleep,
} from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

describe('sleep', () => {
  test('resolves to its value after the delay; an aborted signal ends it with the reason', async () => {
    await run(async () => {
      assert.equal(await sleep(1, 'v'), 'v');
      const ac = new AbortController();
      const p = sleep(10_000, 'never', { signal: ac.signal });
      ac.abort(new RangeError('stop'));
      await assert.rejects(p, RangeError);
    });
  });

  test('a signal that is not an AbortSignal rejects with a TypeError as every wait does', async () => {
    for (const signal of [{}, 'yes', 1]) {
      for (const ms of [10, 0]) {
        await assert.rejects(
          () => sleep(ms, 'v', { signal: signal as unknown as AbortSignal }),
          (e: unknown) =>
            e instanceof TypeError &&
            /^sleep: signal must be an AbortSignal: received /.test(e.message),
        );
      }
    }
    await assert.rejects(() => sleep(10, 'v', 5 as never), /sleep: options must be an object/);
    await assert.rejects(
      () => sleep('10' as never),
      (e: unknown) =>
        e instanceof TypeError &&
        // The string shows as one: `received "10"`, not `received 10`.
        /sleep\(\) expects a number of milliseconds: received "10"$/.test(e.message),
    );
  });

  test('a cancel requested while the task runs is raised at sleep(ms) and leaves no timer', async () => {
    await run(async () => {
      const t = createTask(async () => {
        currentTask()?.cancel(); // pending: the task is running, blocked on nothing
        await sleep(60_000);
      });
      await assert.rejects(t, CancelledError);
    });
    // checkLeaks fails this test if the sleep's timer was armed anyway (it kept the process up).
  });
});

/** Busy-waits a random fraction of a millisecond: the next timer is armed at another point of
 * Node's millisecond clock. */
function misalign(): void {
  const until = performance.now() + Math.random();
  while (performance.now() < until);
}

describe('timers never fire early, as Python never runs a timer before its deadline', () => {
  // Node counts timers in whole milliseconds of a clock read truncated when armed: before the
  // fix about one wait in 40 (more with fractions of a millisecond) ended early, so 300 waits
  // all but surely met one.
  test('sleep(ms) lasts at least ms, whole or fractional', async () => {
    await run(async () => {
      const short: string[] = [];
      for (let i = 0; i < 150; i++) {
        for (const ms of [2, 0.1 + Math.random() * 3]) {
          misalign();
          const t0 = performance.now();
          await sleep(ms);
          const took = performance.now() - t0;
          if (took < ms) short.push(`sleep(${ms.toFixed(3)}) took ${took.toFixed(3)} ms`);
        }
      }
      assert.deepEqual(short, []);
    });
  });

  test('callLater and callAt run once loop.time() has reached when()', async () => {
    await run(async () => {
      const loop = getRunningLoop();
      const early: string[] = [];
      for (let i = 0; i < 150; i++) {
        misalign();
        await new Promise<void>((resolve) => {
          const h = loop.callLater(Math.random() * 3, () => {
            if (loop.time() < h.when())
              early.push(`callLater ran ${h.when() - loop.time()} ms early`);
            resolve();
          });
        });
        misalign();
        const when = loop.time() + Math.random() * 3;
        await new Promise<void>((resolve) => {
          loop.callAt(when, () => {
            if (loop.time() < when) early.push(`callAt ran ${when - loop.time()} ms early`);
            resolve();
          });
        });
      }
      assert.deepEqual(early, []);
    });
  });
});
