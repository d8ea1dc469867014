import { type IntegerArray, loadElement, storeElement } from '../internal/atomics.js';
import { describeValue } from '../internal/errors.js';
import { kShared, registerSharedKind, type SharedState } from '../internal/serialize.js';
import type { Lock } from './lock.js';
import type { RLock } from './rlock.js';
import {
  type CodeOf,
  ctorOf,
  type ElementOf,
  isAtomic,
  type TypeCode,
  type Typed,
} from './typecodes.js';
import { checkElement, lockOf, type SharedOptions } from './value.js';

type Scalar = number | bigint;

/**
 * A shared fixed-length array of numbers (Python's `multiprocessing.Array`, for threads).
 * Elements are read and written with `get(i)`/`set(i, x)` (atomic for integer types), or all
 * at once through `view`, the typed array over the shared memory. Compound updates need
 * `getLock()`, as in Python.
 *
 * @example
 * const hits = Array('i', 8);
 * hits.getLock().runSync(() => hits.set(3, hits.get(3) + 1));
 */
export class SharedArray<T extends Scalar = number> implements Iterable<T> {
  /** The typed array over the shared memory. */
  readonly view: Typed;
  readonly typecode: TypeCode;
  private readonly _lock: RLock | Lock | null;

  /** @internal */
  constructor(typecode: TypeCode, view: Typed, lock: RLock | Lock | null) {
    this.typecode = typecode;
    this.view = view;
    this._lock = lock;
  }

  get length(): number {
    return this.view.length;
  }

  private index(i: number): number {
    if (!Number.isInteger(i) || i < -this.view.length || i >= this.view.length) {
      throw new RangeError(
        `Array index out of range: received ${describeValue(i)} for length ${this.view.length}`,
      );
    }
    return i < 0 ? i + this.view.length : i;
  }

  get(i: number): T {
    const k = this.index(i);
    return (
      isAtomic(this.typecode) ? loadElement(this.view as IntegerArray, k) : this.view[k]
    ) as T;
  }

  set(i: number, x: T): void {
    const k = this.index(i);
    checkElement('Array', this.typecode, x);
    if (isAtomic(this.typecode)) storeElement(this.view as IntegerArray, k, x);
    else this.view[k] = x as number;
  }

  toArray(): T[] {
    return [...this];
  }

  *[Symbol.iterator](): Iterator<T> {
    for (let i = 0; i < this.view.length; i++) yield this.get(i);
  }

  getLock(): RLock | Lock {
    if (!this._lock)
      throw new TypeError('This Array was created with { lock: false } and has no lock');
    return this._lock;
  }

  /** @internal */
  [kShared](): SharedState {
    return {
      kind: 'threading.Array',
      state: {
        sab: this.view.buffer,
        type: this.typecode,
        len: this.view.length,
        lock: this._lock,
      },
    };
  }
}

/**
 * Python's `Array(typecode, size_or_initializer)`: a shared array with a lock. The type code
 * gives the type of the elements, as for `Value`: bigints for `'l'`, `'L'`, `'q'` and `'Q'`,
 * numbers for the others.
 */
function sharedArray<const C extends TypeCode>(
  type: C,
  sizeOrItems: number | Iterable<ElementOf<C>>,
  options?: SharedOptions,
): SharedArray<ElementOf<C>>;
function sharedArray<T extends Scalar>(
  type: CodeOf<T>,
  sizeOrItems: number | Iterable<NoInfer<T>>,
  options?: SharedOptions,
): SharedArray<T>;
function sharedArray<T extends Scalar = number>(
  type: TypeCode,
  sizeOrItems: number | Iterable<NoInfer<T>>,
  options: SharedOptions = {},
): SharedArray<T> {
  const ctor = ctorOf('Array', type);
  let items: T[] | null = null;
  let size: number;
  if (typeof sizeOrItems === 'number') {
    if (!Number.isInteger(sizeOrItems) || sizeOrItems < 0) {
      throw new RangeError(
        `Array size must be an integer >= 0: received ${describeValue(sizeOrItems)}`,
      );
    }
    size = sizeOrItems;
  } else if (
    sizeOrItems !== null &&
    typeof sizeOrItems === 'object' &&
    Symbol.iterator in sizeOrItems
  ) {
    items = [...sizeOrItems];
    size = items.length;
  } else {
    throw new TypeError(
      `Array needs a size or an iterable of items: received ${describeValue(sizeOrItems)}`,
    );
  }
  const sab = new SharedArrayBuffer(Math.max(8, size * ctor.BYTES_PER_ELEMENT));
  const arr = new SharedArray<T>(type, new ctor(sab, 0, size), lockOf('Array', options.lock));
  if (items) for (let i = 0; i < items.length; i++) arr.set(i, items[i] as T);
  return arr;
}

registerSharedKind(
  'threading.Array',
  (s) => {
    const type = s.type as TypeCode;
    const ctor = ctorOf('Array', type);
    const sab = s.sab as SharedArrayBuffer;
    return new SharedArray(
      type,
      new ctor(sab, 0, (s.len as number | undefined) ?? sab.byteLength / ctor.BYTES_PER_ELEMENT),
      (s.lock as RLock | null) ?? null,
    );
  },
  import.meta.url,
);

// Exported under Python's name; inside this module the global Array stays visible.
export { sharedArray as Array };
