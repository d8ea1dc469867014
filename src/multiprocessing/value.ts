import { describeValue } from '../internal/errors.js';
import { broker } from '../internal/process/broker-client.js';
import { brokerSync } from '../internal/process/broker-sync.js';
import { inSharedMemory, sentToBroker, useSlab } from '../internal/process/data-route.js';
import { mappedSlab, readySlab, slotOffset } from '../internal/process/lock-slab.js';
import { coercer } from '../internal/process/typecodes.js';
import { ValueCell } from '../internal/process/value-cell.js';
import type { TypeCode } from '../threading/typecodes.js';
import { Lock, slotForNew } from './lock.js';
import { RLock } from './rlock.js';
import { registerKind, type SharedInit, SharedObject } from './shared-object.js';

/** The options of `Value` and `Array`. */
export interface SharedOptions {
  /**
   * `true` (the default): a new RLock guards the object; `false`: none (`getLock()` throws); a
   * `Lock` or `RLock` of this module: that one, as Python's `lock=` takes an existing lock.
   */
  lock?: boolean | Lock;
}

/**
 * The lock `options` ask for. Anything else is a TypeError: a plain `Lock` used to be replaced
 * by a fresh RLock that no other code takes, so the caller's critical sections did not exclude
 * each other; a lock of another module or a typo would do the same.
 * @internal
 */
export function lockOption(what: string, options: SharedOptions): Lock | null {
  if (typeof options !== 'object' || options === null)
    throw new TypeError(`${what} options must be an object: received ${describeValue(options)}`);
  const { lock } = options;
  if (lock === undefined || lock === true) return new RLock();
  if (lock === false) return null;
  if (lock instanceof Lock) return lock;
  throw new TypeError(
    `${what} lock must be true, false or a weft/multiprocessing Lock or RLock: received ${describeValue(lock)}`,
  );
}

/** The cell of slot `slot` in `slab`, if the Value has a slot. */
function cellIn(slab: Int32Array | null, slot: unknown, typecode: string): ValueCell | null {
  if (slab === null || typeof slot !== 'number' || slot < 0) return null;
  return new ValueCell(slab.buffer, slotOffset(slot), typecode);
}

/**
 * The object `Value(typecode, init)` returns (Python's `multiprocessing.Value`): a number shared
 * by processes, with a lock (`getLock()`). The number lives in memory the processes share (a
 * slot of the lock slab, src/internal/process/value-cell.ts), as Python's is a ctypes object in
 * shared memory: `.value` reads and writes it in the calling thread, `get()`/`set()` are the
 * same as Promises, and `add(n)` is an atomic read-modify-write (no lock needed). `getLock()`
 * guards longer sequences as in Python (`v.getLock().runSync(() => { v.value += 1; })`).
 * Without the shm addon the number lives in the broker, and each of those is a round trip
 * (`.value` parks the thread meanwhile).
 */
export class SharedValue extends SharedObject {
  readonly typecode: string;
  readonly #lock: Lock | null;
  /** Its cell, once this thread uses the slab for it (null: the broker has the number). */
  #cell: ValueCell | null = null;

  constructor(
    typecode: string,
    init = 0,
    options: SharedOptions = {},
    shared?: SharedInit & { lock: Lock | null },
  ) {
    const c = coercer(shared ? (shared.params.typecode as string) : typecode);
    if (!shared && typeof init !== 'number')
      throw new TypeError(`Value init must be a number: received ${describeValue(init)}`);
    // Checked before a slot is taken (its lock's too) or written: a TypeError, as in Python.
    const first = shared ? 0 : c(init);
    const lock = shared ? shared.lock : lockOption('Value', options);
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
    this.#lock = lock;
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
    return 'mp:Value';
  }
  /**
   * The value, read synchronously (Python's `.value`). Without the shm addon, **blocking:** a
   * broker round trip.
   */
  get value(): number {
    const cell = this.#live(true);
    if (cell !== null) return cell.get();
    return brokerSync().request('dataGet', this._id, []) as number;
  }

  /**
   * Writes the value synchronously, wrapped to the type code. Without the shm addon,
   * **blocking:** a broker round trip.
   */
  set value(v: number) {
    if (typeof v !== 'number')
      throw new TypeError(`Value.value must be a number: received ${describeValue(v)}`);
    const x = coercer(this.typecode)(v);
    const cell = this.#live(true);
    if (cell !== null) cell.set(v);
    else brokerSync().request('dataSet', this._id, [x, v]);
  }

  /** Resolves to the value, without blocking this thread. */
  async get(): Promise<number> {
    const cell = this.#live(false);
    if (cell !== null) return cell.get();
    this.#toBroker();
    return (await broker().request('dataGet', this._id, [])) as number;
  }
  async set(v: number): Promise<void> {
    if (typeof v !== 'number')
      throw new TypeError(`Value.set expects a number: received ${describeValue(v)}`);
    const x = coercer(this.typecode)(v);
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
    coercer(this.typecode)(n);
    const cell = this.#live(false);
    if (cell !== null) return cell.add(n);
    this.#toBroker();
    return (await broker().request('dataOp', this._id, ['incr', n, this.typecode])) as number;
  }
  /**
   * The lock guarding the value (Python's get_lock()): the one given as `lock`, else an RLock.
   * @throws TypeError when created with lock: false.
   */
  getLock(): Lock {
    if (!this.#lock)
      throw new TypeError('This Value was created with { lock: false }: it has no lock');
    return this.#lock;
  }
  /** @internal */
  static _revive(init: SharedInit): SharedValue {
    return new SharedValue('', 0, {}, { ...init, lock: (init.params.lock as Lock | null) ?? null });
  }
}

registerKind('mp:Value', (s) => SharedValue._revive(s), import.meta.url);

/** Python's `multiprocessing.Value(typecode, init)`. */
export function Value(typecode: TypeCode, init = 0, options: SharedOptions = {}): SharedValue {
  return new SharedValue(typecode, init, options);
}
