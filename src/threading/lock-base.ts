/**
 * What `Lock` and `RLock` share: option parsing, the async/sync acquire pair, `run`, `hold` and
 * disposal, on top of LockCore. Not exported from the package.
 */

import { cas } from '../internal/atomics.js';
import { currentContext } from '../internal/context.js';
import { describeValue, notAFunction } from '../internal/errors.js';
import { releaser } from '../internal/releaser.js';
import { kShared, type SharedState } from '../internal/serialize.js';
import { selfTid } from '../internal/shm/world.js';
import { parseAcquire, type WaitOptions } from '../internal/wait-options.js';
import { RuntimeError } from './errors.js';
import { LockCore, type LockState } from './lock-core.js';
import { inspectCustom } from './repr.js';

export interface AcquireOptions extends WaitOptions {
  /** `false`: take the lock only if it is free now; resolves/returns false otherwise. */
  blocking?: boolean;
}

const TRUE = Promise.resolve(true);

/**
 * Python's "can't specify timeout for non-blocking acquire" (ValueError): a RangeError here, for
 * `Lock`, `RLock`, `Semaphore` and `BoundedSemaphore` alike. A timeout of 0 (or a negative one,
 * which the parse made 0) asks for no wait, as `blocking: false` does, and is let through.
 */
export function refuseTimeoutWithoutBlocking(
  what: string,
  blocking: boolean,
  timeout: number | null,
): void {
  if (!blocking && timeout !== null && timeout > 0) {
    throw new RangeError(
      `${what}: a timeout cannot be given with blocking: false: received timeout ${timeout}`,
    );
  }
}

export abstract class LockBase {
  /** @internal */ readonly _core: LockCore;

  protected constructor(kind: 'Lock' | 'RLock', state?: LockState) {
    this._core = new LockCore(kind, state);
  }

  /** The name deadlock reports use (`Lock-3`), the same in every thread. */
  get name(): string {
    return this._core.label;
  }

  /**
   * Acquires the lock; resolves true. `blocking: false` answers at once; with `timeout` (ms) it
   * resolves false when the time runs out. Never blocks the event loop.
   *
   * **Cancellation:** an aborted `signal` rejects with its reason and leaves no waiter behind.
   * An RLock re-enters here only for the asyncio task that took it asynchronously; any other
   * async acquire by its thread waits for the release (see RLock).
   * @throws DeadlockError when an untimed wait would close a wait-for cycle of blocked threads,
   *   or when the asyncio task that holds a Lock acquires it again. Another task of the holding
   *   thread waits: the holder may release it.
   * @throws OwnerDiedError when the previous holder ended holding it (the lock is free after).
   */
  acquire(options?: AcquireOptions): Promise<boolean> {
    const c = this._core;
    // Fast path: free lock, no options; no promise allocated.
    if (options === undefined && cas(c.a, c.st, 0, selfTid) === 0) {
      c.noteAcquired(currentContext());
      return TRUE;
    }
    try {
      const { blocking, timeout, signal } = this.parse('acquire', options);
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (!blocking) return Promise.resolve(c.tryAcquireAsync());
      return c.acquireAsync(timeout, signal);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * The blocking twin of `acquire`: parks the calling thread (Atomics.wait) until the lock is
   * taken or the timeout passes.
   *
   * **Blocking:** it stops the whole thread, event loop included — use it in worker CPU code,
   * never on the main thread of a server. A `signal` is honoured only if already aborted: a
   * parked thread runs nothing that could abort it.
   */
  acquireSync(options?: AcquireOptions): boolean {
    const c = this._core;
    if (options === undefined && cas(c.a, c.st, 0, selfTid) === 0) {
      c.noteAcquired(null);
      return true;
    }
    const { blocking, timeout, signal } = this.parse('acquireSync', options);
    if (signal?.aborted) throw signal.reason;
    if (!blocking) return c.tryAcquireSync();
    return c.acquireSync(timeout, signal);
  }

  /**
   * Releases the lock.
   * @throws RuntimeError (`ERR_WEFT_LOCK_NOT_HELD`) when it is not held.
   */
  release(): void {
    this._core.release();
  }

  /** Whether the lock is held — a snapshot: another thread may change it the next instant. */
  locked(): boolean {
    return this._core.locked();
  }

  /** Holds the lock around `fn` (Python's `with lock:`); returns what `fn` returns. */
  async run<R>(fn: () => R | PromiseLike<R>, options?: AcquireOptions): Promise<Awaited<R>> {
    if (typeof fn !== 'function') throw notAFunction(fn, `${this._core.kind}.run`);
    if (!(await this.acquire(options))) throw this.timedOut();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** `run` for synchronous code on a thread that may block. */
  runSync<R>(fn: () => R, options?: AcquireOptions): R {
    if (typeof fn !== 'function') throw notAFunction(fn, `${this._core.kind}.runSync`);
    if (!this.acquireSync(options)) throw this.timedOut();
    try {
      return fn();
    } finally {
      this.release();
    }
  }

  /** Acquires, and returns a handle whose disposal releases: `using _ = await lock.hold()`. */
  async hold(options?: AcquireOptions): Promise<Disposable & AsyncDisposable> {
    if (!(await this.acquire(options))) throw this.timedOut();
    return releaser(() => this.release());
  }

  /** `hold` for a thread that may block: `using _ = lock.holdSync()`. */
  holdSync(options?: AcquireOptions): Disposable & AsyncDisposable {
    if (!this.acquireSync(options)) throw this.timedOut();
    return releaser(() => this.release());
  }

  /** Python's repr: `<unlocked weft.threading.Lock object Lock-1>` — a snapshot. */
  toString(): string {
    return this._core.describe();
  }

  /** util.inspect shows the repr, not the shared table the lock lives in. */
  [inspectCustom](): string {
    return this.toString();
  }

  /** @internal */
  [kShared](): SharedState {
    return {
      kind: `threading.${this._core.kind}`,
      state: this._core.state() as Record<string, unknown>,
    };
  }

  private parse(method: string, options: AcquireOptions | undefined) {
    const what = `${this._core.kind}.${method}`;
    if (options !== undefined && (typeof options !== 'object' || options === null)) {
      throw new TypeError(`${what}: options must be an object: received ${describeValue(options)}`);
    }
    // Python's Lock.acquire: ValueError for a negative timeout other than -1 ("for ever").
    const parsed = parseAcquire(what, options, 'lock');
    refuseTimeoutWithoutBlocking(what, parsed.blocking, parsed.timeout);
    return parsed;
  }

  private timedOut(): RuntimeError {
    return new RuntimeError(
      `Could not acquire ${this.name} before the timeout`,
      'ERR_WEFT_LOCK_TIMEOUT',
    );
  }
}
