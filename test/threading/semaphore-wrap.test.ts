/**
 * A Semaphore's value is an Int32 word. The constructor refuses 2^31 and more, but release(n)
 * added without a check: past 2^31 − 1 the value wrapped negative, and from then on every
 * acquire found "no permit" and parked (or timed out) with 2^31 permits given. Now such a release
 * throws RangeError and changes nothing, as an over-release of a BoundedSemaphore does.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Semaphore } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

test('a release past 2^31 - 1 throws and leaves the permits usable', () => {
  const s = new Semaphore(0x7fffffff - 1);
  s.release();
  assert.throws(() => s.release(), RangeError);
  assert.throws(() => s.release(2 ** 40), RangeError);
  assert.equal(s.value, 0x7fffffff);
  assert.equal(s.acquireSync({ timeout: 1_000 }), true);
  assert.equal(s.value, 0x7fffffff - 1);
});
