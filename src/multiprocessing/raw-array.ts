import { describeValue, RuntimeError } from '../internal/errors.js';
import {
  ArrayStore,
  checkSliceSize,
  type ItemView,
  storeBytes,
} from '../internal/process/array-store.js';
import { broker } from '../internal/process/broker-client.js';
import { brokerSync } from '../internal/process/broker-sync.js';
import { guardSession, sentToBroker, useSlab } from '../internal/process/data-route.js';
import {
  arrayPathOf,
  claimArrayFile,
  mapArrayFile,
  readySlab,
  slabBrokerPath,
} from '../internal/process/lock-slab.js';
import { coercer } from '../internal/process/typecodes.js';
import { shipQueued } from '../internal/process/unshipped.js';
import type { TypeCode } from '../threading/typecodes.js';
import { IndexError } from './errors.js';
import type { Lock } from './lock.js';
import { refuseMethods } from './raw-value.js';
import { newObjectId, registerKind, type SharedInit, SharedObject } from './shared-object.js';

/**
 * What `type` stores for `v`: a number only, as Python's ctypes refuses a str or None (a float
 * code stored the string itself, an integer code turned '7' into 7 and null into 0).
 */
function store(c: (v: number) => number, v: unknown, what: string): number {
  if (typeof v !== 'number')
    throw new TypeError(`${what} expects a number: received ${describeValue(v)}`);
  return c(v);
}

/** Items of an Array past which it lives in the broker: the shm addon maps at most 1 GiB. */
const MAX_FILE_BYTES = 1 << 30;

/**
 * Python's `multiprocessing.RawArray`: a fixed-length array of numbers shared by processes, with
 * no lock. Its items live in memory the processes share (a file of its own in /dev/shm, laid out
 * in src/internal/process/array-store.ts), as Python's are a ctypes array in shared memory:
 * `getSync`, `setSync`, `add`, slices and `toArraySync` are loads and stores in the calling
 * thread, each one atomic (no other process sees half a slice written). `get`/`set`/`slice`/
 * `toArray` are the same as Promises. Without the shm addon (or with `WEFT_LOCK_SLAB=0`) the
 * items live in the broker and each call is a round trip (the `…Sync` ones park the thread
 * meanwhile).
 *
 * It has no `getLock()` and no `getObj()`, as Python's RawArray has no `get_lock()` and no
 * `get_obj()`: they do not compile, and in plain JavaScript they throw an `AttributeError`.
 * `Array` is this plus both (src/multiprocessing/array.ts), as Python's `Array` is
 * `synchronized(RawArray(...))`.
 */
export class RawSharedArray<C extends TypeCode = TypeCode> extends SharedObject {
  readonly typecode: C;
  readonly length: number;
  /** The items in their shared file, as this thread maps it (null: only the broker has them). */
  readonly #store: ArrayStore | null;
  /** The items have a shared file: what goes to the broker is the number as given (see #wire). */
  readonly #filed: boolean;
  readonly #coerce: (v: number) => number;

  /**
   * `makeLock`: `Array`'s lock, made once the items are known to be good (none is made for bad
   * ones); a revived handle has its lock in `shared.params` already.
   * @internal
   */
  constructor(
    typecode: string,
    sizeOrItems: number | ArrayLike<number>,
    shared?: SharedInit,
    makeLock: () => Lock | null = () => null,
  ) {
    // A size alone is zeros: with a file (zero-filled) no JavaScript array of them is made at
    // all (30 million items took 410 MB and 120 million exhausted the heap).
    let size = 0;
    let raw: number[] | null = null;
    const c = coercer(shared ? (shared.params.typecode as string) : typecode);
    if (!shared) {
      if (typeof sizeOrItems === 'number') {
        if (!Number.isInteger(sizeOrItems) || sizeOrItems < 0)
          throw new RangeError(
            `Array size must be an integer >= 0: received ${describeValue(sizeOrItems)}`,
          );
        size = sizeOrItems;
      } else if (
        sizeOrItems &&
        typeof sizeOrItems === 'object' &&
        typeof sizeOrItems.length === 'number'
      ) {
        raw = globalThis.Array.from(sizeOrItems as ArrayLike<unknown>, (v) => {
          store(c, v, 'Array');
          return v as number;
        });
        size = raw.length;
      } else {
        throw new TypeError(
          `Array expects a size or a list of numbers: received ${describeValue(sizeOrItems)}`,
        );
      }
    }
    const lock = shared ? null : makeLock();
    let st: ArrayStore | null = null;
    let id: string | undefined;
    let init: number[] = [];
    if (!shared) {
      // The file is made and filled before the handle exists anywhere else (the broker maps it
      // when it hears of the Array): every reader sees the first items.
      id = newObjectId();
      st = newStore(id, typecode, size, raw);
      // With a file, the broker maps it (its slab was made before any thread could make a file:
      // lock-slab.ts), so the items do not travel: the params go with every revival's 'create',
      // and a million items there cost megabytes a message. Without one the broker keeps them.
      if (st === null) init = raw === null ? new globalThis.Array(size).fill(0) : raw.map(c);
    }
    const params: Record<string, unknown> = { typecode, init, length: size, lock };
    if (st !== null) params.file = true;
    super('data', params, shared, id);
    this.typecode = this._params.typecode as C;
    this.length = this._params.length as number;
    this.#filed = this._params.file === true;
    this.#coerce = c;
    this.#store = shared && this.#filed ? openStore(this._id, this.typecode, this.length) : st;
  }
  protected _kind(): string {
    return 'mp:RawArray';
  }

  /**
   * The store when this thread reads and writes the items in shared memory now (data-route.ts
   * keeps the thread's operations in program order), else null: the broker has them.
   */
  #direct(sync: boolean): ArrayStore | null {
    const st = this.#store;
    if (st !== null && useSlab(sync)) return st;
    if (this.#filed) sentToBroker();
    return null;
  }

  /** What a write sends the broker: the number as given to an Array in a file (it wraps it). */
  #wire(v: number, x: number): number {
    return this.#filed ? v : x;
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
    const k = this.#at(i);
    const st = this.#direct(false);
    if (st !== null) {
      shipQueued();
      return st.get(k, guardSession);
    }
    return (await broker().request('dataOp', this._id, ['getItem', k])) as number;
  }
  async set(i: number, v: number): Promise<void> {
    const k = this.#at(i);
    const x = store(this.#coerce, v, 'Array.set');
    const st = this.#direct(false);
    if (st !== null) st.set(k, v, guardSession());
    else await broker().request('dataOp', this._id, ['setItem', k, this.#wire(v, x)]);
  }
  /**
   * Blocking twin of `get` (Python's `arr[i]`). Without the shm addon, a broker round trip. A
   * loop polling it (or `sliceSync`, `toArraySync`, `getObj()`) still sends what this thread
   * queued for the broker, about a millisecond in (unshipped.ts).
   */
  getSync(i: number): number {
    const k = this.#at(i);
    const st = this.#direct(true);
    if (st !== null) {
      shipQueued();
      return st.get(k, guardSession);
    }
    return brokerSync().request('dataOp', this._id, ['getItem', k]) as number;
  }
  /** Blocking twin of `set` (Python's `arr[i] = v`). Without the shm addon, a broker round trip. */
  setSync(i: number, v: number): void {
    const k = this.#at(i);
    const x = store(this.#coerce, v, 'Array.setSync');
    const st = this.#direct(true);
    if (st !== null) st.set(k, v, guardSession());
    else brokerSync().request('dataOp', this._id, ['setItem', k, this.#wire(v, x)]);
  }
  /** Blocking twin of `toArray` (Python's `arr[:]`). Without the shm addon, a broker round trip. */
  toArraySync(): number[] {
    const st = this.#direct(true);
    if (st !== null) {
      shipQueued();
      return st.slice(0, this.length, guardSession);
    }
    return brokerSync().request('dataGet', this._id, []) as number[];
  }
  /**
   * Python's `arr[start:stop]`: the items of that slice, read in one operation. A missing or null
   * bound is the end; a negative one counts from the end; bounds past the ends are clamped, as
   * Python's are. @throws TypeError when a bound is not an integer.
   */
  async slice(start?: number | null, stop?: number | null): Promise<number[]> {
    const [s, e] = [sliceIndex(start), sliceIndex(stop)];
    const st = this.#direct(false);
    if (st !== null) {
      shipQueued();
      return st.slice(...bounds(s, e, this.length), guardSession);
    }
    return (await broker().request('dataOp', this._id, ['getSlice', s, e])) as number[];
  }
  /** Blocking twin of `slice` (Python's `arr[start:stop]`). Without the shm addon, a broker round trip. */
  sliceSync(start?: number | null, stop?: number | null): number[] {
    const [s, e] = [sliceIndex(start), sliceIndex(stop)];
    const st = this.#direct(true);
    if (st !== null) {
      shipQueued();
      return st.slice(...bounds(s, e, this.length), guardSession);
    }
    return brokerSync().request('dataOp', this._id, ['getSlice', s, e]) as number[];
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
    const op = this.#setSliceOp(start, stop, values, 'setSlice');
    const st = this.#direct(false);
    if (st !== null) st.setSlice(op.first, op.raw, guardSession());
    else await broker().request('dataOp', this._id, op.message);
  }
  /** Blocking twin of `setSlice` (Python's `arr[start:stop] = values`). Without the shm addon, a broker round trip. */
  setSliceSync(
    start: number | null | undefined,
    stop: number | null | undefined,
    values: ArrayLike<number>,
  ): void {
    const op = this.#setSliceOp(start, stop, values, 'setSliceSync');
    const st = this.#direct(true);
    if (st !== null) st.setSlice(op.first, op.raw, guardSession());
    else brokerSync().request('dataOp', this._id, op.message);
  }
  #setSliceOp(
    start: unknown,
    stop: unknown,
    values: ArrayLike<number>,
    what: string,
  ): { first: number; raw: number[]; message: unknown[] } {
    if (values === null || typeof values !== 'object' || typeof values.length !== 'number')
      throw new TypeError(
        `Array.${what} expects a list of numbers: received ${describeValue(values)}`,
      );
    const c = this.#coerce;
    const raw = globalThis.Array.from(values as ArrayLike<unknown>, (v) => {
      store(c, v, `Array.${what}`);
      return v as number;
    });
    const [s, e] = [sliceIndex(start), sliceIndex(stop)];
    const [first, end] = bounds(s, e, this.length);
    checkSliceSize(end - first, raw.length);
    const sent = this.#filed ? raw : raw.map(c);
    return { first, raw, message: ['setSlice', s, e, sent, this.typecode] };
  }
  /**
   * Adds `n` to element `i` atomically; resolves to the new value, wrapped to the type code as
   * `set` stores it. @throws TypeError for a non-integer `n` on an integer code.
   */
  async add(i: number, n: number): Promise<number> {
    const k = this.#at(i);
    if (typeof n !== 'number')
      throw new TypeError(`Array.add expects a number: received ${describeValue(n)}`);
    this.#coerce(n);
    const st = this.#direct(false);
    if (st !== null) return st.add(k, n, guardSession());
    return (await broker().request('dataOp', this._id, ['add', k, n, this.typecode])) as number;
  }
  async toArray(): Promise<number[]> {
    const st = this.#direct(false);
    if (st !== null) {
      shipQueued();
      return st.slice(0, this.length, guardSession);
    }
    return (await broker().request('dataGet', this._id, [])) as number[];
  }
  /**
   * The items themselves, as a typed array over the shared memory: `Array`'s `getObj()`.
   * @throws RuntimeError (`ERR_WEFT_NOT_SHARED`) when this thread cannot map the items (no shm
   *   addon, `WEFT_LOCK_SLAB=0`, no room in /dev/shm): they are in the broker, reached through
   *   the other methods.
   */
  protected _view(): ItemView {
    const st = this.#store;
    // A broker still starting has the slab as soon as it answers.
    if (st !== null && readySlab() === null) brokerSync().request('ping', undefined, []);
    if (st === null || !useSlab(true))
      throw new RuntimeError(
        'Array.getObj(): the items of this Array are kept by the broker, not in memory this thread can map (no shm addon, WEFT_LOCK_SLAB=0, or no room in /dev/shm); use get/set/slice instead',
        'ERR_WEFT_NOT_SHARED',
      );
    // A loop that polls `getObj()[i]` reads here each time (a view kept aside is not seen).
    shipQueued();
    return st.view();
  }
  /** @internal */
  static _revive(init: SharedInit): RawSharedArray {
    return new RawSharedArray('', 0, init);
  }
}

/**
 * A new Array's file of `length` items, filled with `items` (checked numbers; null: zeros, as
 * the file is made), or null: no shm, over 1 GiB, or the tree's MAX_ARRAY_FILES made already.
 */
function newStore(
  id: string,
  typecode: string,
  length: number,
  items: readonly number[] | null,
): ArrayStore | null {
  // The broker client joins this thread to the slab as it is made.
  broker();
  if (storeBytes(typecode, length) > MAX_FILE_BYTES || !claimArrayFile()) return null;
  const st = openStore(id, typecode, length, true);
  if (st !== null && items !== null) st.fillNew(items);
  return st;
}

/** The file of the Array `id` mapped here (`create`: made), or null (this thread cannot). */
function openStore(
  id: string,
  typecode: string,
  length: number,
  create = false,
): ArrayStore | null {
  const at = slabBrokerPath();
  if (at === null) return null;
  const buffer = mapArrayFile(arrayPathOf(at, id), storeBytes(typecode, length), create);
  return buffer === null ? null : new ArrayStore(buffer, typecode, length);
}

/** Python's slice bounds over `length` items: [first, end], clamped, end >= first. */
function bounds(start: number | null, stop: number | null, length: number): [number, number] {
  const at = (i: number | null, fallback: number): number =>
    i === null ? fallback : i < 0 ? Math.max(i + length, 0) : Math.min(i, length);
  const first = at(start, 0);
  return [first, Math.max(at(stop, length), first)];
}

/** A slice bound as the broker takes it: null for a missing one. @throws TypeError for a non-integer. */
function sliceIndex(i: unknown): number | null {
  if (i === undefined || i === null) return null;
  if (typeof i !== 'number' || !Number.isInteger(i))
    throw new TypeError(`slice indices must be integers or null: received ${describeValue(i)}`);
  return i;
}

refuseMethods(RawSharedArray, 'RawArray', {
  getLock: 'it has no lock; make it with Array() to have one',
  getObj: 'read and write its items with get/set/slice, or make it with Array() for getObj()',
});
registerKind('mp:RawArray', (s) => RawSharedArray._revive(s), import.meta.url);

/** Python's `multiprocessing.RawArray(typecode, sizeOrItems)`: shared numbers with no lock. */
export function RawArray<C extends TypeCode>(
  typecode: C,
  sizeOrItems: number | ArrayLike<number>,
): RawSharedArray<C> {
  return new RawSharedArray<C>(typecode, sizeOrItems);
}
