/**
 * multiprocessing.sharedctypes' synchronized() and copy(): a lock around a RawValue or RawArray
 * (the Value or Array over the same memory), and a raw object's copy in memory of its own.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Array as ArrayOf,
  copy,
  Lock,
  Process,
  Queue,
  RawArray,
  RawSharedArray,
  RawSharedValue,
  RawValue,
  RLock,
  SharedArray,
  SharedMemory,
  SharedValue,
  SynchronizedValue,
  synchronized,
  type UnlockedArray,
  type UnlockedValue,
  Value,
} from '../../src/multiprocessing/index.js';
import { Lock as ThreadLock } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { shmExpected, slabExpected } from '../support/slab.js';
import type { Equal, Expect } from '../types/expect.js';
import { bumpSynchronized } from './fixtures/sharedctypes-targets.js';

checkLeaks({ graceMs: 3000 });

const PATIENCE = 30_000;

describe('synchronized', () => {
  test('a RawValue becomes the Value over the same number: writes through either are seen through the other', async () => {
    const raw = RawValue('i', 7);
    const v = synchronized(raw);
    const _t: Expect<Equal<typeof v, SynchronizedValue>> = true;
    assert.ok(v instanceof SynchronizedValue);
    assert.ok(v instanceof SharedValue, 'a Value, as Python’s Value() is synchronized(RawValue())');
    assert.equal(v.typecode, 'i');
    assert.equal(v.value, 7);
    v.value = 9;
    assert.equal(raw.value, 9);
    raw.value = 11;
    assert.equal(v.value, 11);
    assert.equal(await v.add(2), 13);
    assert.equal(await raw.get(), 13);
    v.value = 2 ** 31;
    assert.equal(raw.value, -(2 ** 31), 'the same c_int: it wraps');
    assert.equal(v.getObj(), raw, 'getObj() is the raw object itself, as Python’s get_obj()');
    assert.ok(v.getLock() instanceof RLock, 'a new RLock by default, as Python’s');
    assert.notEqual(synchronized(raw).getLock(), v.getLock(), 'each call makes its own');
    v.getLock().runSync(() => {
      v.value += 1;
    });
    assert.equal(raw.value, -(2 ** 31) + 1);
  });

  test('a RawArray becomes the Array over the same items, its getObj() over them too', async () => {
    const raw = RawArray('d', [1, 2, 3]);
    const a = synchronized(raw);
    const _t: Expect<Equal<typeof a, SharedArray<'d'>>> = true;
    assert.ok(a instanceof SharedArray);
    assert.equal(a.typecode, 'd');
    assert.equal(a.length, 3);
    a.setSync(0, 9);
    assert.deepEqual(raw.toArraySync(), [9, 2, 3]);
    await raw.setSlice(1, 3, [5, 6]);
    assert.deepEqual(await a.toArray(), [9, 5, 6]);
    assert.equal(await a.add(2, 1), 7);
    assert.equal(raw.getSync(2), 7);
    if (slabExpected) {
      const items = a.getObj();
      const _o: Expect<Equal<typeof items, Float64Array>> = true;
      items[1] = 0.5;
      assert.equal(raw.getSync(1), 0.5, 'the typed array is over the raw array’s items');
    }
    assert.ok(a.getLock() instanceof RLock);
  });

  test('the lock given is the one it holds (Lock or RLock); null is a new RLock', () => {
    const lock = new Lock();
    const v = synchronized(RawValue('d', 0.5), lock);
    assert.equal(v.getLock(), lock);
    const rlock = new RLock();
    assert.equal(synchronized(RawArray('b', 2), rlock).getLock(), rlock);
    assert.ok(synchronized(RawValue('b'), null).getLock() instanceof RLock);
    // A Manager's Lock is a Lock of this module too; one lock may guard several objects.
    const shared = synchronized(RawArray('i', 1), lock);
    assert.equal(shared.getLock(), v.getLock());
  });

  test('a Value made with { lock: false } is Python’s raw object: it can be synchronized, and its types say so', () => {
    // The types used to refuse it (it has a getLock, which throws): it took a cast to compile.
    const loose = Value('i', 3, { lock: false });
    const _u: Expect<Equal<typeof loose, UnlockedValue>> = true;
    const v = synchronized(loose);
    const _v: Expect<Equal<typeof v, SynchronizedValue>> = true;
    assert.ok(v.getLock() instanceof RLock);
    v.value = 4;
    assert.equal(loose.value, 4);
    assert.equal(v.getObj(), loose, 'getObj() is the object given, as for a RawValue');
    const looseArray = ArrayOf('i', [1], { lock: false });
    const _ua: Expect<Equal<typeof looseArray, UnlockedArray<'i'>>> = true;
    const a = synchronized(looseArray);
    const _a: Expect<Equal<typeof a, SharedArray<'i'>>> = true;
    a.setSync(0, 8);
    assert.equal(looseArray.getSync(0), 8);
    // Still a Value and an Array, whose getLock() (and the value's getObj()) only throws:
    // what a call gives is typed `never`.
    const lockOf = () => loose.getLock();
    const objOf = () => loose.getObj();
    const arrayLockOf = () => looseArray.getLock();
    const _l: Expect<Equal<ReturnType<typeof lockOf>, never>> = true;
    const _o: Expect<Equal<ReturnType<typeof objOf>, never>> = true;
    const _la: Expect<Equal<ReturnType<typeof arrayLockOf>, never>> = true;
    assert.throws(lockOf, TypeError);
    assert.throws(objOf, TypeError);
    assert.throws(arrayLockOf, TypeError);
    // What the types cannot know to be unlocked is refused as before.
    const maybe: boolean = loose.value > 100;
    // @ts-expect-error a Value whose options say only `boolean` may have a lock
    assert.throws(() => synchronized(Value('i', 0, { lock: !maybe })), TypeError);
  });

  test('already synchronized, not a raw object, or a lock of the wrong kind: TypeError', () => {
    const raw = RawValue('i', 0);
    const lockedValue = Value('i', 0);
    const lockedArray = ArrayOf('i', 2);
    // @ts-expect-error Python's AssertionError "object already synchronized"
    assert.throws(() => synchronized(lockedValue), /has a lock already/);
    // @ts-expect-error a locked Array
    assert.throws(() => synchronized(lockedArray), TypeError);
    // @ts-expect-error what synchronized() gave is locked already
    assert.throws(() => synchronized(synchronized(raw)), TypeError);
    for (const bad of [5, null, undefined, 'i', {}, [1, 2], new Float64Array(2)]) {
      // @ts-expect-error Python's AttributeError (no _fields_): not a raw shared object
      assert.throws(() => synchronized(bad), TypeError, String(bad));
    }
    // Without the shm addon there is no block to make: the types refuse one all the same.
    if (shmExpected) {
      const shm = new SharedMemory({ create: true, size: 8 });
      try {
        // @ts-expect-error a SharedMemory block is not a ctypes object
        assert.throws(() => synchronized(shm), TypeError);
      } finally {
        shm.unlink();
      }
    }
    for (const lock of [5, true, false, 'lock', {}, { acquire() {}, release() {} }]) {
      // @ts-expect-error Python's AttributeError: no acquire (weft takes its own locks only)
      assert.throws(() => synchronized(raw, lock), TypeError, String(lock));
    }
    // A weft/threading Lock lives in one process: it could not guard a shared object.
    // @ts-expect-error
    assert.throws(() => synchronized(raw, new ThreadLock()), TypeError);
    assert.equal(raw.value, 0, 'left as it was');
  });

  test('what it makes crosses to a child as itself: the same number, items and lock', async () => {
    const raw = RawValue('i', 0);
    const v = synchronized(raw);
    const a = synchronized(RawArray('i', [1, 2]));
    const out = new Queue<string>();
    const rounds = 200;
    // Held while the child looks: its try-acquires fail if the locks are these ones.
    v.getLock().acquireSync();
    a.getLock().acquireSync();
    const p = new Process({ target: bumpSynchronized, args: [v, a, rounds, out] });
    p.start();
    try {
      assert.equal(await out.get({ timeout: PATIENCE }), 'true true true false false 1,2');
      v.getLock().release();
      a.getLock().release();
      for (let i = 0; i < rounds; i++)
        await v.getLock().run(() => {
          v.value += 1;
        });
      assert.equal(await out.get({ timeout: PATIENCE }), 'done');
    } finally {
      await p.join({ timeout: PATIENCE });
    }
    assert.equal(p.exitcode, 0);
    assert.equal(raw.value, 2 * rounds + 1000, 'no increment lost: one lock in both processes');
    assert.deepEqual(a.toArraySync(), [42, 2]);
  });
});

describe('copy', () => {
  test('a RawValue’s copy has its type code and number, in memory of its own', async () => {
    const raw = RawValue('h', -5);
    const c = copy(raw);
    const _t: Expect<Equal<typeof c, RawSharedValue>> = true;
    assert.ok(c instanceof RawSharedValue && !(c instanceof SharedValue), 'a raw object');
    assert.notEqual(c, raw);
    assert.equal(c.typecode, 'h');
    assert.equal(c.value, -5);
    c.value = 1;
    assert.equal(raw.value, -5, 'a write to the copy is not seen through the original');
    await raw.set(2);
    assert.equal(c.value, 1, 'nor the reverse');
    c.value = 2 ** 15;
    assert.equal(c.value, -(2 ** 15), 'the copy wraps as its type code does');
    assert.equal(copy(RawValue('d', 0.25)).value, 0.25);
  });

  test('a RawArray’s copy has its type code, length and items, in memory of its own', async () => {
    const raw = RawArray('q', [1, -2, 3]);
    const c = copy(raw);
    const _t: Expect<Equal<typeof c, RawSharedArray<'q'>>> = true;
    assert.ok(c instanceof RawSharedArray && !(c instanceof SharedArray), 'a raw object');
    assert.equal(c.typecode, 'q');
    assert.equal(c.length, 3);
    assert.deepEqual(c.toArraySync(), [1, -2, 3]);
    c.setSync(0, 99);
    assert.deepEqual(raw.toArraySync(), [1, -2, 3]);
    await raw.set(1, 7);
    assert.deepEqual(await c.toArray(), [99, -2, 3]);
    assert.deepEqual(copy(RawArray('f', 0)).toArraySync(), [], 'an empty one');
    assert.equal(copy(RawArray('B', 5000)).length, 5000);
  });

  test('a 64-bit number at the top of its range copies as the largest one a double holds, not wrapped', async () => {
    // Python copies the bytes: copy(RawValue('Q', -1)).value is 2**64 - 1. weft reads such a
    // number as 2^64 (the nearest double), which 'Q' wraps to 0 when it is written back.
    const q = RawValue('Q', -1);
    assert.equal(q.value, 2 ** 64);
    assert.equal(copy(q).value, 2 ** 64 - 2048, 'within one rounding, not 0');
    const s = RawValue('q', -(2 ** 63));
    await s.add(-1); // in shared memory: wraps to 2^63 - 1, read as 2^63
    assert.ok(Math.abs(copy(s).value - s.value) <= 1024, 'within one rounding, not -2^63');
    const a = RawArray('L', [-1, 5, 2 ** 60]);
    assert.deepEqual(copy(a).toArraySync(), [2 ** 64 - 2048, 5, 2 ** 60]);
    assert.equal(copy(RawValue('q', -(2 ** 63))).value, -(2 ** 63), 'the bottom is exact');
  });

  test('the raw object under a synchronized one, and a Value made with { lock: false }, copy', () => {
    const v = synchronized(RawValue('i', 12));
    assert.equal(copy(v.getObj()).value, 12);
    const loose = Value('I', 4, { lock: false });
    const c = copy(loose);
    const _c: Expect<Equal<typeof c, RawSharedValue>> = true;
    assert.ok(!(c instanceof SharedValue));
    assert.equal(c.value, 4);
    const looseArray = ArrayOf('d', [0.5, 1], { lock: false });
    const ca = copy(looseArray);
    const _ca: Expect<Equal<typeof ca, RawSharedArray<'d'>>> = true;
    assert.deepEqual(ca.toArraySync(), [0.5, 1]);
  });

  test('a locked Value or Array, or anything not a raw object: TypeError, as Python’s', () => {
    // @ts-expect-error Python's copy() of a synchronized object: TypeError "this type has no size"
    assert.throws(() => copy(Value('i', 1)), /has a lock/);
    // @ts-expect-error
    assert.throws(() => copy(ArrayOf('d', 2)), /toArraySync/);
    // @ts-expect-error
    assert.throws(() => copy(synchronized(RawValue('i'))), TypeError);
    for (const bad of [5, null, undefined, 'x', {}, [1], new Int32Array(1)]) {
      // @ts-expect-error not a raw shared object
      assert.throws(() => copy(bad), TypeError, String(bad));
    }
  });
});
