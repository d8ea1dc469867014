import { describeValue } from '../internal/errors.js';
import { broker } from '../internal/process/broker-client.js';
import { brokerSync } from '../internal/process/broker-sync.js';
import { coercer } from '../internal/process/typecodes.js';
import type { TypeCode } from '../threading/typecodes.js';
import { Lock } from './lock.js';
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

/**
 * The object `Value(typecode, init)` returns (Python's `multiprocessing.Value`): a number shared
 * by processes, with a lock (`getLock()`). The value lives in the broker: `.value` reads and
 * writes it synchronously (a round trip, this thread parked meanwhile), `get()`/`set()` without
 * blocking (Promises). `add(n)` is an atomic read-modify-write (no lock needed); `getLock()`
 * guards longer sequences as in Python (`v.getLock().runSync(() => { v.value += 1; })`).
 */
export class SharedValue extends SharedObject {
  readonly typecode: string;
  readonly #lock: Lock | null;

  constructor(
    typecode: string,
    init = 0,
    options: SharedOptions = {},
    shared?: SharedInit & { lock: Lock | null },
  ) {
    const c = coercer(shared ? (shared.params.typecode as string) : typecode);
    if (!shared && typeof init !== 'number')
      throw new TypeError(`Value init must be a number: received ${describeValue(init)}`);
    const lock = shared ? shared.lock : lockOption('Value', options);
    super('data', { typecode, init: c(init), lock }, shared);
    this.typecode = this._params.typecode as string;
    this.#lock = lock;
  }
  protected _kind(): string {
    return 'mp:Value';
  }
  /** The value, read synchronously (Python's `.value`). **Blocking:** a broker round trip. */
  get value(): number {
    return brokerSync().request('dataGet', this._id, []) as number;
  }

  /** Writes the value synchronously, coerced to the type code. **Blocking:** a broker round trip. */
  set value(v: number) {
    if (typeof v !== 'number')
      throw new TypeError(`Value.value must be a number: received ${describeValue(v)}`);
    brokerSync().request('dataSet', this._id, [coercer(this.typecode)(v)]);
  }

  /** Resolves to the value, without blocking this thread. */
  async get(): Promise<number> {
    return (await broker().request('dataGet', this._id, [])) as number;
  }
  async set(v: number): Promise<void> {
    if (typeof v !== 'number')
      throw new TypeError(`Value.set expects a number: received ${describeValue(v)}`);
    await broker().request('dataSet', this._id, [coercer(this.typecode)(v)]);
  }
  /**
   * Adds `n` atomically; resolves to the new value, wrapped to the type code as `.value =`
   * stores it. @throws TypeError for a non-integer `n` on an integer code.
   */
  async add(n: number): Promise<number> {
    if (typeof n !== 'number')
      throw new TypeError(`Value.add expects a number: received ${describeValue(n)}`);
    coercer(this.typecode)(n);
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
