/**
 * lock.ts numbers the asyncio task that takes a Lock, with a one-entry cache of the
 * last task: an ended task (and its result) must not stay reachable from that cache.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTask, run } from '../../src/asyncio/index.js';
import { Event, Lock } from '../../src/multiprocessing/index.js';
import { collected } from '../support/gc.js';

test('an ended task that took a Lock is collected, its result with it', async () => {
  const lock = new Lock();
  // A round trip: this thread's hello is with the broker, so the lock is taken in the slab.
  assert.equal(await new Event().wait({ timeout: 0 }), false);
  let taskRef: WeakRef<object> | null = null;
  let resultRef: WeakRef<object> | null = null;
  await run(async () => {
    const t = createTask(async () => {
      await lock.acquire();
      lock.release();
      const big = new Uint8Array(16 << 20);
      resultRef = new WeakRef(big);
      return big;
    });
    taskRef = new WeakRef(t);
    await t;
  });
  await collected(resultRef as unknown as WeakRef<object>, "the ended task's result");
  await collected(taskRef as unknown as WeakRef<object>, 'the ended task');
});
