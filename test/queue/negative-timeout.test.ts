/**
 * Python's queue raises ValueError "'timeout' must be a non-negative number" for a blocking
 * get/put with a negative timeout, and ignores the timeout when not blocking (bug bash t51).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Empty, Full, Queue } from '../../src/queue/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

test('a blocking get or put with a negative timeout is a RangeError and changes nothing', async () => {
  const q = new Queue<number>(1);
  await assert.rejects(q.get({ timeout: -1 }), RangeError);
  assert.throws(() => q.getSync({ timeout: -1 }), /non-negative/);
  await assert.rejects(q.put(1, { timeout: -1 }), RangeError);
  assert.throws(() => q.putSync(1, { timeout: -1 }), RangeError);
  assert.equal(q.qsize(), 0);
});

test('a non-blocking get or put ignores a negative timeout, as Python does', async () => {
  const q = new Queue<number>(1);
  await assert.rejects(q.get({ block: false, timeout: -1 }), Empty);
  await q.put(1, { block: false, timeout: -1 });
  await assert.rejects(q.put(2, { block: false, timeout: -1 }), Full);
  assert.equal(await q.get(), 1);
});
