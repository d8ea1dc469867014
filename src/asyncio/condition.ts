import { CancelledError, describeValue, notAFunction } from '../internal/errors.js';
import { parseWait, type WaitOptions } from '../internal/wait-options.js';
import { CallWaits, tieCall, Waiter, WaiterList } from '../internal/waiter.js';
import { RuntimeError } from './errors.js';
import { type AcquireOptions, Lock } from './lock.js';

/**
 * An asyncio Condition: lets tasks wait, holding a lock, until another task notifies them.
 *
 * `wait()` releases the lock, waits for `notify`, and re-acquires the lock before returning —
 * even when the wait is cancelled (the CancelledError is raised once the lock is held again,
 * as in CPython). Waiters are notified FIFO.
 *
 * **Cancellation:** a waiter cancelled after `notify` chose it passes the notification to the
 * next waiter, so `notify(1)` is never lost.
 */
export class Condition {
  readonly lock: Lock;
  private readonly waiters = new WaiterList();

  constructor(lock?: Lock) {
    if (lock !== undefined && !(lock instanceof Lock)) {
      throw new TypeError(`Condition expects an asyncio Lock: received ${describeValue(lock)}`);
    }
    this.lock = lock ?? new Lock({ name: 'Condition.lock' });
  }

  locked(): boolean {
    return this.lock.locked();
  }

  acquire(options?: AcquireOptions): Promise<boolean> {
    return this.lock.acquire(options);
  }

  release(): void {
    this.lock.release();
  }

  run<R>(fn: () => R | PromiseLike<R>, options?: AcquireOptions): Promise<Awaited<R>> {
    if (typeof fn !== 'function') return Promise.reject(notAFunction(fn, 'Condition.run'));
    return this.lock.run(fn, options);
  }

  hold(options?: AcquireOptions): Promise<Disposable & AsyncDisposable> {
    return this.lock.hold(options);
  }

  /**
   * Releases the lock, waits to be notified, re-acquires the lock. Resolves true when notified,
   * false when `timeout` (ms) expired first.
   * @throws RuntimeError if the lock is not held.
   */
  wait(options?: WaitOptions): Promise<boolean> {
    const call = new CallWaits();
    return tieCall(this.waitIn(options, call), call);
  }

  /** `wait`, its waits (the notification, the re-acquire) recorded in `call`. */
  private async waitIn(options: WaitOptions | undefined, call: CallWaits): Promise<boolean> {
    const { timeout, signal } = parseWait('Condition.wait', options);
    if (!this.lock.locked())
      throw new RuntimeError(
        'Cannot wait on a condition whose lock is not acquired',
        'ERR_WEFT_CONDITION_NOT_HELD',
      );
    if (signal?.aborted) throw signal.reason;
    this.lock.release();
    let notified = false;
    let failure: { error: unknown } | null = null;
    try {
      const w = new Waiter<boolean>(this);
      w.onRevoke = () => this.wake(1);
      this.waiters.push(w);
      // A wait that timed out took no notification: if it is cancelled before it resumes, it
      // has nothing to pass on (onRevoke would wake another waiter spuriously). A wait already
      // notified keeps its onRevoke: the timeout then changes nothing.
      if (timeout !== null)
        w.setTimeout(timeout, (x) => {
          if (!x.pending) return;
          x.onRevoke = null;
          x.withdraw(true, false);
        });
      if (signal !== null) w.setSignal(signal);
      call.add(w);
      notified = await w.block();
      const cancel = call.takeCancel();
      if (cancel !== null) throw cancel;
    } catch (error) {
      failure = { error };
    }
    // Must hold the lock again before returning or raising, even if cancelled meanwhile; a
    // cancellation that arrives while re-acquiring is raised once the lock is held. Whatever
    // interrupts the re-acquire is a cancellation in weft's terms: a CancelledError, an expired
    // timeout() scope's TimeoutError, a TaskGroup's error delivered to its block, a signal's
    // reason (the wait itself cannot fail otherwise: it skips deadlock detection).
    for (;;) {
      try {
        // Without deadlock detection: the wait must end holding the lock, and a cycle through
        // this condition is reported where it closes, at the other task's acquire (lock.ts).
        await this.lock._acquireUnchecked(call);
        break;
      } catch (e) {
        failure = keptInterruption(failure, e);
      }
    }
    const late = call.takeCancel();
    if (late !== null) failure = keptInterruption(failure, late);
    if (failure !== null) {
      // Notified, then cancelled while re-acquiring: the notification was consumed but will
      // not be acted on, so hand it to the next waiter (CPython gh-112202), or it is lost.
      if (notified) this.wake(1);
      throw failure.error;
    }
    return notified;
  }

  /**
   * Waits until `predicate()` is truthy, re-checking after each notification; returns its last
   * value (falsy only if `timeout` expired).
   */
  waitFor<R>(predicate: () => R, options?: WaitOptions): Promise<R> {
    const call = new CallWaits();
    return tieCall(this._waitForIn(predicate, options, call), call);
  }

  /**
   * @internal `waitFor`, its waits recorded in `call`: that of `waitFor` itself, or of a
   * primitive's waiting call built on this condition (Barrier.wait).
   */
  async _waitForIn<R>(
    predicate: () => R,
    options: WaitOptions | undefined,
    call: CallWaits,
  ): Promise<R> {
    if (typeof predicate !== 'function')
      throw new TypeError(
        `Condition.waitFor expects a function: received ${describeValue(predicate)}`,
      );
    const { timeout, signal } = parseWait('Condition.waitFor', options);
    // An already aborted signal refuses the call even when the predicate holds, as Condition.wait,
    // Event.wait and every other waiting call do.
    if (signal?.aborted) throw signal.reason;
    const deadline = timeout === null ? null : performance.now() + timeout;
    let result = predicate();
    while (!result) {
      const left = deadline === null ? undefined : deadline - performance.now();
      if (left !== undefined && left <= 0) return result;
      await this.waitIn({ timeout: left, ...(signal ? { signal } : {}) }, call);
      result = predicate();
    }
    return result;
  }

  /**
   * Wakes up to `n` waiting tasks (default 1).
   * @throws RuntimeError if the lock is not held.
   */
  notify(n = 1): void {
    if (!this.lock.locked())
      throw new RuntimeError(
        'Cannot notify on a condition whose lock is not acquired',
        'ERR_WEFT_CONDITION_NOT_HELD',
      );
    if (typeof n !== 'number')
      throw new TypeError(`Condition.notify(n) expects a number: received ${describeValue(n)}`);
    if (Number.isNaN(n) || n < 0)
      throw new RangeError(`Condition.notify(n) needs n >= 0: received ${describeValue(n)}`);
    this.wake(n);
  }

  /** Wakes up to `n` waiters; also passes on the notification of a waiter cancelled after it. */
  private wake(n: number): void {
    for (let i = 0; i < n; i++) {
      const w = this.waiters.shift();
      if (w === null) break;
      w.wake(true);
    }
  }

  notifyAll(): void {
    this.notify(Number.POSITIVE_INFINITY);
  }

  describe(): string {
    return 'a Condition';
  }

  /** @internal A task waiting here will need this lock to return (deadlock detection). */
  get _relockTarget(): Lock {
    return this.lock;
  }
}

/**
 * Which interruption of a wait is raised when another comes: the later one, as CPython raises
 * the last CancelledError it caught — except that a scope's error (an expired `timeout()`'s
 * TimeoutError, a TaskGroup's error) never replaces a plain cancel: in CPython both are
 * CancelledErrors, and the scope, finding the plain cancel still counted, would not convert.
 */
function keptInterruption(failure: { error: unknown } | null, e: unknown): { error: unknown } {
  if (failure !== null && failure.error instanceof CancelledError && !(e instanceof CancelledError))
    return failure;
  return { error: e };
}
