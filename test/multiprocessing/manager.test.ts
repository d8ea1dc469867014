/**
 * Manager proxies (dict, list, Namespace) raise what Python's raise where Python's raise: the
 * broker answers a bad index, a missing key or name with the error, instead of undefined or a
 * corrupted object. Sharing with a child is covered in shared.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WeftError } from '../../src/internal/errors.js';
import { AttributeError, IndexError, KeyError, Manager } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

/** Asserts that `p` rejects with an instance of the exported `cls`, its code, and `message`. */
async function rejectsWith(
  p: Promise<unknown>,
  cls: typeof IndexError | typeof KeyError | typeof AttributeError,
  code: string,
  message: RegExp,
): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof cls, `expected ${cls.kind}, got ${String(e)}`);
    assert.ok(e instanceof Error);
    assert.equal(e.name, cls.kind);
    assert.equal(e.code, code);
    assert.match(e.message, message);
    return true;
  });
}

describe('Manager list', () => {
  test('get beyond the end raises IndexError naming the index and the length', async () => {
    using m = Manager();
    const l = m.list(['a', 'b', 'c']);
    await rejectsWith(l.get(10), IndexError, 'ERR_WEFT_INDEX', /out of range.*10.*length 3/);
    await rejectsWith(l.get(3), IndexError, 'ERR_WEFT_INDEX', /out of range/);
    await rejectsWith(m.list().get(0), IndexError, 'ERR_WEFT_INDEX', /length 0/);
  });

  test('the IndexError a list raises is a RangeError and a WeftError too, as the Array one', async () => {
    using m = Manager();
    const e = await m
      .list([1])
      .get(1)
      .catch((err: unknown) => err);
    assert.ok(e instanceof IndexError);
    assert.ok(e instanceof RangeError);
    assert.ok(e instanceof WeftError);
    assert.ok(!(new RangeError('x') instanceof IndexError));
    assert.ok(!(new WeftError('x') instanceof IndexError));
  });

  test('get with a negative index counts from the end, as Python', async () => {
    using m = Manager();
    const l = m.list(['a', 'b', 'c']);
    assert.equal(await l.get(-1), 'c');
    assert.equal(await l.get(-3), 'a');
    await rejectsWith(l.get(-4), IndexError, 'ERR_WEFT_INDEX', /-4.*length 3/);
  });

  test('set beyond the end raises IndexError and leaves the list as it was', async () => {
    using m = Manager();
    const l = m.list(['a', 'b', 'c']);
    await rejectsWith(l.set(6, 'x'), IndexError, 'ERR_WEFT_INDEX', /assignment.*6.*length 3/);
    await rejectsWith(l.set(3, 'x'), IndexError, 'ERR_WEFT_INDEX', /assignment/);
    await rejectsWith(l.set(-4, 'x'), IndexError, 'ERR_WEFT_INDEX', /assignment/);
    assert.deepEqual(await l.toArray(), ['a', 'b', 'c']);
    assert.equal(await l.length(), 3);
    await l.set(-1, 'z');
    assert.deepEqual(await l.toArray(), ['a', 'b', 'z']);
  });

  test('get or set with a non-integer index raises TypeError and adds nothing', async () => {
    using m = Manager();
    const l = m.list(['a', 'b', 'c']);
    await assert.rejects(l.set(1.5, 'y'), (e: unknown) => {
      assert.ok(e instanceof TypeError);
      assert.match(e.message, /integer.*1\.5/);
      return true;
    });
    await assert.rejects(l.get(1.5), TypeError);
    await assert.rejects(l.get('1' as unknown as number), TypeError);
    await assert.rejects(l.set(Number.NaN, 'y'), TypeError);
    const after = await l.toArray();
    assert.deepEqual(after, ['a', 'b', 'c']);
    assert.deepEqual(Object.keys(after), ['0', '1', '2']);
  });

  test("slice and setSlice are Python's l[i:j] and l[i:j] = items: clamped bounds, and a list that grows or shrinks", async () => {
    using m = Manager();
    const l = m.list<unknown>([1, 2, 3, 4]);
    // Python: l[1:3], l[-1:] → [2, 3] [4]; l[1:3] = ['a','b','c'] → [1,'a','b','c',4]; l[0:0] = [0]
    assert.deepEqual(await l.slice(1, 3), [2, 3]);
    assert.deepEqual(await l.slice(-1), [4]);
    assert.deepEqual(await l.slice(5, 9), []);
    await l.setSlice(1, 3, ['a', 'b', 'c']);
    assert.deepEqual(await l.toArray(), [1, 'a', 'b', 'c', 4]);
    await l.setSlice(0, 0, [0]);
    assert.deepEqual(await l.toArray(), [0, 1, 'a', 'b', 'c', 4]);
    await l.setSlice(-3, null, []);
    assert.deepEqual(await l.toArray(), [0, 1, 'a']);
    await assert.rejects(l.slice(0.5), TypeError);
    await assert.rejects(l.setSlice(0, 1, 5 as unknown as number[]), TypeError);
    assert.deepEqual(await l.toArray(), [0, 1, 'a']);
  });

  test('pop on an empty list raises IndexError', async () => {
    using m = Manager();
    await rejectsWith(m.list().pop(), IndexError, 'ERR_WEFT_INDEX', /pop from empty list/);
    const l = m.list([1, 2]);
    assert.equal(await l.pop(), 2);
    assert.equal(await l.pop(), 1);
    await rejectsWith(l.pop(), IndexError, 'ERR_WEFT_INDEX', /empty/);
  });
});

describe('Manager dict', () => {
  test('add on a missing key raises KeyError naming it, and stores nothing', async () => {
    using m = Manager();
    const d = m.dict<string, unknown>({ s: 'str' });
    await rejectsWith(d.add('missing', 2), KeyError, 'ERR_WEFT_KEY', /"missing".*size 1/);
    assert.equal(await d.has('missing'), false);
    assert.equal(await d.size(), 1);
  });

  test('add to a value that is not a number raises TypeError and leaves it', async () => {
    using m = Manager();
    const d = m.dict<string, unknown>({ s: 'str', n: 1 });
    await assert.rejects(d.add('s', 1), (e: unknown) => {
      assert.ok(e instanceof TypeError);
      assert.match(e.message, /"s".*not a number.*"str"/);
      return true;
    });
    assert.equal(await d.get('s'), 'str');
    await assert.rejects(d.add('n', '1' as unknown as number), TypeError);
    assert.equal(await d.get('n'), 1);
    assert.equal(await d.add('n', 41), 42);
  });

  test('get is one operation: a delete sent after it cannot make it miss', async () => {
    using m = Manager();
    const d = m.dict<string, number>({ k: 1 });
    const [got, deleted] = await Promise.all([d.get('k', -1), d.delete('k')]);
    assert.equal(got, 1);
    assert.equal(deleted, true);
    assert.equal(await d.get('k', -1), -1);
  });
});

describe('Manager Namespace', () => {
  test('get of a name never set raises AttributeError naming it', async () => {
    using m = Manager();
    const ns = m.Namespace({ x: 1 });
    await rejectsWith(ns.get('nope'), AttributeError, 'ERR_WEFT_ATTRIBUTE', /"nope".*x/);
    // Names of Object.prototype are not attributes of a Namespace either.
    await rejectsWith(ns.get('toString'), AttributeError, 'ERR_WEFT_ATTRIBUTE', /"toString"/);
    assert.equal(await ns.get('x'), 1);
    await ns.set('nope', undefined);
    assert.equal(await ns.get('nope'), undefined);
  });
});

describe('Manager values stored as bytes', () => {
  test('objects compare by value in the broker, whatever the order of their keys', async () => {
    using m = Manager();
    const l = m.list<unknown>([{ a: 1, b: [2, 3] }, 'x', { b: [2, 3], a: 1 }]);
    assert.equal(await l.index({ b: [2, 3], a: 1 }), 0);
    assert.equal(await l.count({ a: 1, b: [2, 3] }), 2);
    await l.remove({ b: [2, 3], a: 1 });
    assert.deepEqual(await l.toArray(), ['x', { b: [2, 3], a: 1 }]);
    // The errors describe the value, not its bytes (a string).
    await assert.rejects(l.index({ z: 9 }), /^RangeError: an object is not in list$/);
    const d = m.dict<string, unknown>({ o: { n: 1 } });
    await assert.rejects(d.add('o', 1), /it is not a number: received an object$/);
  });

  test("-0 equals 0 and NaN equals nothing at any depth, as Python's == (and its Manager's list)", async () => {
    using m = Manager();
    const l = m.list<unknown>([
      'x',
      -0,
      [-0],
      { a: [-0], b: 1 },
      new Float64Array([1, -0]),
      new Map([['k', -0]]),
      Number.NaN,
      [Number.NaN],
    ]);
    assert.equal(await l.index(0), 1);
    assert.equal(await l.index([0]), 2);
    assert.equal(await l.index({ b: 1, a: [0] }), 3);
    assert.equal(await l.index(new Float64Array([1, 0])), 4);
    assert.equal(await l.index(new Map([['k', 0]])), 5);
    assert.equal(await l.count([0]), 1);
    // Python: `l.index(float('nan'))` of a Manager list raises, its items being copies.
    await assert.rejects(l.index(Number.NaN), /^RangeError: NaN is not in list$/);
    await assert.rejects(
      l.index([Number.NaN]),
      /^RangeError: an array of length 1 is not in list$/,
    );
    assert.equal(await l.count(Number.NaN), 0);
    assert.equal(await l.count([Number.NaN]), 0);
    await l.remove({ a: [0], b: 1 });
    assert.equal(await l.length(), 7);
    // Still typed: an array of numbers is not a Float64Array of the same numbers.
    assert.equal(await l.count([1, 0]), 0);
    // A Set's NaN member and a Map's NaN key equal nothing either (Python: `{nan} in l` and
    // `{nan: 1} in l` are False for a Manager list holding them).
    const nans = m.list<unknown>([
      new Set([Number.NaN]),
      new Map([[Number.NaN, 1]]),
      new Set([1, 'a']),
    ]);
    assert.equal(await nans.count(new Set([Number.NaN])), 0);
    assert.equal(await nans.count(new Map([[Number.NaN, 1]])), 0);
    assert.equal(await nans.index(new Set(['a', 1])), 2);
  });

  test('a string starting with U+00FF, a value past 64 KiB and a nested Queue come back as stored', async () => {
    using m = Manager();
    const d = m.dict<string, unknown>();
    const big = { bytes: new Uint8Array(100_000).fill(7), s: 'y'.repeat(70_000) };
    const q = m.Queue<string>();
    try {
      await d.set('ff', '\u00ffabc');
      await d.set('big', big);
      await d.set('q', { q });
      await d.update({ ff2: '\u00ff', n: 5 });
      assert.equal(await d.get('ff'), '\u00ffabc');
      assert.deepEqual(await d.get('big'), big);
      const all = await d.toMap();
      assert.deepEqual([...all.keys()], ['ff', 'big', 'q', 'ff2', 'n']);
      assert.deepEqual(
        [all.get('ff'), all.get('big'), all.get('ff2'), all.get('n')],
        ['\u00ffabc', big, '\u00ff', 5],
      );
      const got = all.get('q') as { q: typeof q };
      await got.q.put('through the copy');
      assert.equal(await q.get({ timeout: 60_000 }), 'through the copy');
      const l = m.list<unknown>(['\u00ff', big]);
      assert.deepEqual(await l.slice(), ['\u00ff', big]);
      assert.deepEqual(await l.pop(), big);
      const kinds = { m: new Map([[1, new Set([2n])]]), d: new Date(0), e: new RangeError('no') };
      await d.set('kinds', kinds);
      const back = (await d.get('kinds')) as typeof kinds;
      assert.deepEqual(back.m, kinds.m);
      assert.equal(back.d.getTime(), 0);
      assert.ok(back.e instanceof RangeError);
      assert.equal(back.e.message, 'no');
      const ns = m.Namespace({ o: { deep: [1, { two: 2 }] } });
      assert.deepEqual(await ns.get('o'), { deep: [1, { two: 2 }] });
      assert.deepEqual(await ns.toObject(), { o: { deep: [1, { two: 2 }] } });
    } finally {
      q.close();
    }
  });
});
