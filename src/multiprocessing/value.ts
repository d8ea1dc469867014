import { describeValue } from '../internal/errors.js';
import { broker } from '../internal/process/broker-client.js';
import { brokerSync } from '../internal/process/broker-sync.js';
import { RLock } from './rlock.js';
import { registerKind, type SharedInit, SharedObject } from './shared-object.js';

/** ctypes-style type codes (Python's array module letters) and how a value is coerced to them. */
export const TYPECODES: Record<string, (v: number) => number> = {
  b: (v) => (v << 24) >> 24,
  B: (v) => v & 0xff,
  h: (v) => (v << 16) >> 16,
  H: (v) => v & 0xffff,
  i: (v) => v | 0,
  I: (v) => v >>> 0,
  l: (v) => v | 0,
  L: (v) => v >>> 0,
  q: (v) => Math.trunc(v),
  Q: (v) => Math.trunc(Math.abs(v)),
  f: (v) => Math.fround(v),
  d: (v) => v,
};

export function coercer(type: string): (v: number) => number {
  const c = TYPECODES[type];
  if (!c)
    throw new TypeError(
      `Unknown type code ${describeValue(type)}: use one of ${Object.keys(TYPECODES).join(' ')}`,
    );
  return c;
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
  readonly #lock: RLock | null;

  constructor(
    typecode: string,
    init = 0,
    options: { lock?: boolean | RLock } = {},
    shared?: SharedInit & { lock: RLock | null },
  ) {
    const c = coercer(shared ? (shared.params.typecode as string) : typecode);
    if (!shared && typeof init !== 'number')
      throw new TypeError(`Value init must be a number: received ${describeValue(init)}`);
    const lock = shared
      ? shared.lock
      : options.lock === false
        ? null
        : options.lock instanceof RLock
          ? options.lock
          : new RLock();
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
  /** Adds `n` atomically; resolves to the new value. */
  async add(n: number): Promise<number> {
    return (await broker().request('dataOp', this._id, ['incr', n])) as number;
  }
  /** The lock guarding the value (Python's get_lock()). @throws TypeError when created with lock: false. */
  getLock(): RLock {
    if (!this.#lock)
      throw new TypeError('This Value was created with { lock: false }: it has no lock');
    return this.#lock;
  }
  /** @internal */
  static _revive(init: SharedInit): SharedValue {
    return new SharedValue(
      '',
      0,
      {},
      { ...init, lock: (init.params.lock as RLock | null) ?? null },
    );
  }
}

registerKind('mp:Value', (s) => SharedValue._revive(s), import.meta.url);

/** Python's `multiprocessing.Value(typecode, init)`. */
export function Value(
  typecode: string,
  init = 0,
  options: { lock?: boolean | RLock } = {},
): SharedValue {
  return new SharedValue(typecode, init, options);
}
