/**
 * Condition regressions from the bug bash:
 * - t35/t36: a waiter whose thread ended with its wait pending stayed counted, so a notify given
 *   with nobody alive waiting was stored and woke a later wait at once.
 * - t30/t31: the thread holding the condition's lock notified and ended; wait() threw
 *   OwnerDiedError without the lock, so `run` failed to release with "it is not held".
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Condition,
  Event,
  Lock,
  OwnerDiedError,
  RLock,
  setExcepthook,
  Thread,
} from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { condWaitThenEnd, notifyAndEnd } from './fixtures/tasks.js';

checkLeaks();

/** Far above a thread's start and end; reached only when something is missing. */
const PATIENCE = 15_000;

describe('Condition: a waiter whose thread ended', () => {
  for (const how of ['return', 'exit'] as const) {
    test(`(${how}) is not woken by a later notify, and a later wait times out (bug bash t35/t36)`, async () => {
      const cond = new Condition();
      const ready = new Event();
      const t = new Thread({ target: condWaitThenEnd, args: [cond, ready, how] });
      t.start();
      assert.equal(await ready.wait({ timeout: PATIENCE }), true);
      await t.join();
      await cond.run(() => cond.notify());
      // Nobody notifies from now on: the wait can only time out.
      const r = await cond.run(() => cond.wait({ timeout: 50 }));
      assert.equal(r, false);
      assert.equal(cond.lock.locked(), false);
    });
  }
});

describe('Condition: the lock holder ends after notifying', () => {
  const quiet = () => setExcepthook(() => {});
  for (const how of ['return', 'throw', 'exit'] as const) {
    for (const L of [RLock, Lock]) {
      test(`(${how}, ${L.name}) wait throws OwnerDiedError with the lock held again (bug bash t30/t31)`, async () => {
        const prev = quiet();
        try {
          const c = new Condition(new L());
          let t: Thread | null = null;
          await assert.rejects(
            c.run(async () => {
              t = new Thread({ target: notifyAndEnd, args: [c, how] });
              t.start();
              await c.wait({ timeout: PATIENCE });
              assert.fail('wait returned');
            }),
            (e: unknown) => e instanceof OwnerDiedError,
          );
          // run released the lock the wait took back.
          assert.equal(c.lock.locked(), false);
          await (t as Thread | null)?.join();
          assert.equal(await c.acquire({ timeout: PATIENCE }), true);
          c.release();
        } finally {
          setExcepthook(prev);
        }
      });
    }
  }

  test('waitSync also comes back holding the lock', async () => {
    const prev = setExcepthook(() => {});
    try {
      const c = new Condition();
      c.acquireSync();
      const t = new Thread({ target: notifyAndEnd, args: [c, 'return'] });
      t.start();
      assert.throws(() => c.waitSync({ timeout: PATIENCE }), OwnerDiedError);
      assert.equal((c.lock as RLock).isOwned(), true);
      c.release();
      assert.equal(c.lock.locked(), false);
      await t.join();
    } finally {
      setExcepthook(prev);
    }
  });
});
