import { describeValue } from '../internal/errors.js';
import { broker } from '../internal/process/broker-client.js';
import { brokerSync } from '../internal/process/broker-sync.js';
import { coercer } from '../internal/process/typecodes.js';
import type { TypeCode } from '../threading/typecodes.js';
import { IndexError } from './errors.js';
import type { Lock } from './lock.js';
import { registerKind, type SharedInit, SharedObject } from './shared-object.js';
import { lockOption, type SharedOptions } from './value.js';

/**
 * What `type` stores for `v`: a number only, as Python's ctypes refuses a str or None (a float
 * code stored the string itself, an integer code turned '7' into 7 and null into 0).
 */
function store(c: (v: number) => number, v: unknown, what: string): number {
  if (typeof v !== 'number')
    throw new TypeError(`${what} expects a number: received ${describeValue(v)}`);
  return c(v);
}

/**
 * Python's `multiprocessing.Array`: a fixed-length array of numbers shared by processes, with a
 * lock. Lives in the broker: `get`/`set`/`toArray` return Promises (never blocking this
 * thread); `getSync`/`setSync`/`toArraySync` answer synchronously, as Python's `arr[i]` does.
 */
export class SharedArray extends SharedObject {
  readonly typecode: string;
  readonly length: number;
  readonly #lock: Lock | null;

  constructor(
    typecode: string,
    sizeOrItems: number | ArrayLike<number>,
    options: SharedOptions = {},
    shared?: SharedInit & { lock: Lock | null },
  ) {
    let items: number[] = [];
    if (!shared) {
      const c = coercer(typecode);
      if (typeof sizeOrItems === 'number') {
        if (!Number.isInteger(sizeOrItems) || sizeOrItems < 0)
          throw new RangeError(
            `Array size must be an integer >= 0: received ${describeValue(sizeOrItems)}`,
          );
        items = new globalThis.Array(sizeOrItems).fill(0);
      } else if (
        sizeOrItems &&
        typeof sizeOrItems === 'object' &&
        typeof sizeOrItems.length === 'number'
      ) {
        items = globalThis.Array.from(sizeOrItems as ArrayLike<unknown>, (v) =>
          store(c, v, 'Array'),
        );
      } else {
        throw new TypeError(
          `Array expects a size or a list of numbers: received ${describeValue(sizeOrItems)}`,
        );
      }
    }
    const lock = shared ? shared.lock : lockOption('Array', options);
    super('data', { typecode, init: items, length: items.length, lock }, shared);
    this.typecode = this._params.typecode as string;
    this.length = this._params.length as number;
    this.#lock = lock;
  }
  protected _kind(): string {
    return 'mp:Array';
  }
  /**
   * The index `i` names: a negative one counts from the end, as Python's `a[-1]`.
   * @throws TypeError when `i` is not an integer. @throws IndexError when it is out of range.
   */
  #at(i: number): number {
    if (!Number.isInteger(i))
      throw new TypeError(`Array indices must be integers: received ${describeValue(i)}`);
    const k = i < 0 ? i + this.length : i;
    if (k < 0 || k >= this.length)
      throw new IndexError(
        `Array index out of range: received ${describeValue(i)} (length ${this.length})`,
      );
    return k;
  }
  async get(i: number): Promise<number> {
    return (await broker().request('dataOp', this._id, ['getItem', this.#at(i)])) as number;
  }
  async set(i: number, v: number): Promise<void> {
    const k = this.#at(i);
    const x = store(coercer(this.typecode), v, 'Array.set');
    await broker().request('dataOp', this._id, ['setItem', k, x]);
  }
  /** Blocking twin of `get` (Python's `arr[i]`). **Blocking:** a broker round trip. */
  getSync(i: number): number {
    return brokerSync().request('dataOp', this._id, ['getItem', this.#at(i)]) as number;
  }
  /** Blocking twin of `set` (Python's `arr[i] = v`). **Blocking:** a broker round trip. */
  setSync(i: number, v: number): void {
    const k = this.#at(i);
    const x = store(coercer(this.typecode), v, 'Array.setSync');
    brokerSync().request('dataOp', this._id, ['setItem', k, x]);
  }
  /** Blocking twin of `toArray` (Python's `arr[:]`). **Blocking:** a broker round trip. */
  toArraySync(): number[] {
    return brokerSync().request('dataGet', this._id, []) as number[];
  }
  /**
   * Python's `arr[start:stop]`: the items of that slice, read in one operation. A missing or null
   * bound is the end; a negative one counts from the end; bounds past the ends are clamped, as
   * Python's are. @throws TypeError when a bound is not an integer.
   */
  async slice(start?: number | null, stop?: number | null): Promise<number[]> {
    return (await broker().request('dataOp', this._id, [
      'getSlice',
      sliceIndex(start),
      sliceIndex(stop),
    ])) as number[];
  }
  /** Blocking twin of `slice` (Python's `arr[start:stop]`). **Blocking:** a broker round trip. */
  sliceSync(start?: number | null, stop?: number | null): number[] {
    return brokerSync().request('dataOp', this._id, [
      'getSlice',
      sliceIndex(start),
      sliceIndex(stop),
    ]) as number[];
  }
  /**
   * Python's `arr[start:stop] = values`: replaces the items of that slice in one operation (no
   * process sees half of it). An Array's length is fixed, so `values` must hold as many numbers
   * as the slice does. @throws RangeError (Python's ValueError) when it holds another number of
   * them. @throws TypeError when a bound is not an integer or a value is not a number.
   */
  async setSlice(
    start: number | null | undefined,
    stop: number | null | undefined,
    values: ArrayLike<number>,
  ): Promise<void> {
    await broker().request('dataOp', this._id, this.#setSliceOp(start, stop, values, 'setSlice'));
  }
  /** Blocking twin of `setSlice` (Python's `arr[start:stop] = values`). **Blocking:** a broker round trip. */
  setSliceSync(
    start: number | null | undefined,
    stop: number | null | undefined,
    values: ArrayLike<number>,
  ): void {
    brokerSync().request('dataOp', this._id, this.#setSliceOp(start, stop, values, 'setSliceSync'));
  }
  #setSliceOp(start: unknown, stop: unknown, values: ArrayLike<number>, what: string): unknown[] {
    if (values === null || typeof values !== 'object' || typeof values.length !== 'number')
      throw new TypeError(
        `Array.${what} expects a list of numbers: received ${describeValue(values)}`,
      );
    const c = coercer(this.typecode);
    const items = globalThis.Array.from(values as ArrayLike<unknown>, (v) =>
      store(c, v, `Array.${what}`),
    );
    const [s, e] = [sliceIndex(start), sliceIndex(stop)];
    const first = s === null ? 0 : s < 0 ? Math.max(s + this.length, 0) : Math.min(s, this.length);
    const end =
      e === null ? this.length : e < 0 ? Math.max(e + this.length, 0) : Math.min(e, this.length);
    const held = Math.max(end - first, 0);
    if (items.length !== held)
      throw new RangeError(
        `Can only assign a sequence of the same size to an Array slice: the slice holds ${held} items, received ${items.length}`,
      );
    return ['setSlice', s, e, items, this.typecode];
  }
  /**
   * Adds `n` to element `i` atomically; resolves to the new value, wrapped to the type code as
   * `set` stores it. @throws TypeError for a non-integer `n` on an integer code.
   */
  async add(i: number, n: number): Promise<number> {
    const k = this.#at(i);
    if (typeof n !== 'number')
      throw new TypeError(`Array.add expects a number: received ${describeValue(n)}`);
    coercer(this.typecode)(n);
    return (await broker().request('dataOp', this._id, ['add', k, n, this.typecode])) as number;
  }
  async toArray(): Promise<number[]> {
    return (await broker().request('dataGet', this._id, [])) as number[];
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
  static _revive(init: SharedInit): SharedArray {
    return new SharedArray('', 0, {}, { ...init, lock: (init.params.lock as Lock | null) ?? null });
  }
}

/** A slice bound as the broker takes it: null for a missing one. @throws TypeError for a non-integer. */
function sliceIndex(i: unknown): number | null {
  if (i === undefined || i === null) return null;
  if (typeof i !== 'number' || !Number.isInteger(i))
    throw new TypeError(`slice indices must be integers or null: received ${describeValue(i)}`);
  return i;
}

registerKind('mp:Array', (s) => SharedArray._revive(s), import.meta.url);

/** Python's `multiprocessing.Array(typecode, sizeOrItems)` (exported as `Array`). */
export function sharedArray(
  typecode: TypeCode,
  sizeOrItems: number | ArrayLike<number>,
  options: SharedOptions = {},
): SharedArray {
  return new SharedArray(typecode, sizeOrItems, options);
}

export { sharedArray as Array };
