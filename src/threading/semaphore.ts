/**
 * Semaphore and BoundedSemaphore share this engine.
 *
 * | idx | name    | writer              | readers | meaning                                       |
 * |  0  | VALUE   | any (cas/add)       | any     | permits available (the futex word)            |
 * |  1  | WAITERS | waiters (add)       | release | threads/tasks parked or about to park         |
 * |  2  | INITIAL | creator             | any     | the value given at construction               |
 * |  3  | BOUNDED | creator             | any     | 1 for a BoundedSemaphore                      |
 * |  4  | ASYNC   | async waiters (add) | release | the async ones among WAITERS (wait.ts: wakeSome) |
 *
 * Invariants: VALUE ≥ 0; for a bounded one VALUE ≤ INITIAL. A release adds to VALUE before it
 * reads WAITERS (see src/internal/shm/wait.ts for why no wake-up is lost).
 *
 * No owner: as in Python, any thread may release a permit another took, so a permit taken may be
 * a signal consumed or a hand-off in flight. A thread that ends leaves VALUE as it is (as
 * weft/multiprocessing does): giving "its" permits back would invent permits or signals.
 */
import { cas, load, store } from '../internal/atomics.js';
import { checkReleaseCount, describeValue, notAFunction } from '../internal/errors.js';
import { releaser } from '../internal/releaser.js';
import { kShared, registerSharedKind, type SharedState } from '../internal/serialize.js';
import {
  AGAIN,
  type Attempt,
  type Parkable,
  waitAsync,
  waitSync,
  wakeSome,
} from '../internal/shm/wait.js';
import { parseAcquire } from '../internal/wait-options.js';
import { RuntimeError } from './errors.js';
import { type AcquireOptions, refuseTimeoutWithoutBlocking } from './lock-base.js';
import { inspectCustom } from './repr.js';

const VALUE = 0;
const WAITERS = 1;
const INITIAL = 2;
const BOUNDED = 3;
const ASYNC_WAITERS = 4;
const WORDS = 5;
const TRUE = Promise.resolve(true);

/**
 * Python's `threading.Semaphore` across threads: a counter of permits in shared memory.
 * `acquire` takes one (waiting while there are none), `release(n)` gives back n.
 *
 * A semaphore has no owner, as in Python: any thread may release a permit another one took, and
 * the permits a thread took stay taken when it ends (no owner-death recovery, unlike `Lock`).
 *
 * @example
 * const parking = new Semaphore(5);
 * await parking.run(async () => park());
 */
export class Semaphore {
  /** @internal */ readonly _a: Int32Array;
  /** @internal */ static readonly bounded: boolean = false;

  constructor(value = 1) {
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      throw new TypeError(`Semaphore value must be an integer: received ${describeValue(value)}`);
    }
    if (value < 0) throw new RangeError(`Semaphore value must be >= 0: received ${value}`);
    if (value > 0x7fffffff)
      throw new RangeError(`Semaphore value must be < 2^31: received ${value}`);
    this._a = new Int32Array(new SharedArrayBuffer(WORDS * 4));
    store(this._a, VALUE, value);
    store(this._a, INITIAL, value);
    store(this._a, BOUNDED, (new.target as typeof Semaphore).bounded ? 1 : 0);
  }

  /** @internal */
  static _revive<T extends Semaphore>(this: { prototype: T }, sab: SharedArrayBuffer): T {
    const s = Object.create(this.prototype) as T;
    (s as { _a: Int32Array })._a = new Int32Array(sab);
    return s;
  }

  /** Permits available now — a snapshot. */
  get value(): number {
    return load(this._a, VALUE);
  }

  private attempt(): Attempt<true> {
    const a = this._a;
    for (let v = load(a, VALUE); v > 0; v = load(a, VALUE)) {
      if (cas(a, VALUE, v, v - 1) === v) return true;
    }
    return AGAIN;
  }

  private parkable(): Parkable<boolean> {
    const a = this._a;
    return {
      a,
      i: VALUE,
      w: WAITERS,
      aw: ASYNC_WAITERS,
      attempt: () => this.attempt(),
      blocks: (v) => v <= 0,
      timedOut: () => false,
    };
  }

  /**
   * Takes a permit; resolves true, or false if `blocking: false`/`timeout` found none.
   * **Cancellation:** an aborted `signal` rejects with its reason and takes no permit.
   */
  acquire(options?: AcquireOptions): Promise<boolean> {
    try {
      if (options === undefined && this.attempt() === true) return TRUE;
      const { blocking, timeout, signal } = parse('Semaphore.acquire', options);
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (!blocking) return Promise.resolve(this.attempt() === true);
      return waitAsync(this.parkable(), timeout, signal);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Blocking twin of `acquire`. **Blocking:** parks the whole thread; not on a server's main
   * thread. A `signal` counts only if already aborted.
   */
  acquireSync(options?: AcquireOptions): boolean {
    if (options === undefined && this.attempt() === true) return true;
    const { blocking, timeout, signal } = parse('Semaphore.acquireSync', options);
    if (signal?.aborted) throw signal.reason;
    if (!blocking) return this.attempt() === true;
    return waitSync(this.parkable(), timeout, signal);
  }

  /**
   * Gives back `n` permits, waking up to `n` waiters.
   * @throws RangeError for a BoundedSemaphore released above its initial value.
   */
  release(n = 1): void {
    checkReleaseCount(n);
    const a = this._a;
    // A bounded one stops at its initial value; any stops at 2^31 - 1, where the Int32 VALUE
    // would wrap negative and every acquire would park.
    const bounded = load(a, BOUNDED) === 1;
    const limit = bounded ? load(a, INITIAL) : 0x7fffffff;
    for (;;) {
      const v = load(a, VALUE);
      if (v + n > limit) {
        throw new RangeError(
          bounded
            ? `BoundedSemaphore released too many times: value would be ${v + n}, above its initial value ${limit}`
            : `Semaphore released too many times: value would be ${v + n}, above 2^31 - 1`,
        );
      }
      if (cas(a, VALUE, v, v + n) === v) break;
    }
    // After publishing the permits: a waiter counts itself before re-reading VALUE.
    if (load(a, WAITERS) > 0) wakeSome(a, VALUE, ASYNC_WAITERS, n);
  }

  async run<R>(fn: () => R | PromiseLike<R>, options?: AcquireOptions): Promise<Awaited<R>> {
    if (typeof fn !== 'function') throw notAFunction(fn, 'Semaphore.run');
    if (!(await this.acquire(options))) throw timedOut();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  runSync<R>(fn: () => R, options?: AcquireOptions): R {
    if (typeof fn !== 'function') throw notAFunction(fn, 'Semaphore.runSync');
    if (!this.acquireSync(options)) throw timedOut();
    try {
      return fn();
    } finally {
      this.release();
    }
  }

  async hold(options?: AcquireOptions): Promise<Disposable & AsyncDisposable> {
    if (!(await this.acquire(options))) throw timedOut();
    return releaser(() => this.release());
  }

  holdSync(options?: AcquireOptions): Disposable & AsyncDisposable {
    if (!this.acquireSync(options)) throw timedOut();
    return releaser(() => this.release());
  }

  /** Python's repr: `<weft.threading.BoundedSemaphore: value=1/2>` — a snapshot. */
  toString(): string {
    const bounded = load(this._a, BOUNDED) === 1;
    const value = load(this._a, VALUE);
    return bounded
      ? `<weft.threading.BoundedSemaphore: value=${value}/${load(this._a, INITIAL)}>`
      : `<weft.threading.Semaphore: value=${value}>`;
  }

  /** util.inspect shows the repr, not the shared words. */
  [inspectCustom](): string {
    return this.toString();
  }

  /** @internal */
  [kShared](): SharedState {
    const kind =
      load(this._a, BOUNDED) === 1 ? 'threading.BoundedSemaphore' : 'threading.Semaphore';
    return { kind, state: { sab: this._a.buffer } };
  }
}

function parse(what: string, options: AcquireOptions | undefined) {
  const parsed = parseAcquire(what, options);
  refuseTimeoutWithoutBlocking(what, parsed.blocking, parsed.timeout);
  return parsed;
}

function timedOut(): RuntimeError {
  return new RuntimeError(
    'Could not acquire the semaphore before the timeout',
    'ERR_WEFT_LOCK_TIMEOUT',
  );
}

registerSharedKind(
  'threading.Semaphore',
  (s) => Semaphore._revive(s.sab as SharedArrayBuffer),
  import.meta.url,
);
