import { type IntegerArray, loadElement, storeElement } from '../internal/atomics.js';
import { describeValue } from '../internal/errors.js';
import { kShared, registerSharedKind, type SharedState } from '../internal/serialize.js';
import { RLock } from './rlock.js';
import {
  type CodeOf,
  ctorOf,
  type ElementOf,
  isAtomic,
  isBig,
  type TypeCode,
  type Typed,
} from './typecodes.js';

export interface SharedOptions {
  /** `true` (default) gives it a fresh RLock, `false` none, or the Lock/RLock to use. */
  lock?: boolean | RLock | import('./lock.js').Lock;
}

type Scalar = number | bigint;

/**
 * A shared scalar (Python's `multiprocessing.Value`, here for threads): one number in shared
 * memory that every thread it is passed to reads and writes. Isolates share no heap, so this —
 * not a module variable — is how threads share data.
 *
 * `value` reads and writes are single atomic loads/stores for integer types, but `v.value += 1`
 * is a read then a write: hold `getLock()` around it, as in Python.
 *
 * @example
 * const counter = Value('i', 0);
 * await counter.getLock().run(() => { counter.value += 1; });
 */
export class SharedValue<T extends Scalar = number> {
  /** @internal */ readonly _view: Typed;
  readonly typecode: TypeCode;
  private readonly _lock: RLock | import('./lock.js').Lock | null;

  /** @internal */
  constructor(typecode: TypeCode, view: Typed, lock: RLock | import('./lock.js').Lock | null) {
    this.typecode = typecode;
    this._view = view;
    this._lock = lock;
  }

  get value(): T {
    const v = this._view;
    return (isAtomic(this.typecode) ? loadElement(v as IntegerArray, 0) : v[0]) as T;
  }

  set value(x: T) {
    const v = this._view;
    checkElement('Value', this.typecode, x);
    if (isAtomic(this.typecode)) storeElement(v as IntegerArray, 0, x);
    else v[0] = x as number;
  }

  /** The lock that guards the value (Python's `get_lock()`). */
  getLock(): RLock | import('./lock.js').Lock {
    if (!this._lock)
      throw new TypeError('This Value was created with { lock: false } and has no lock');
    return this._lock;
  }

  valueOf(): T {
    return this.value;
  }

  /** @internal */
  [kShared](): SharedState {
    return {
      kind: 'threading.Value',
      state: { sab: this._view.buffer, type: this.typecode, lock: this._lock },
    };
  }
}

/**
 * Refuses what an element of type `code` cannot hold: a bigint code takes bigints, a float code
 * numbers, an integer code integers. A fraction, NaN or ±Infinity for an integer code is a
 * TypeError, as Python's ctypes raises for a float there (the typed array stored 1.5 as 1 and NaN
 * as 0, silently), and as weft/multiprocessing's Value does. An integer out of range wraps to the
 * code's width, as in C and in Python.
 */
export function checkElement(what: string, code: TypeCode, x: unknown): void {
  if (isBig(code) ? typeof x !== 'bigint' : typeof x !== 'number') {
    throw new TypeError(
      `${what} of type '${code}' holds ${isBig(code) ? 'bigints' : 'numbers'}: received ${describeValue(x)}`,
    );
  }
  if (isAtomic(code) && !isBig(code) && !Number.isInteger(x)) {
    throw new TypeError(`${what} of type '${code}' holds integers: received ${describeValue(x)}`);
  }
}

export function lockOf(
  what: string,
  lock: SharedOptions['lock'],
): RLock | import('./lock.js').Lock | null {
  if (lock === undefined || lock === true) return new RLock();
  if (lock === false) return null;
  if (typeof lock === 'object' && lock !== null && typeof (lock as RLock).acquire === 'function')
    return lock;
  throw new TypeError(
    `${what}: lock must be true, false, a Lock or an RLock: received ${describeValue(lock)}`,
  );
}

/**
 * Python's `Value(typecode, value)`: a shared scalar with a lock. The type code gives the type
 * of the value: a bigint for `'l'`, `'L'`, `'q'` and `'Q'`, a number for the others
 * (`Value('q', 0n)` is a `SharedValue<bigint>`; `Value('q', 0)` does not compile). The element
 * type may also be given (`Value<bigint>('q')`), and must match the code.
 */
export function Value<const C extends TypeCode>(
  type: C,
  init?: ElementOf<C>,
  options?: SharedOptions,
): SharedValue<ElementOf<C>>;
export function Value<T extends Scalar>(
  type: CodeOf<T>,
  init?: NoInfer<T>,
  options?: SharedOptions,
): SharedValue<T>;
export function Value<T extends Scalar = number>(
  type: TypeCode,
  init?: NoInfer<T>,
  options: SharedOptions = {},
): SharedValue<T> {
  const ctor = ctorOf('Value', type);
  const view = new ctor(new SharedArrayBuffer(8), 0, 1);
  const v = new SharedValue<T>(type, view, lockOf('Value', options.lock));
  if (init !== undefined) v.value = init;
  return v;
}

registerSharedKind(
  'threading.Value',
  (s) => {
    const type = s.type as TypeCode;
    const view = new (ctorOf('Value', type))(s.sab as SharedArrayBuffer, 0, 1);
    return new SharedValue(type, view, (s.lock as RLock | null) ?? null);
  },
  import.meta.url,
);
