/**
 * Condition regressions from bug bash 5:
 * - waitForSync ignored its `signal`: an already-aborted one did not end the wait (waitSync and
 *   the async waitFor throw its reason), so the wait ran to its timeout, or for ever.
 * - an asyncio task that did not hold the condition's lock could wait on it while another task
 *   of the same thread held it: the wait released the other task's hold, whose own release then
 *   failed with "it is not held". Python: RuntimeError for a caller that does not hold the lock.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { run as asyncioRun, createTask } from '../../src/asyncio/index.js';
import { Condition, Lock, RLock, RuntimeError } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

describe('Condition.waitForSync and its signal', () => {
  for (const L of [RLock, Lock]) {
    test(`(${L.name}) an already-aborted signal throws its reason, with the lock held again`, () => {
      const cond = new Condition(new L());
      const ac = new AbortController();
      const reason = new Error('stop');
      ac.abort(reason);
      cond.acquireSync();
      let calls = 0;
      // Without the signal the wait would end false when the timeout runs out.
      assert.throws(
        () =>
          cond.waitForSync(
            () => {
              calls++;
              return false;
            },
            { signal: ac.signal, timeout: 3000 },
          ),
        (err) => err === reason,
      );
      // Checked once before any wait, as Python's wait_for does.
      assert.equal(calls, 1);
      assert.equal(cond.lock._core.isOwned(), true);
      cond.release();
      assert.equal(cond.lock.locked(), false);
    });
  }

  test('a predicate already true returns its value, as the async waitFor does', () => {
    const cond = new Condition();
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    cond.acquireSync();
    assert.equal(
      cond.waitForSync(() => 7, { signal: ac.signal }),
      7,
    );
    cond.release();
  });
});

describe('Condition: a task that does not hold the lock, in the thread of the task that does', () => {
  for (const L of [RLock, Lock]) {
    test(`(${L.name}) wait and waitSync are RuntimeErrors, and the holding task keeps the lock`, async () => {
      const cond = new Condition(new L());
      const seen: string[] = [];
      await asyncioRun(async () => {
        let letGo!: () => void;
        const gate = new Promise<void>((res) => {
          letGo = res;
        });
        const holder = createTask(async () => {
          await cond.acquire();
          seen.push('holder in');
          await gate;
          // Still ours: nobody else released it.
          seen.push(`holder owns: ${cond.lock._core.isOwned()}`);
          cond.release();
          seen.push('holder out');
        });
        const other = createTask(async () => {
          while (!cond.lock.locked()) await new Promise((r) => setTimeout(r, 1));
          try {
            await cond.wait({ timeout: 100 });
            seen.push('other waited');
            cond.release();
          } catch (err) {
            assert.ok(err instanceof RuntimeError);
            assert.equal((err as RuntimeError).code, 'ERR_WEFT_LOCK_NOT_HELD');
            seen.push('other wait: RuntimeError');
          }
          try {
            cond.waitSync({ timeout: 100 });
            seen.push('other waited (sync)');
            cond.release();
          } catch (err) {
            assert.ok(err instanceof RuntimeError);
            seen.push('other waitSync: RuntimeError');
          }
          // notify changes no hold: a per-thread check, as in Python.
          cond.notify();
          seen.push('other notified');
          letGo();
        });
        await Promise.all([holder, other]);
      });
      assert.deepEqual(seen, [
        'holder in',
        'other wait: RuntimeError',
        'other waitSync: RuntimeError',
        'other notified',
        'holder owns: true',
        'holder out',
      ]);
      assert.equal(cond.lock.locked(), false);
    });
  }

  test('the holding task itself waits and notifies; blocking code outside tasks still works', async () => {
    const cond = new Condition();
    await asyncioRun(async () => {
      const t = createTask(async () => {
        await cond.acquire();
        const r = await cond.wait({ timeout: 10 });
        cond.notify();
        cond.release();
        return r;
      });
      assert.equal(await t, false);
    });
    cond.acquireSync();
    assert.equal(cond.waitSync({ timeout: 10 }), false);
    cond.notifyAll();
    cond.release();
    assert.equal(cond.lock.locked(), false);
  });
});

describe('Condition.waitFor with a timeout that has run out (Python wait_for)', () => {
  test('without the lock, a false predicate is a RuntimeError, sync and async', async () => {
    const cond = new Condition();
    for (const timeout of [0, -5]) {
      assert.throws(() => cond.waitForSync(() => 0, { timeout }), RuntimeError);
      await assert.rejects(
        cond.waitFor(() => 0, { timeout }),
        RuntimeError,
      );
    }
    // A true predicate needs no wait: its value, as in Python.
    assert.equal(
      cond.waitForSync(() => 5, { timeout: 0 }),
      5,
    );
    assert.equal(await cond.waitFor(() => 5, { timeout: 0 }), 5);
  });

  test('with the lock, it waits once and checks the predicate again, then returns its value', async () => {
    for (const L of [RLock, Lock]) {
      const cond = new Condition(new L());
      let calls = 0;
      const pred = () => {
        calls++;
        return calls >= 2 ? 'second' : '';
      };
      cond.acquireSync();
      assert.equal(cond.waitForSync(pred, { timeout: 0 }), 'second');
      assert.equal(calls, 2);
      calls = 0;
      assert.equal(await cond.waitFor(pred, { timeout: 0 }), 'second');
      assert.equal(calls, 2);
      calls = -10;
      assert.equal(
        cond.waitForSync(
          () => {
            calls++;
            return 0;
          },
          { timeout: -1 },
        ),
        0,
      );
      assert.equal(calls, -8);
      assert.equal(cond.lock._core.isOwned(), true);
      cond.release();
      assert.equal(cond.lock.locked(), false);
    }
  });
});
