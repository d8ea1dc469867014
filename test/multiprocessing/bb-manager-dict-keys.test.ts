/**
 * Manager dict keys against CPython 3.11 (helper-103's bug-bash): a key reaches the manager as a
 * copy, so an array or object key was stored under an identity nothing could name again —
 * `set([1, 2], v)` then `get([1, 2])` found nothing and the entry stayed. Python refuses a list
 * or dict key ("unhashable type"); weft refuses an object or array key with a TypeError.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Manager } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

describe('Manager dict keys (helper-103)', () => {
  test('an array or object key is a TypeError in every method, and nothing is stored', async () => {
    using m = Manager();
    const d = m.dict<unknown, number>();
    const unhashable = { name: 'TypeError', message: /unhashable key/ };
    for (const key of [[1, 2], { a: 1 }, new Date(0), new Map()]) {
      await assert.rejects(d.set(key, 1), unhashable);
      await assert.rejects(d.get(key), unhashable);
      await assert.rejects(d.has(key), unhashable);
      await assert.rejects(d.delete(key), unhashable);
      await assert.rejects(d.pop(key, 0), unhashable);
      await assert.rejects(d.setDefault(key, 1), unhashable);
      await assert.rejects(d.add(key, 1), unhashable);
      await assert.rejects(d.update([[key, 1]]), unhashable);
    }
    assert.throws(() => m.dict([[[1, 2], 1]]), unhashable);
    assert.equal(await d.size(), 0);
    // Primitive keys are found again by value, as Python's hashable ones.
    await d.set('k', 1);
    await d.set(2, 2);
    await d.set(3n, 3);
    await d.set(null, 4);
    assert.deepEqual(
      [await d.get('k'), await d.get(2), await d.get(3n), await d.get(null)],
      [1, 2, 3, 4],
    );
    assert.equal(await d.size(), 4);
  });
});
