/**
 * Condition regressions from the bug bash:
 * - t35/t36: a waiter whose thread ended with its wait pending stayed counted, so a notify given
 *   with nobody alive waiting was stored and woke a later wait at once.
 * - t30/t31: the thread holding the condition's lock notified and ended; wait() threw
 *   OwnerDiedError without the lock, so `run` failed to release with "it is not held".
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createTask, run } from '../../src/asyncio/index.js';
import { Queue } from '../../src/queue/index.js';
import {
  Condition,
  Event,
  Lock,
  OwnerDiedError,
  RLock,
  setExcepthook,
  Thread,
  Value,
} from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { until } from '../support/until.js';
import {
  condWaitThenEnd,
  notifyAndEnd,
  setFlagAndNotifyAll,
  waitConditionFor,
} from './fixtures/tasks.js';

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
      // A Lock whose holder returned normally is not "dead": it stays held (see below).
      if (how === 'return' && L === Lock) continue;
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

  test('(return, Lock) the Lock stays held, as in Python, and the wait goes on once another thread releases it (bug bash l2)', async () => {
    const c = new Condition(new Lock());
    let t: Thread | null = null;
    const inWait = c.run(async () => {
      t = new Thread({ target: notifyAndEnd, args: [c, 'return'] });
      t.start();
      return c.wait({ timeout: PATIENCE });
    });
    await until(() => (t as Thread | null)?.ident != null, 'the notifier to start');
    await (t as Thread | null)?.join();
    // Notified, and waiting to take back the lock the notifier left held.
    assert.equal(c.lock.locked(), true);
    // Any thread may release a Lock (this one, from other code than the wait).
    c.lock.release();
    assert.equal(await inWait, true);
    assert.equal(c.lock.locked(), false);
  });

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

describe('Condition.notify(n) takes a count (bug bash c4)', () => {
  test('a fraction, a negative count or NaN is a RangeError, a non-number a TypeError; the waiters stay counted', async () => {
    const c = new Condition(new Lock());
    // Two waiters of this thread (a Lock lets one task in at a time).
    const waits = [0, 1].map(() => c.run(() => c.wait({ timeout: PATIENCE })));
    await until(() => String(c).endsWith(', 2)>'), 'two waiters');
    await c.run(() => {
      for (const n of [0.5, 1.5, -1, Number.NaN]) assert.throws(() => c.notify(n), RangeError);
      assert.throws(() => c.notify('1' as never), TypeError);
      c.notify(0);
    });
    assert.equal(String(c).endsWith(', 2)>'), true, String(c));
    await c.run(() => c.notify(1));
    await until(() => String(c).endsWith(', 1)>'), 'one waiter left');
    await c.run(() => c.notifyAll());
    assert.deepEqual(await Promise.all(waits), [true, true]);
    assert.equal(c.lock.locked(), false);
  });

  test('a timed-out waiter whose grant never comes gives up instead of spinning for ever', async () => {
    const c = new Condition(new Lock());
    const out = new Queue<string>();
    const t = new Thread({ target: waitConditionFor, args: [c, out, 2000] });
    t.start();
    await until(() => String(c).endsWith(', 1)>'), 'the waiter');
    // As if a notifier took the waiter's unit and never added its token (killed between them).
    Atomics.store(c._a, 2, 0);
    assert.equal(await out.get({ timeout: PATIENCE }), 'woken:false');
    await t.join();
    assert.equal(c.lock.locked(), false);
  });
});

describe('Condition (default RLock) waited on by two asyncio tasks of one thread (bug bash c3)', () => {
  test('a worker notifyAll lets both finish, one at a time, and the lock ends free', async () => {
    await run(async () => {
      const cond = new Condition();
      const flag = Value('i', 0);
      let inside = 0;
      let most = 0;
      const consumer = (i: number) =>
        cond.run(async () => {
          while (!flag.value) await cond.wait({ timeout: PATIENCE });
          inside++;
          most = Math.max(most, inside);
          // Work while holding the lock: the other consumer must not be inside meanwhile.
          await new Promise((r) => setImmediate(r));
          inside--;
          return i;
        });
      const cs = [createTask(() => consumer(0)), createTask(() => consumer(1))];
      await until(() => String(cond).endsWith(', 2)>'), 'both consumers waiting');
      const t = new Thread({ target: setFlagAndNotifyAll, args: [cond, flag] });
      t.start();
      await t.join();
      assert.deepEqual(await Promise.all(cs), [0, 1]);
      assert.equal(most, 1);
      assert.equal(cond.lock.locked(), false);
    });
  });
});
