import { RuntimeError } from '../asyncio/errors.js';
import { currentTask, type Task } from '../asyncio/task.js';
import { notAFunction } from '../internal/errors.js';
import { releaser } from '../internal/releaser.js';
import { parseAcquire } from '../internal/wait-options.js';
import { CallWaits, tieCall } from '../internal/waiter.js';
import { type AcquireOptions, Semaphore } from './semaphore.js';
import { Timeout } from './timeout.js';

const TRUE: Promise<boolean> = Promise.resolve(true);
/** The owner when the main program (outside every greenlet and task) holds the lock. */
const MAIN: unique symbol = Symbol('the main program');
type Owner = Task<unknown> | typeof MAIN;
let rlockCounter = 0;

function currentOwner(): Owner {
  return currentTask() ?? MAIN;
}

function describeOwner(o: Owner): string {
  return o === MAIN ? 'the main program' : o.describe();
}

/**
 * gevent's `RLock`: a lock that the greenlet holding it may acquire again; each `acquire` needs
 * its `release`, and the lock is free once the last one is made. Only the holder may release it.
 * The holder is the greenlet (or asyncio task, or the main program) that acquired it — unlike
 * weft/threading's `RLock`, whose holder is a thread, so it keeps two greenlets apart.
 *
 * It is gevent's: a `Semaphore(1)` and a count, so greenlets waiting for it are served as the
 * Semaphore serves them (in order, a greenlet that acquires before the woken one resumes
 * first). `acquire({ blocking: false })` and `{ timeout }` resolve false when it is not had.
 * `using _ = await lock.hold()` or `await lock.run(fn)` hold it around a block (gevent's `with
 * lock:`).
 *
 * **Cancellation:** a greenlet killed (or a task cancelled, a `signal` aborted, a `Timeout`
 * expired) while it waits in `acquire` gets that error there and does not hold the lock.
 *
 * @throws LoopExit from a wait of the main program that nothing is left to end (the lock is
 *   held by a greenlet that waits for ever, or by nobody that will run again).
 *
 * @example
 * const lock = new RLock();
 * await lock.run(async () => {
 *   await lock.run(() => 'again'); // the holder may take it again
 * });
 */
export class RLock {
  private readonly block: Semaphore;
  private owner: Owner | null = null;
  private count = 0;
  private readonly id = ++rlockCounter;

  constructor() {
    this.block = new LockSemaphore(this);
  }

  /**
   * Acquires the lock: at once (one level more) when the caller holds it; else resolves true
   * once it has it, false with `blocking: false` when another holds it, or when `timeout`
   * passes first.
   * @throws LoopExit (see the class).
   */
  acquire(options?: AcquireOptions): Promise<boolean> {
    const me = currentOwner();
    if (this.owner === me) {
      if (options !== undefined) {
        // Checked even when the answer is there (the weft-wide rule).
        try {
          const { signal } = parseAcquire('RLock.acquire', options);
          if (signal?.aborted) return Promise.reject(signal.reason);
        } catch (e) {
          return Promise.reject(e);
        }
      }
      this.count++;
      return TRUE;
    }
    if (options === undefined && this.block.counter > 0) {
      void this.block.acquire(); // free: taken at once
      this.owner = me;
      this.count = 1;
      return TRUE;
    }
    const call = new CallWaits();
    return tieCall(this.acquireSlow(me, options, call), call);
  }

  private async acquireSlow(
    me: Owner,
    options: AcquireOptions | undefined,
    call: CallWaits,
  ): Promise<boolean> {
    const ok = await this.block._acquireIn(options, call);
    if (!ok) return false;
    // A cancel that came after the wait resumed: the lock is given back, and the call raises it.
    call.raiseLate(() => this.block.release());
    this.owner = me;
    this.count = 1;
    return true;
  }

  /**
   * Releases one level; the last one frees the lock for the next waiter.
   * @throws RuntimeError when the caller does not hold the lock (nobody does, or another does).
   */
  release(): void {
    const me = currentOwner();
    if (this.owner !== me) {
      const held =
        this.owner === null
          ? 'it is not held'
          : `it is held by ${describeOwner(this.owner)}, not by ${describeOwner(me)}`;
      throw new RuntimeError(
        `Cannot release ${this.describe()}: ${held}`,
        'ERR_WEFT_LOCK_NOT_HELD',
      );
    }
    if (--this.count === 0) {
      this.owner = null;
      this.block.release();
    }
  }

  /** Holds the lock around `fn` (gevent's `with lock:`); returns what `fn` returns. */
  async run<R>(fn: () => R | PromiseLike<R>, options?: AcquireOptions): Promise<Awaited<R>> {
    if (typeof fn !== 'function') throw notAFunction(fn, 'RLock.run');
    using _ = await this.hold(options);
    return await fn();
  }

  /**
   * Acquires the lock and returns a handle whose disposal releases it: `using _ = await
   * lock.hold()`. Dispose of it in the greenlet that acquired it.
   * @throws Timeout when `timeout` passes first (or, with `blocking: false`, another holds it).
   */
  async hold(options?: AcquireOptions): Promise<Disposable & AsyncDisposable> {
    if (!(await this.acquire(options))) {
      const t = options?.timeout;
      throw new Timeout(typeof t === 'number' && t > 0 ? t : 0);
    }
    return releaser(() => this.release());
  }

  /** `RLock-3`, for messages. */
  describe(): string {
    return `RLock-${this.id}`;
  }

  /** @internal For LoopExit's message: who holds it now. */
  _describeHolder(): string {
    return this.owner === null ? 'nobody' : describeOwner(this.owner);
  }

  get [Symbol.toStringTag](): string {
    return 'RLock';
  }
}

/** The Semaphore under an RLock, named after it in a LoopExit's message. */
class LockSemaphore extends Semaphore {
  constructor(private readonly lock: RLock) {
    super(1);
  }
  protected override get kind(): string {
    return 'RLock';
  }
  override describe(): string {
    return `${this.lock.describe()} (held by ${this.lock._describeHolder()})`;
  }
}
