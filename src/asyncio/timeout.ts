import { CancelledError, describeValue, TimeoutError } from '../internal/errors.js';
import { callSoon } from '../internal/scheduler.js';
import { fireHandlesAtIteration } from '../internal/timer-heap.js';
import { startTimerHandleAt, stopTimer, type Timer } from '../internal/waiter.js';
import { RuntimeError } from './errors.js';
import { _noteScopeRequest, currentTask, type Task } from './task.js';

/** Timeout scopes entered so far: each one's entry order (`Timeout.order`). */
let scopesEntered = 0;

const CREATED = 0;
const ACTIVE = 1;
const EXPIRED = 2;
const EXITED = 3;

/**
 * A deadline on the code of one task (`asyncio.timeout`): entered on construction, left by
 * `await using` (or `using`, or `[Symbol.asyncDispose]()`).
 *
 * When the deadline passes, the weft await the task is blocked on raises `TimeoutError` — and
 * the awaitable is cancelled, as CPython cancels it. CPython raises CancelledError inside the
 * block and converts it to TimeoutError on exit; JavaScript's `using` cannot replace the error
 * leaving a block, so weft raises TimeoutError at the await itself: `finally` blocks run the
 * same, and code inside that catches CancelledError to clean up should catch TimeoutError too
 * (or use `finally`). Scopes nest; `expired()` tells which one fired. A deadline that passes
 * while the task waits on something weft does not know (a native promise) is raised at its
 * next weft await (pass `currentTask().signal` to such calls to interrupt them). When two
 * requests reach the task before it runs again (nested deadlines passing in one busy stretch,
 * a deadline and then a `cancel()`), the latest is raised first (of two deadlines, the inner
 * scope's) and the other once that one's scope is left: none is lost (see
 * `Task._requestCancel`, CPython's counting in `__aexit__`).
 * A deadline that passes after a `cancel()` still counted raises a CancelledError (`_expire`).
 *
 * @example
 * await using t = timeout(500);
 * await fetchAll();              // TimeoutError after 500 ms
 */
export class Timeout implements AsyncDisposable, Disposable {
  private state = CREATED;
  private deadline: number | null = null;
  private timer: Timer | null = null;
  /** @internal Counts the deadlines armed: an expiry queued for an earlier one is void. */
  _armed = 0;
  private readonly task: Task<unknown>;
  /** The plain `cancel()`s of the task counted at entry (CPython's `_cancelling`, see `_expire`). */
  private readonly plainAtEntry: number;
  private error: Error | null = null;
  /** Entry order: of two scopes of a task open at once, the one entered first encloses the other. */
  private readonly order = ++scopesEntered;

  /** @param when absolute deadline in `loop.time()` milliseconds, or null for none. */
  constructor(when: number | null) {
    const task = currentTask();
    if (task === null)
      throw new RuntimeError(
        'timeout() must be used inside a task (it cancels the task that entered it)',
        'ERR_WEFT_NO_TASK',
      );
    this.task = task;
    this.plainAtEntry = task._plainCancels();
    this.state = ACTIVE;
    this.reschedule(when);
  }

  /** The deadline (loop time, ms), or null. */
  when(): number | null {
    return this.deadline;
  }

  /** Moves the deadline (loop time, ms; null: none). */
  reschedule(when: number | null): void {
    if (when !== null && (typeof when !== 'number' || Number.isNaN(when))) {
      throw new TypeError(
        `Timeout deadline must be a number (loop time in ms) or null: received ${describeValue(when)}`,
      );
    }
    if (this.state !== ACTIVE)
      throw new RuntimeError(
        `Cannot reschedule a timeout that is ${this.state === EXPIRED ? 'expired' : 'finished'}`,
      );
    this.deadline = when;
    stopTimer(this.timer);
    this.timer = null;
    const armed = ++this._armed;
    if (when === null) return;
    const delay = when - performance.now();
    // As CPython's `call_at` handle: the expiry runs from the ready queue, in order with the
    // callbacks and wake-ups made ready before it (a `callAt` due at the same deadline and armed
    // earlier runs first), and a deadline already past expires there too, not inside this call.
    if (delay <= 0) {
      callSoon(expireIfArmed, this, armed);
      // CPython runs this call_soon in the next iteration together with the timers that come
      // due before it begins: a later deadline that passes while the task is still busy (an
      // inner scope's) expires before the wake-up this one queues, and is raised first. Left to
      // the heap's Node timer, it came too late: the task, woken with this scope's error alone,
      // left the inner scope before its deadline was raised (the docs' nested example failed
      // when the process was descheduled between timeout()'s clock read and this line).
      fireHandlesAtIteration();
    }
    // On the timer heap at `when`, as `callAt`: never before it, and in deadline order with the
    // other timers (ties in arming order, as CPython's heap).
    else this.timer = startTimerHandleAt(when, expireIfArmed, this, armed);
  }

  /** True once the deadline has passed. */
  expired(): boolean {
    return this.state === EXPIRED || (this.state === EXITED && this.error !== null);
  }

  /** @internal The error this scope raises (null until it expires). */
  _ownError(): Error | null {
    return this.error;
  }

  /**
   * @internal The deadline. CPython cancels the task and converts the CancelledError on exit
   * only when no other request is counted then beyond the count at entry. A plain `cancel()`
   * counted since entry (caught in the block without `uncancel()`, or handed to an awaited task
   * that caught it) will still be counted at the exit, so the scope raises a plain
   * CancelledError, as CPython's lets one out. (Another scope's or a group's request is raised
   * on its own after ours, see `Task._requestCancel`: it does not stop this one converting.)
   */
  _expire(): void {
    this.timer = null;
    if (this.state !== ACTIVE) return;
    this.state = EXPIRED;
    if (this.task._plainCancels() > this.plainAtEntry) this.error = new CancelledError();
    else {
      this.error = new TimeoutError(`Timed out after the deadline of a timeout() scope`);
      expiredInScope.add(this.error);
      // Raised after the request of a scope nested in this one, whichever expired first.
      _noteScopeRequest(this.error, this.order);
    }
    this.task._requestCancel(this.error);
  }

  [Symbol.dispose](): void {
    if (this.state === EXITED) return;
    stopTimer(this.timer);
    this.timer = null;
    if (this.state === EXPIRED) {
      expiredInScope.delete(this.error as Error);
      // Our request is spent (raised, or dropped now if the block ended before an await); a
      // request still counted behind it (an outer scope's, a cancel) is raised next.
      this.task._takeBackCancel(this.error as Error, true);
    }
    this.state = EXITED;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this[Symbol.dispose]();
  }
}

/** The errors of expired scopes not yet left: each stands for a cancellation until its scope. */
const expiredInScope = new WeakSet<Error>();

/**
 * @internal Whether `e` is the TimeoutError of an expired scope that has not been left yet: on
 * its way out to that scope, it is what CPython's CancelledError is there (a TaskGroup between
 * the await and the scope passes it on, as it passes on a CancelledError, instead of keeping it).
 */
export function _isTimeoutInScope(e: unknown): boolean {
  return e instanceof TimeoutError && expiredInScope.has(e);
}

function expireIfArmed(t: Timeout, armed: number): void {
  if (t._armed === armed) t._expire();
}

/** A timeout scope `ms` milliseconds from now (null: none yet; see `reschedule`). */
export function timeout(ms: number | null): Timeout {
  if (ms !== null && (typeof ms !== 'number' || Number.isNaN(ms))) {
    throw new TypeError(
      `timeout() expects a number of milliseconds or null: received ${describeValue(ms)}`,
    );
  }
  return new Timeout(ms === null ? null : performance.now() + ms);
}

/** A timeout scope with an absolute deadline in loop time (`asyncio.timeout_at`). */
export function timeoutAt(when: number | null): Timeout {
  return new Timeout(when);
}
