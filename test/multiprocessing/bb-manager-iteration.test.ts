/**
 * Python's `for k in d`, `for x in l` and `x in l` on Manager proxies. A DictProxy or ListProxy
 * was not iterable at all (`for await (const k of d)` threw "d is not async iterable"), and a
 * list had no membership test but `count`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Manager } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

describe('Manager proxies iterate as Python', () => {
  test('for await over a DictProxy gives its keys in insertion order', async () => {
    using m = Manager();
    const d = m.dict<string | number, unknown>([
      ['b', 1],
      [2, 'two'],
      ['a', null],
    ]);
    const keys: unknown[] = [];
    for await (const k of d) keys.push(k);
    assert.deepEqual(keys, ['b', 2, 'a']);
  });

  test('the loop goes over the keys it took when it started, whatever changes meanwhile', async () => {
    using m = Manager();
    const d = m.dict<string, number>({ x: 1, y: 2 });
    const seen: string[] = [];
    for await (const k of d) {
      seen.push(k);
      await d.delete('y');
      await d.set('z', 3);
    }
    assert.deepEqual(seen, ['x', 'y']);
    assert.deepEqual(await d.keys(), ['x', 'z']);
  });

  test('for await over a ListProxy gives its items, revived (nested values and proxies)', async () => {
    using m = Manager();
    const inner = m.list([7]);
    const l = m.list<unknown>([1, { two: [2] }, inner]);
    const items: unknown[] = [];
    for await (const x of l) items.push(x);
    assert.equal(items.length, 3);
    assert.deepEqual(items.slice(0, 2), [1, { two: [2] }]);
    const back = items[2] as typeof inner;
    await back.append(8);
    assert.deepEqual(await inner.toArray(), [7, 8]);
    // An empty list: no iteration.
    for await (const _ of m.list()) assert.fail('an empty list gave an item');
  });

  test('includes is Python’s in: by value, NaN in nothing', async () => {
    using m = Manager();
    const l = m.list<unknown>([1, 'a', { k: [1, 2] }, Number.NaN, -0]);
    assert.equal(await l.includes('a'), true);
    assert.equal(await l.includes({ k: [1, 2] }), true);
    assert.equal(await l.includes(0), true);
    assert.equal(await l.includes('b'), false);
    assert.equal(await l.includes({ k: [2, 1] }), false);
    assert.equal(await l.includes(Number.NaN), false);
  });
});
