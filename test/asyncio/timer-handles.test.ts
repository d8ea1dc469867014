/**
 * A timer of CPython's loop is a handle: when it is due it runs as a callback of that iteration,
 * and the task it wakes resumes in the next one, behind the other callbacks due with it. These
 * pin that order for the combinators' timeouts (sleep's is in sleep.test.ts, timeout()'s in
 * timeout.test.ts). The expected traces were printed by /usr/bin/python3 (CPython 3.11).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  asCompleted,
  createTask,
  Event,
  getRunningLoop,
  run,
  sleep,
  TimeoutError,
  wait,
} from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

/**
 * Runs `body` in a task whose timer (10 ms) is armed before a `callLater(10)`, then keeps the
 * loop busy until both are due, so that they fire in one batch; returns the trace.
 */
async function traceAgainstCallLater(body: () => Promise<void>): Promise<string[]> {
  const order: string[] = [];
  await run(async () => {
    const loop = getRunningLoop();
    const t = createTask(async () => {
      await body();
      order.push('woken');
    });
    await sleep(0); // t has armed its timer
    loop.callLater(10, () => order.push('cb'));
    const end = performance.now() + 30;
    while (performance.now() < end) {
      // busy
    }
    await t;
  });
  return order;
}

describe("the combinators' timeouts wake their task as CPython's handles do", () => {
  test('wait({ timeout }): a callLater due with it runs first', async () => {
    // asyncio.wait([t], timeout=0.01) then call_later(0.01, ...): ['cb', 'woken'].
    const order = await traceAgainstCallLater(async () => {
      const never = createTask(() => new Event().wait());
      const { pending } = await wait([never], { timeout: 10 });
      assert.equal(pending.size, 1);
      never.cancel();
    });
    assert.deepEqual(order, ['cb', 'woken']);
  });

  test('asCompleted({ timeout }): a callLater due with it runs first', async () => {
    // for f in asyncio.as_completed([t], timeout=0.01): await f → TimeoutError after 'cb'.
    const order = await traceAgainstCallLater(async () => {
      const never = createTask(() => new Event().wait());
      await assert.rejects(async () => {
        for (const p of asCompleted([never], { timeout: 10 })) await p;
      }, TimeoutError);
      never.cancel();
    });
    assert.deepEqual(order, ['cb', 'woken']);
  });
});
