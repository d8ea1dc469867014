import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CancelledError, createTask, currentTask, run, sleep } from '../../src/asyncio/index.js';
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
