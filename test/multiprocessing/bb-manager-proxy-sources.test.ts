/**
 * A Manager dict or list made from (or extended by) another proxy, or by something that is not
 * a mapping. Python's `m.dict(other_proxy)`, `d.update(other_proxy)` and `l.extend(other_proxy)`
 * copy the other container's items; weft's dict took a proxy's handle fields (`_id`, `_params`)
 * as its items, a Promise (a `toMap()` not awaited) or a Date as an empty dict, and `extend` /
 * `setSlice` refused a ListProxy.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Manager } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

describe('Manager dict from another proxy or a non-mapping', () => {
  test('update(otherDictProxy) copies its items, not its handle', async () => {
    using m = Manager();
    const src = m.dict<string, unknown>({ a: 1, b: [2, 3] });
    const dst = m.dict<string, unknown>({ b: 'old', z: 0 });
    await dst.update(src);
    assert.deepEqual(
      await dst.toMap(),
      new Map<string, unknown>([
        ['b', [2, 3]],
        ['z', 0],
        ['a', 1],
      ]),
    );
    // The source is untouched.
    assert.deepEqual(await src.keys(), ['a', 'b']);
  });

  test('Manager.dict(proxy) is a TypeError saying to pass await other.toMap(), and makes nothing', async () => {
    using m = Manager();
    const src = m.dict({ a: 1 });
    assert.throws(
      () => m.dict(src as never),
      (e: unknown) =>
        e instanceof TypeError && /DictProxy/.test(e.message) && /toMap\(\)/.test(e.message),
    );
    // What the message says works.
    assert.deepEqual(await m.dict(await src.toMap()).toMap(), new Map([['a', 1]]));
  });

  test('a Promise, a Date or a class instance is refused, not an empty or odd dict', async () => {
    using m = Manager();
    const src = m.dict({ a: 1 });
    const pending = src.toMap();
    assert.throws(() => m.dict(pending as never), /Promise.*await it first/);
    await pending;
    assert.throws(() => m.dict(new Date(0) as never), /Date/);
    class Point {
      x = 1;
    }
    assert.throws(() => m.dict(new Point() as never), TypeError);
    const d = m.dict<string, number>({ keep: 1 });
    await assert.rejects(d.update(src.toMap() as never), /DictProxy\.update.*Promise/);
    await assert.rejects(d.update(new Date(0) as never), TypeError);
    // Nothing was set by the refused updates.
    assert.deepEqual(await d.toMap(), new Map([['keep', 1]]));
    // A plain object, one without a prototype, pairs and a Map still work.
    const bare = Object.assign(Object.create(null) as Record<string, number>, { n: 2 });
    assert.deepEqual(await m.dict(bare).toMap(), new Map([['n', 2]]));
    await d.update([['p', 3]]);
    await d.update(new Map([['q', 4]]));
    assert.deepEqual(await d.keys(), ['keep', 'p', 'q']);
  });

  test("update's errors name DictProxy.update, not Manager.dict", async () => {
    using m = Manager();
    const d = m.dict();
    await assert.rejects(d.update([[1]] as never), /^RangeError: DictProxy\.update: element #0/);
    await assert.rejects(d.update([1] as never), /^TypeError: DictProxy\.update: element #0/);
  });
});

describe('Manager list extended from another proxy', () => {
  test('extend(otherListProxy) appends its items; extend(itself) doubles it, as Python', async () => {
    using m = Manager();
    const src = m.list([1, { two: 2 }]);
    const dst = m.list<unknown>(['x']);
    assert.equal(await dst.extend(src), 3);
    assert.deepEqual(await dst.toArray(), ['x', 1, { two: 2 }]);
    assert.equal(await src.extend(src), 4);
    assert.deepEqual(await src.toArray(), [1, { two: 2 }, 1, { two: 2 }]);
  });

  test('setSlice(…, otherListProxy) replaces the slice with its items', async () => {
    using m = Manager();
    const src = m.list(['a', 'b']);
    const dst = m.list<string>(['0', '1', '2']);
    await dst.setSlice(1, 2, src);
    assert.deepEqual(await dst.toArray(), ['0', 'a', 'b', '2']);
  });

  test('extend and setSlice of an array go out in the call, before the calls made after it', async () => {
    // Requests are sent when a method is called: Promise.all of several keeps their order, as
    // Python's calls one after another. Reading the source behind an await moved extend and
    // setSlice after the calls that followed them.
    using m = Manager();
    const l = m.list<number>();
    await Promise.all([l.extend([1, 2]), l.append(3)]);
    assert.deepEqual(await l.toArray(), [1, 2, 3]);
    await Promise.all([l.setSlice(0, 1, [9]), l.append(4)]);
    assert.deepEqual(await l.toArray(), [9, 2, 3, 4]);
    const d = m.dict<string, number>();
    await Promise.all([d.update({ k: 1 }), d.set('k', 2)]);
    assert.equal(await d.get('k'), 2);
  });

  test('Manager.list(proxy) and a Promise are TypeErrors saying what to pass', async () => {
    using m = Manager();
    const src = m.list([1]);
    assert.throws(() => m.list(src as never), /ListProxy: pass await other\.toArray\(\)/);
    const l = m.list();
    const pending = src.toArray();
    await assert.rejects(l.extend(pending as never), /Promise: await it first/);
    await pending;
    await assert.rejects(l.extend(5 as never), /ListProxy\.extend expects an iterable/);
    assert.equal(await l.length(), 0);
  });
});
