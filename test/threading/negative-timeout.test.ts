/**
 * Negative timeouts, as Python treats them (bug bash t51): `Lock.acquire(timeout=-5)` raises
 * ValueError (a RangeError here) and -1 means "wait for ever"; Semaphore, Event, Condition and
 * join treat a negative timeout as one that has already run out.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Condition, Event, Lock, RLock, Semaphore } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

describe('a negative timeout', () => {
  for (const L of [Lock, RLock]) {
    test(`${L.name}.acquire rejects one other than -1 with a RangeError`, async () => {
      const l = new L();
      await assert.rejects(l.acquire({ timeout: -5 }), RangeError);
      assert.throws(() => l.acquireSync({ timeout: -0.5 }), /non-negative/);
      await assert.rejects(l.acquire({ timeout: -5, blocking: false }), RangeError);
      assert.equal(l.locked(), false);
    });

    test(`${L.name}.acquire with -1 waits for ever, as Python's`, async () => {
      const l = new L();
      assert.equal(await l.acquire({ timeout: -1 }), true);
      l.release();
      assert.equal(l.acquireSync({ timeout: -1 }), true);
      l.release();
    });
  }

  test('is a wait that already ran out for Semaphore, Event and Condition', async () => {
    assert.equal(await new Semaphore(0).acquire({ timeout: -1 }), false);
    assert.equal(new Semaphore(0).acquireSync({ timeout: -1 }), false);
    assert.equal(await new Event().wait({ timeout: -1 }), false);
    const c = new Condition();
    assert.equal(await c.run(() => c.wait({ timeout: -1 })), false);
  });
});
