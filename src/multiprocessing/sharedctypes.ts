/**
 * Python's `multiprocessing.sharedctypes.synchronized()` and `copy()`: a lock put around a raw
 * shared object, and a raw object's copy.
 *
 * `synchronized(raw)` is the `Value` or `Array` over the raw object's own memory: a second
 * handle on the same shared object (the same id, slab slot or Array file; the broker's 'create'
 * of it is idempotent), whose params carry the lock, as a `Value`'s do. So it crosses to another
 * process as a `Value` or `Array` with that lock, and a write through either handle is seen
 * through the other, in every process.
 */
import { describeValue } from '../internal/errors.js';
import type { TypeCode } from '../threading/typecodes.js';
import { SharedArray } from './array.js';
import { Lock } from './lock.js';
import { RawArray, RawSharedArray } from './raw-array.js';
import { RawSharedValue, RawValue } from './raw-value.js';
import { RLock } from './rlock.js';
import { registerKind, type SharedInit } from './shared-object.js';
import { SharedValue } from './value.js';

/**
 * What `synchronized(rawValue)` returns (Python's `Synchronized` wrapper): a `Value` over the raw
 * value's own memory, with a lock, and `getObj()`, the raw value under it.
 */
export class SynchronizedValue extends SharedValue {
  readonly #obj: RawSharedValue | null;

  /** @internal Made by `synchronized()`, or revived in another process. */
  constructor(shared: SharedInit, obj: RawSharedValue | null = null) {
    super('', 0, {}, shared);
    this.#obj = obj;
  }

  protected override _kind(): string {
    return 'mp:SynchronizedValue';
  }

  /**
   * Python's `get_obj()`: the raw value under the lock — the object given to `synchronized()`,
   * or, in another process, a `RawValue` handle on the same number (`Value`'s `getObj()`). Its
   * reads and writes do not take the lock.
   */
  override getObj(): RawSharedValue {
    return this.#obj ?? super.getObj();
  }

  /** @internal */
  static override _revive(init: SharedInit): SynchronizedValue {
    return new SynchronizedValue(init);
  }
}

registerKind('mp:SynchronizedValue', (s) => SynchronizedValue._revive(s), import.meta.url);

/**
 * The lock of a shared object that has one: a `Value` or `Array` (one made with
 * `{ lock: false }` has none: it is Python's raw object), else null.
 */
function lockOf(obj: RawSharedValue | RawSharedArray): Lock | null {
  if (!(obj instanceof SharedValue) && !(obj instanceof SharedArray)) return null;
  return (obj._params.lock as Lock | null | undefined) ?? null;
}

/**
 * A raw object's type has no `getLock`, and that of a `Value` or `Array` made with
 * `{ lock: false }` one that only throws (value.ts's `UnlockedValue`): a `Value` or `Array` with
 * a lock does not fit where this is asked.
 */
type Unlocked = { getLock?(): never };

/**
 * Python's `multiprocessing.sharedctypes.synchronized(obj, lock)`: the raw `obj` (a `RawValue` or
 * `RawArray`) with a lock — the `Value` or `Array` over the same memory, as Python's `Value()` is
 * `synchronized(RawValue(...))`. A write through either is seen through the other, in every
 * process. `lock` is a `Lock` or `RLock` of this module; left out (or null), a new `RLock`.
 *
 * What it gives is the module's `Value`/`Array` (`instanceof SharedValue`/`SharedArray`), with
 * `getLock()`; a value's also has `getObj()`, the raw value (`obj` itself); an array's `getObj()`
 * is a typed array over the same items, as `Array`'s. A `Value` made with `{ lock: false }` is
 * Python's raw object, and is taken as one.
 * @throws TypeError when `obj` is not a `RawValue` or `RawArray`, or has a lock already
 *   (Python's AssertionError "object already synchronized"); when `lock` is not a Lock or RLock
 *   of this module (Python's AttributeError: it has no `acquire`), `true`/`false` included.
 * @example
 * const raw = RawValue('i', 0);
 * const v = synchronized(raw);
 * v.getLock().runSync(() => { v.value += 1; });
 * raw.value;            // 1
 * v.getObj() === raw;   // true
 */
export function synchronized<C extends TypeCode>(
  obj: RawSharedArray<C> & Unlocked,
  lock?: Lock | null,
): SharedArray<C>;
export function synchronized(obj: RawSharedValue & Unlocked, lock?: Lock | null): SynchronizedValue;
export function synchronized(
  obj: RawSharedValue | RawSharedArray,
  lock: Lock | null = null,
): SynchronizedValue | SharedArray {
  const isValue = obj instanceof RawSharedValue;
  if (!isValue && !(obj instanceof RawSharedArray))
    throw new TypeError(
      `synchronized() takes a RawValue or a RawArray of weft/multiprocessing: received ${describeValue(obj)}`,
    );
  if (lockOf(obj) !== null)
    throw new TypeError(
      `synchronized(): this ${isValue ? 'Value' : 'Array'} has a lock already (Python's "object already synchronized"): pass its raw object, or use it as it is`,
    );
  if (lock !== null && lock !== undefined && !(lock instanceof Lock))
    throw new TypeError(
      `synchronized() lock must be a weft/multiprocessing Lock or RLock, or null for a new RLock: received ${describeValue(lock)}`,
    );
  const params = { ...obj._params, lock: lock ?? new RLock() };
  const shared: SharedInit = { id: obj._id, params };
  if (isValue) return new SynchronizedValue(shared, obj);
  return new SharedArray(obj.typecode, 0, {}, shared);
}

/**
 * Python's `multiprocessing.sharedctypes.copy(obj)`: a new `RawValue` or `RawArray` of the same
 * type code holding what `obj` holds now (read in one atomic operation), in memory of its own:
 * a later write to either is not seen through the other. 64-bit codes copy the numbers as weft
 * reads them (exact up to 2^53, as everywhere: src/internal/process/typecodes.ts); one read at
 * the top of its range (2^63 or 2^64) is copied as the largest number the code holds below it,
 * not wrapped to the bottom.
 *
 * Without the shm addon the read is a broker round trip, which parks the thread meanwhile.
 * @throws TypeError when `obj` is not a `RawValue` or `RawArray`, a `Value` or `Array` with a
 *   lock included (Python's copy() of a synchronized object raises TypeError too): copy its raw
 *   object (`getObj()` of what `synchronized()` gave), or make one from its numbers.
 * @example
 * const a = RawArray('d', [1, 2]);
 * const b = copy(a);     // a RawArray<'d'>
 * b.setSync(0, 9);
 * a.getSync(0);          // 1
 */
export function copy<C extends TypeCode>(obj: RawSharedArray<C> & Unlocked): RawSharedArray<C>;
export function copy(obj: RawSharedValue & Unlocked): RawSharedValue;
export function copy(obj: RawSharedValue | RawSharedArray): RawSharedValue | RawSharedArray {
  const isValue = obj instanceof RawSharedValue;
  if (!isValue && !(obj instanceof RawSharedArray))
    throw new TypeError(
      `copy() takes a RawValue or a RawArray of weft/multiprocessing: received ${describeValue(obj)}`,
    );
  if (lockOf(obj) !== null)
    throw new TypeError(
      isValue
        ? "copy() takes a raw object: this Value has a lock (Python's copy() refuses a synchronized object too); copy its raw value, or RawValue(v.typecode, v.value)"
        : "copy() takes a raw object: this Array has a lock (Python's copy() refuses a synchronized object too); make one from its items: RawArray(a.typecode, a.toArraySync())",
    );
  const top = TOP_64[obj.typecode];
  if (isValue) {
    const v = obj.value;
    return RawValue(obj.typecode as TypeCode, top !== undefined && v > top ? top : v);
  }
  const items = obj.toArraySync();
  if (top !== undefined)
    for (let i = 0; i < items.length; i++) if ((items[i] as number) > top) items[i] = top;
  return RawArray(obj.typecode, items);
}

/**
 * The largest double each 64-bit code holds. A read rounds to the nearest double, so the numbers
 * within half a step of the top of the range read as 2^63 or 2^64, which the code wraps to -2^63
 * or 0 when written back: `copy(RawValue('Q', -1))` held 0. Written as this instead, the copy
 * reads within one rounding of the original, as every 64-bit number past 2^53 does.
 */
const TOP_64: Record<string, number> = {
  l: 2 ** 63 - 1024,
  q: 2 ** 63 - 1024,
  L: 2 ** 64 - 2048,
  Q: 2 ** 64 - 2048,
};
