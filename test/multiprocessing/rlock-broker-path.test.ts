/**
 * An RLock served by the broker alone (no slot in the lock slab: the slab full, no addon, or
 * WEFT_LOCK_SLAB=0), shared by two tasks of one thread around a Condition wait: the wait takes
 * down every hold the thread has at the broker, including one granted to the other task just
 * before it that the thread had not counted yet when the wait began (helper-79's review).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newSlot } from '../../src/internal/process/lock-slab.js';
import { Condition, Event, RLock } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

test("an RLock is free after every task's release when another task's grant crossed a Condition wait", async () => {
  await new Event().wait({ timeout: 0 });
  // As after 65,532 Locks and Values: the next lock has no slot (a no-op without the slab).
  while (newSlot() >= 0);
  const r = new RLock();
  const cond = new Condition(r);
  await r.acquire(); // task A
  // Task B re-enters: its acquire goes out just before A's wait, and its grant comes back after.
  const b = r
    .run(async () => {})
    .then(
      () => 'released',
      (e: Error) => e.message,
    );
  assert.equal(await cond.wait({ timeout: 100 }), false);
  const bSaw = await b;
  r.release(); // A's hold
  assert.ok(
    bSaw === 'released' || /not held/.test(bSaw),
    `B's release either counted or was refused: ${bSaw}`,
  );
  assert.equal(r.locked(), false, 'nobody holds it once every task let go');
  assert.throws(() => r.release(), /not held/);
});
