import { checkReleaseCount, describeValue, notAFunction } from '../internal/errors.js';
import { releaser } from '../internal/releaser.js';
import { type ParsedAcquire, parseAcquire } from '../internal/wait-options.js';
import { CallWaits, tieCall, tieInnerWait, Waiter, WaiterList } from '../internal/waiter.js';
import { RuntimeError } from './errors.js';
import { type AcquireOptions, holdWaited } from './lock.js';

const TRUE = Promise.resolve(true);
const FALSE = Promise.resolve(false);

/**
 * An asyncio Semaphore: a counter of permits; `acquire` takes one (waiting while none is
 * free), `release(n)` gives `n` back.
 *
 * Waiters are served FIFO and a release hands its permit straight to the first waiter, so a
 * newcomer never overtakes a task that was already waiting. As in CPython, a newcomer also
 * waits while a woken waiter has not resumed yet, even if permits are free: the woken task then
 * wakes as many waiters as the free permits allow, so tasks run in the order they asked.
 *
 * **Cancellation:** a cancelled or aborted `acquire` leaves no waiter; a permit already handed to
 * the cancelled task goes to the next waiter (no leaked permit).
 */
export class Semaphore {
  /** @internal */ _value: number;
  /** @internal The most permits there may be free: BoundedSemaphore's value, else Infinity. */
  _bound = Number.POSITIVE_INFINITY;
  private readonly waiters = new WaiterList();
  /** Waiters handed a permit that have not resumed yet (CPython's done-but-queued futures). */
  private woken = 0;

  constructor(value = 1) {
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      throw new TypeError(`Semaphore value must be an integer: received ${describeValue(value)}`);
    }
    if (value < 0) throw new RangeError(`Semaphore value must be >= 0: received ${value}`);
    this._value = value;
  }

  /** True when `acquire` would wait now: no permit is free, or tasks are ahead in the queue
   * (a snapshot). */
  locked(): boolean {
    return this._value === 0 || this.woken > 0 || this.waiters.size > 0;
  }

  /** Free permits now (a snapshot). */
  get value(): number {
    return this._value;
  }

  acquire(options?: AcquireOptions): Promise<boolean> {
    if (options === undefined && !this.locked()) {
      this._value--;
      return TRUE;
    }
    let parsed: ParsedAcquire;
    // Bad options reject, as in Lock.acquire.
    try {
      parsed = parseAcquire('Semaphore.acquire', options);
    } catch (e) {
      return Promise.reject(e);
    }
    const { timeout, signal, blocking } = parsed;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (!this.locked()) {
      this._value--;
      return TRUE;
    }
    if (!blocking || timeout === 0) return FALSE;
    // No onRevoke yet: only a waiter handed a permit (in `give`) has one to pass on. A wait that
    // timed out and is then cancelled before it resumes must not create a permit.
    const w = new Waiter<boolean>(this);
    this.waiters.push(w);
    if (timeout !== null) w.setTimeout(timeout, (x) => x.withdraw(true, false));
    if (signal !== null) w.setSignal(signal);
    // The promise returned is not the waiter's: tied to the wait (see `CallWaits`), so that a
    // combinator given it (`gather(sem.acquire())`, `ensureFuture`) takes the wait over and its
    // cancel reaches the wait; untied, the cancel left the wait queued, and the permit the next
    // release gave it was lost.
    const call = new CallWaits();
    call.add(w);
    return tieCall(
      w.block().then((granted) => {
        if (granted) this.resumed();
        // A cancel that reached a taken-over call after its wait resumed, before this ran:
        // the permit goes back, and the call raises it.
        call.raiseLate(granted ? () => this.release() : undefined);
        return granted;
      }),
      call,
    );
  }

  /** A woken waiter runs: newcomers that queued behind it while permits were free go now. */
  private resumed(): void {
    this.woken--;
    while (this._value > 0 && this.waiters.size > 0) {
      this._value--;
      this.give(1);
    }
  }

  /** Gives back `n` permits (default 1), waking up to `n` waiters. */
  release(n = 1): void {
    // The common release: one permit, nobody waiting, below the bound (the hot path of
    // `async with sem:`).
    if (n === 1 && this.waiters.size === 0 && this._value < this._bound) {
      this._value++;
      return;
    }
    checkReleaseCount(n);
    if (this._value + n > this._bound) {
      throw new RangeError(
        `BoundedSemaphore released too many times: ${this._value} of ${this._bound} permits are free, releasing ${n} more`,
      );
    }
    this.give(n);
  }

  private give(n: number): void {
    for (; n > 0; n--) {
      const w = this.waiters.shift();
      if (w === null) {
        // The rest at once: counting up one by one made `release(2 ** 40)` hang.
        this._value += n;
        return;
      } else {
        this.woken++;
        w.onRevoke = () => {
          this.woken--;
          this.give(1);
        };
        w.wake(true);
      }
    }
  }

  /** Holds one permit around `fn` (Python's `async with sem:`). */
  async run<R>(fn: () => R | PromiseLike<R>, options?: AcquireOptions): Promise<Awaited<R>> {
    if (typeof fn !== 'function') throw notAFunction(fn, 'Semaphore.run');
    if (!(await this.acquire(options))) throw timedOut();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** Takes a permit and returns a handle whose disposal gives it back: `using _ = await sem.hold()`. */
  hold(options?: AcquireOptions): Promise<Disposable & AsyncDisposable> {
    if (options === undefined && !this.locked()) {
      void this.acquire(); // a permit is free: taken at once
      return Promise.resolve(releaser(() => this.release()));
    }
    // Its wait is `acquire`'s: tied to this promise, for a combinator given it (waiter.ts).
    return tieInnerWait((call) => holdWaited(this, options, call, timedOut));
  }

  describe(): string {
    return `a ${this.constructor.name}`;
  }
}

/** What `run` and `hold` throw when their `timeout` runs out first. */
function timedOut(): RuntimeError {
  return new RuntimeError(
    'Could not acquire the semaphore before the timeout',
    'ERR_WEFT_SEMAPHORE_TIMEOUT',
  );
}
