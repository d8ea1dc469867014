import { describeValue } from '../internal/errors.js';
import type { TypeCode } from '../threading/typecodes.js';
import { Lock } from './lock.js';
import { RawSharedValue } from './raw-value.js';
import { RLock } from './rlock.js';
import { registerKind, type SharedInit } from './shared-object.js';

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

/**
 * The object `Value(typecode, init)` returns (Python's `multiprocessing.Value`): a `RawValue`
 * (src/multiprocessing/raw-value.ts: `.value`, `get()`/`set()`, the atomic `add(n)`) with a lock,
 * as Python's `Value` is `synchronized(RawValue(...))`. `getLock()` guards longer sequences as in
 * Python (`v.getLock().runSync(() => { v.value += 1; })`), and `getObj()` is the raw value under
 * the lock, as Python's `get_obj()`.
 */
export class SharedValue extends RawSharedValue {
  readonly #lock: Lock | null;
  /** `getObj()`'s handle, made at its first call. */
  #obj: RawSharedValue | null = null;

  constructor(typecode: string, init = 0, options: SharedOptions = {}, shared?: SharedInit) {
    super(typecode, init, shared, () => lockOption('Value', options));
    // A revived handle's params hold its lock revived too.
    this.#lock = (this._params.lock as Lock | null) ?? null;
  }

  protected override _kind(): string {
    return 'mp:Value';
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
  /**
   * Python's `get_obj()`: the raw value under the lock, a `RawValue` handle on the same number —
   * the same handle at every call, as Python's is the same ctypes object. Its reads and writes
   * do not take the lock (Python's neither): hold `getLock()` around what must not interleave.
   * @throws TypeError when created with lock: false (Python's is then the raw value itself,
   *   which has no `get_obj()`).
   */
  getObj(): RawSharedValue {
    if (!this.#lock)
      throw new TypeError(
        'This Value was created with { lock: false }: it is a raw value itself, with no getObj()',
      );
    this.#obj ??= RawSharedValue._revive({ id: this._id, params: { ...this._params, lock: null } });
    return this.#obj;
  }
  /** @internal */
  static override _revive(init: SharedInit): SharedValue {
    return new SharedValue('', 0, {}, init);
  }
}

registerKind('mp:Value', (s) => SharedValue._revive(s), import.meta.url);

/**
 * What `Value(typecode, init, { lock: false })` gives: Python's raw object (a `c_int`, not a
 * `Synchronized`), which `synchronized()` and `copy()` take as they take a `RawValue`. It is a
 * `SharedValue` still, whose `getLock()` and `getObj()` only throw (`never`).
 */
export type UnlockedValue = { getLock(): never; getObj(): never } & SharedValue;

/** Python's `multiprocessing.Value(typecode, init)`. */
export function Value(
  typecode: TypeCode,
  init: number | undefined,
  options: SharedOptions & { lock: false },
): UnlockedValue;
export function Value(typecode: TypeCode, init?: number, options?: SharedOptions): SharedValue;
export function Value(typecode: TypeCode, init = 0, options: SharedOptions = {}): SharedValue {
  return new SharedValue(typecode, init, options);
}
