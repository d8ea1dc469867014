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

  test("a sleep's timer resumes its task after the callbacks due with it, as CPython's handle does", async () => {
    // CPython 3.11: the sleep's timer handle sets its future in the iteration where it is due,
    // and the task wakes in the next one, so a call_later due in the same batch runs first, even
    // one armed after the sleep: ['cb', 'sleep', 'cb2'] (checked with /usr/bin/python3; cb2 is a
    // callback the sleeper's wake-up queues, behind cb).
    await run(async () => {
      const loop = getRunningLoop();
      const order: string[] = [];
      const sleeper = createTask(async () => {
        await sleep(10);
        order.push('sleep');
      });
      await sleep(0); // the sleeper has armed its timer
      loop.callLater(10, () => {
        order.push('cb');
        loop.callSoon(() => order.push('cb2'));
      });
      // Both deadlines pass before the loop runs again, so they fire in one batch.
      const end = performance.now() + 30;
      while (performance.now() < end) {
        // busy
      }
      await sleeper;
      await sleep(0);
      assert.deepEqual(order, ['cb', 'sleep', 'cb2']);
    });
  });
});
