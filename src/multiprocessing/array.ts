import type { ItemView } from '../internal/process/array-store.js';
import type { TypeCode } from '../threading/typecodes.js';
import type { Lock } from './lock.js';
import { RawSharedArray } from './raw-array.js';
import { registerKind, type SharedInit } from './shared-object.js';
import { lockOption, type SharedOptions } from './value.js';

/** The typed array `getObj()` gives for type code `C`: bigints for the 64-bit integer codes. */
export type ItemViewOf<C extends TypeCode> = C extends 'b'
  ? Int8Array
  : C extends 'B'
    ? Uint8Array
    : C extends 'h'
      ? Int16Array
      : C extends 'H'
        ? Uint16Array
        : C extends 'i'
          ? Int32Array
          : C extends 'I'
            ? Uint32Array
            : C extends 'l' | 'q'
              ? BigInt64Array
              : C extends 'L' | 'Q'
                ? BigUint64Array
                : C extends 'f'
                  ? Float32Array
                  : C extends 'd'
                    ? Float64Array
                    : ItemView;

/**
 * Python's `multiprocessing.Array`: a `RawArray` (src/multiprocessing/raw-array.ts: the items in
 * shared memory, `get`/`set`, their `…Sync` twins, slices, `add`, `toArray`) with a lock, as
 * Python's `Array` is `synchronized(RawArray(...))`. `getLock()` guards longer sequences, as in
 * Python, and `getObj()` is a typed array over the items themselves.
 */
export class SharedArray<C extends TypeCode = TypeCode> extends RawSharedArray<C> {
  readonly #lock: Lock | null;

  constructor(
    typecode: string,
    sizeOrItems: number | ArrayLike<number>,
    options: SharedOptions = {},
    shared?: SharedInit,
  ) {
    super(typecode, sizeOrItems, shared, () => lockOption('Array', options));
    // A revived handle's params hold its lock revived too.
    this.#lock = (this._params.lock as Lock | null) ?? null;
  }
  protected override _kind(): string {
    return 'mp:Array';
  }
  /**
   * Python's `get_obj()`: the items themselves, as a typed array over the shared memory
   * (`Float64Array` for `'d'`, `BigInt64Array` for `'q'`, …). Reads and writes through it are
   * plain memory accesses, unsynchronized, as Python's: hold `getLock()` around what must not
   * interleave, or use `Atomics` on an integer view. Any process of the tree sees what is stored
   * there.
   * @throws RuntimeError (`ERR_WEFT_NOT_SHARED`) when this thread cannot map the items (no shm
   *   addon, `WEFT_LOCK_SLAB=0`, no room in /dev/shm): they are in the broker, reached through
   *   the other methods.
   */
  getObj(): ItemViewOf<C> {
    return this._view() as ItemViewOf<C>;
  }
  /**
   * The lock guarding the array (Python's get_lock()): the one given as `lock`, else an RLock.
   * @throws TypeError when created with lock: false.
   */
  getLock(): Lock {
    if (!this.#lock)
      throw new TypeError('This Array was created with { lock: false }: it has no lock');
    return this.#lock;
  }
  /** @internal */
  static override _revive(init: SharedInit): SharedArray {
    return new SharedArray('', 0, {}, init);
  }
}

registerKind('mp:Array', (s) => SharedArray._revive(s), import.meta.url);

/**
 * What `Array(typecode, sizeOrItems, { lock: false })` gives: Python's raw object (a ctypes
 * array, not a `SynchronizedArray`), which `synchronized()` and `copy()` take as they take a
 * `RawArray`. It is a `SharedArray` still, whose `getLock()` only throws (`never`).
 */
export type UnlockedArray<C extends TypeCode = TypeCode> = { getLock(): never } & SharedArray<C>;

/** Python's `multiprocessing.Array(typecode, sizeOrItems)` (exported as `Array`). */
export function sharedArray<C extends TypeCode>(
  typecode: C,
  sizeOrItems: number | ArrayLike<number>,
  options: SharedOptions & { lock: false },
): UnlockedArray<C>;
export function sharedArray<C extends TypeCode>(
  typecode: C,
  sizeOrItems: number | ArrayLike<number>,
  options?: SharedOptions,
): SharedArray<C>;
export function sharedArray<C extends TypeCode>(
  typecode: C,
  sizeOrItems: number | ArrayLike<number>,
  options: SharedOptions = {},
): SharedArray<C> {
  return new SharedArray<C>(typecode, sizeOrItems, options);
}

export { sharedArray as Array };
