/**
 * Python's `multiprocessing.RawValue`: a number shared by processes, with no lock. `Value` is
 * this plus a lock (src/multiprocessing/value.ts), as Python's `Value` is
 * `synchronized(RawValue(...))`: the number, its cell in the lock slab and its broker path are
 * this file's; the lock is value.ts's.
 */
import { describeValue } from '../internal/errors.js';
import { broker } from '../internal/process/broker-client.js';
import { brokerSync } from '../internal/process/broker-sync.js';
import { inSharedMemory, sentToBroker, useSlab } from '../internal/process/data-route.js';
import { mappedSlab, readySlab, slotOffset } from '../internal/process/lock-slab.js';
import { coercer } from '../internal/process/typecodes.js';
import { shipQueued } from '../internal/process/unshipped.js';
import { ValueCell } from '../internal/process/value-cell.js';
import type { TypeCode } from '../threading/typecodes.js';
import { AttributeError } from './errors.js';
import type { Lock } from './lock.js';
import { slotForNew } from './lock.js';
import { registerKind, type SharedInit, SharedObject } from './shared-object.js';

/** The cell of slot `slot` in `slab`, if the Value has a slot. */
function cellIn(slab: Int32Array | null, slot: unknown, typecode: string): ValueCell | null {
  if (slab === null || typeof slot !== 'number' || slot < 0) return null;
  return new ValueCell(slab.buffer, slotOffset(slot), typecode);
}

/**
 * The object `RawValue(typecode, init)` returns (Python's `multiprocessing.RawValue`): a number
 * shared by processes, with no lock. The number lives in memory the processes share (a slot of
 * the lock slab, src/internal/process/value-cell.ts), as Python's is a ctypes object in shared
 * memory: `.value` reads and writes it in the calling thread, `get()`/`set()` are the same as
 * Promises, and `add(n)` is an atomic read-modify-write. Without the shm addon the number lives
 * in the broker, and each of those is a round trip (`.value` parks the thread meanwhile).
 *
 * It has no `getLock()` and no `getObj()`, as Python's has no `get_lock()` and no `get_obj()`:
 * they do not compile, and in plain JavaScript they throw an `AttributeError`. `v.value += 1`
 * from two processes can lose an update: use `add(n)`, a `Lock` of your own, or `Value`.
 */
export class RawSharedValue extends SharedObject {
  readonly typecode: string;
  /** The type code's check and wrap, made once (for an integer code it is a closure). */
  readonly #coerce: (v: number) => number;
  /** Its cell, once this thread uses the slab for it (null: the broker has the number). */
  #cell: ValueCell | null = null;

  /**
   * `makeLock`: `Value`'s lock, made once `init` is known to be good (no slot is taken for a
   * bad one); a revived handle has its lock in `shared.params` already.
   * @internal
   */
  constructor(
    typecode: string,
    init = 0,
    shared?: SharedInit,
    makeLock: () => Lock | null = () => null,
  ) {
    const c = coercer(shared ? (shared.params.typecode as string) : typecode);
    if (!shared && typeof init !== 'number')
      throw new TypeError(`Value init must be a number: received ${describeValue(init)}`);
    // Checked before a slot is taken (its lock's too) or written: a TypeError, as in Python.
    const first = shared ? 0 : c(init);
    const lock = shared ? null : makeLock();
    let slot = -1;
    let cell: ValueCell | null = null;
    if (!shared) {
      slot = slotForNew();
      cell = cellIn(mappedSlab(), slot, typecode);
      // Written before the handle exists anywhere else: every reader sees the initial number,
      // and the broker, which keeps it too while it has no slab, got it in the params.
      cell?.set(init);
    }
    super('data', { typecode, init: first, lock, slot }, shared);
    this.typecode = this._params.typecode as string;
    this.#coerce = c;
  }

  /** The cell, when this thread uses the slab for Values now (data-route.ts), else null. */
  #live(sync: boolean): ValueCell | null {
    if (this.#cell !== null && inSharedMemory()) return this.#cell;
    const slot = this._params.slot;
    if (typeof slot !== 'number' || slot < 0) return null;
    if (!useSlab(sync)) return null;
    this.#cell ??= cellIn(readySlab(), slot, this.typecode);
    return this.#cell;
  }

  /** Counts an operation of a Value with a slot about to go to the broker (data-route.ts). */
  #toBroker(): void {
    const slot = this._params.slot;
    if (typeof slot === 'number' && slot >= 0) sentToBroker();
  }
  protected _kind(): string {
    return 'mp:RawValue';
  }
  /**
   * The value, read synchronously (Python's `.value`). Without the shm addon, **blocking:** a
   * broker round trip. A synchronous loop polling it still sends what this thread queued for
   * the broker (puts before it), about a millisecond in (unshipped.ts).
   */
  get value(): number {
    const cell = this.#live(true);
    if (cell !== null) {
      shipQueued();
      return cell.get();
    }
    return brokerSync().request('dataGet', this._id, []) as number;
  }

  /**
   * Writes the value synchronously, wrapped to the type code. Without the shm addon,
   * **blocking:** a broker round trip.
   */
  set value(v: number) {
    if (typeof v !== 'number')
      throw new TypeError(`Value.value must be a number: received ${describeValue(v)}`);
    const x = this.#coerce(v);
    const cell = this.#live(true);
    if (cell !== null) cell.set(v);
    else brokerSync().request('dataSet', this._id, [x, v]);
  }

  /** Resolves to the value, without blocking this thread. */
  async get(): Promise<number> {
    const cell = this.#live(false);
    if (cell !== null) {
      shipQueued();
      return cell.get();
    }
    this.#toBroker();
    return (await broker().request('dataGet', this._id, [])) as number;
  }
  async set(v: number): Promise<void> {
    if (typeof v !== 'number')
      throw new TypeError(`Value.set expects a number: received ${describeValue(v)}`);
    const x = this.#coerce(v);
    const cell = this.#live(false);
    if (cell !== null) cell.set(v);
    else {
      this.#toBroker();
      await broker().request('dataSet', this._id, [x, v]);
    }
  }
  /**
   * Adds `n` atomically; resolves to the new value, wrapped to the type code as `.value =`
   * stores it. @throws TypeError for a non-integer `n` on an integer code.
   */
  async add(n: number): Promise<number> {
    if (typeof n !== 'number')
      throw new TypeError(`Value.add expects a number: received ${describeValue(n)}`);
    this.#coerce(n);
    const cell = this.#live(false);
    if (cell !== null) return cell.add(n);
    this.#toBroker();
    return (await broker().request('dataOp', this._id, ['incr', n, this.typecode])) as number;
  }
  /** @internal */
  static _revive(init: SharedInit): RawSharedValue {
    return new RawSharedValue('', 0, init);
  }
}

/**
 * Plain JavaScript reaching for what Python's RawValue and RawArray lack (their types leave it
 * out, so TypeScript does not compile it) gets Python's AttributeError saying what to use
 * instead, rather than "is not a function". `Value` and `Array` define their own over these.
 * @internal
 */
export function refuseMethods(
  cls: { prototype: object },
  what: string,
  instead: Record<string, string>,
): void {
  for (const [name, hint] of Object.entries(instead))
    Object.defineProperty(cls.prototype, name, {
      value() {
        throw new AttributeError(
          `'${what}' object has no attribute '${name}', as Python's ${what} has none: ${hint}`,
        );
      },
      writable: true,
      configurable: true,
    });
}

refuseMethods(RawSharedValue, 'RawValue', {
  getLock: 'it has no lock; make it with Value() to have one',
  getObj: 'it is the raw value itself: read and write it directly',
});
registerKind('mp:RawValue', (s) => RawSharedValue._revive(s), import.meta.url);

/** Python's `multiprocessing.RawValue(typecode, init)`: a shared number with no lock. */
export function RawValue(typecode: TypeCode, init = 0): RawSharedValue {
  return new RawSharedValue(typecode, init);
}
