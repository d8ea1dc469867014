/**
 * gevent's `Timeout`: a timer that, when it expires, raises an error in the greenlet (or task)
 * that started it — and is itself that error, so `catch (e) { if (e === t) … }` tells one's own
 * timeout apart from a nested one.
 *
 * Implementation notes
 * --------------------
 * Expiry is a cancellation request on the task that called `start()`, carrying the Timeout
 * instead of a CancelledError — the same mechanism asyncio's `timeout()` scope uses — so the
 * error surfaces at the weft await the task is blocked on, and that awaitable is cancelled. As in
 * CPython's scope, leaving the scope (`cancel()`, `using`) after an expiry takes the request
 * back (`_takeBackCancel`), so a Timeout that expired while the task was busy and was cancelled
 * before its next await is never raised outside its scope, and a request still counted behind
 * it — a kill, an outer Timeout that expired in the same busy stretch — is raised next instead
 * of being lost (see `Task._requestCancel`). The timer also stops when its task ends, so a
 * forgotten `cancel()` does not keep the process alive.
 */
import { RuntimeError } from '../asyncio/errors.js';
import { currentTask, type Task } from '../asyncio/task.js';
import { type ErrorClass, registerErrorClass } from '../internal/error-registry.js';
import { describeValue, InvalidStateError, TimeoutError } from '../internal/errors.js';
import { callAfterTimers, callSoon } from '../internal/scheduler.js';
import { startTimer, stopTimer, type Timer } from '../internal/waiter.js';
import { type ErrorOrClass, isErrorClass, makeError } from './errors.js';
import { throwInto } from './switch.js';

export interface TimeoutOptions {
  /**
   * Raised instead of the Timeout itself when it expires: an error, or an error class (made
   * anew at each expiry, with no arguments). `false` makes it silent, as gevent's
   * `Timeout(seconds, False)`: the Timeout itself is raised, and `run()` returns undefined for it.
   */
  exception?: ErrorOrClass | false;
}

function messageFor(ms: unknown): string {
  if (ms === null || ms === undefined) return 'Timeout that never expires';
  // The words and classes of every waiting call's timeout (src/internal/wait-options.ts).
  if (typeof ms !== 'number' || Number.isNaN(ms)) {
    throw new TypeError(
      `Timeout expects a number of milliseconds (or null): received ${describeValue(ms)}`,
    );
  }
  if (ms < 0) {
    throw new RangeError(
      `Timeout expects a non-negative number of milliseconds (null never expires): received ${ms}`,
    );
  }
  return `Timed out after ${ms} ms`;
}

/**
 * A deadline for the code of one greenlet or task (gevent's `Timeout`): `new Timeout(ms)` makes
 * it, `start()` arms it for the current greenlet, `cancel()` (or leaving a `using` block)
 * disarms it. When it expires first, the Timeout — an error, a `TimeoutError` subclass — is
 * raised in that greenlet at the weft await it is blocked on (a sleep, a join, a lock, a
 * queue), or at its next one if it is busy. `ms` of null never expires.
 *
 * **Cancellation:** the expiry is a cancellation of the awaited operation: a lock not yet
 * acquired stays free, a sleep ends, a joined greenlet goes on running.
 *
 * @throws TypeError from the constructor for a delay that is not a number (NaN among them),
 * RangeError for a negative one; RuntimeError from `start()` outside every greenlet and task
 * (nothing to interrupt).
 * @example
 * spawn(async () => {
 *   using t = new Timeout(100).start();
 *   await sleep(1000); // raises t after 100 ms
 * });
 */
export class Timeout extends TimeoutError {
  static override readonly kind: string = 'Timeout';
  /** The delay, in milliseconds; null never expires. */
  readonly ms: number | null;
  private readonly raise: ErrorOrClass | null;
  private readonly silent: boolean;
  /** What the last expiry raised: what `cancel()` takes back. */
  private raised: Error = this;
  /** The armed timer; `NEXT_TURN` for a delay of 0 (armed with `setImmediate`). */
  private timer: Timer | typeof NEXT_TURN | null = null;
  /** @internal Counts armings: an expiry queued by an earlier one does nothing (`expireTimeout`). */
  _armed = 0;
  private target: Task<unknown> | null = null;
  private expired = false;
  private readonly onTargetDone = (): void => this.cancel();

  constructor(ms?: number | null, options: TimeoutOptions = {}) {
    super(messageFor(ms));
    this.ms = ms ?? null;
    const exception = options?.exception;
    if (
      exception !== undefined &&
      exception !== false &&
      !(exception instanceof Error) &&
      !isErrorClass(exception)
    ) {
      throw new TypeError(
        `Timeout: exception must be an Error, an Error class or false: received ${describeValue(exception)}`,
      );
    }
    this.silent = exception === false;
    this.raise = exception === undefined || exception === false ? null : exception;
  }

  /**
   * Makes a Timeout and starts it (gevent's `Timeout.start_new`). Given a Timeout, starts it
   * unless it is pending already and returns it, as gevent's does (`options` are not used then).
   */
  static startNew(ms?: number | null | Timeout, options?: TimeoutOptions): Timeout {
    if (ms instanceof Timeout) return ms.pending ? ms : ms.start();
    return new Timeout(ms, options).start();
  }

  /** True while the timer runs (started, neither expired nor cancelled). */
  get pending(): boolean {
    return this.timer !== null;
  }

  /**
   * Arms the timer for the current greenlet or task; returns the Timeout, so that
   * `using t = new Timeout(ms).start()` reads as gevent's `with Timeout(ms):`.
   * @throws InvalidStateError if it is already pending; RuntimeError outside every task.
   */
  start(): this {
    if (this.timer !== null) {
      throw new InvalidStateError(
        `${this.message}: this Timeout is already started; cancel it before starting it again`,
      );
    }
    // An infinite delay never expires, as null: nothing to arm.
    if (this.ms === null || this.ms === Number.POSITIVE_INFINITY) return this;
    const task = currentTask();
    if (task === null) {
      throw new RuntimeError(
        'A Timeout must be started inside a greenlet or a task: none is running here',
      );
    }
    this.cancel();
    this.expired = false;
    this.target = task;
    task.addDoneCallback(this.onTargetDone);
    // cancel() above counted a new arming: an expiry queued by the last one does nothing.
    if (this.ms === 0) {
      // gevent's Timeout(0) expires as soon as its loop turns: before a timer of any positive
      // delay that is not due by then (`Timeout(0)` around `sleep(1)` always raises). A timer
      // of the heap cannot be: Node's shortest timer is 1 ms, where a `sleep(1)` armed next
      // would be due too, and run first (see `expireTimeout`).
      this.timer = NEXT_TURN;
      setImmediate(expireNextTurn, this, this._armed);
    } else this.timer = startTimer(this.ms, expireTimeout, this);
    return this;
  }

  /** Disarms the timer; after an expiry, takes back its cancellation request. Idempotent. */
  cancel(): void {
    if (this.timer !== NEXT_TURN) stopTimer(this.timer);
    this.timer = null;
    this._armed++;
    const t = this.target;
    if (t === null) return;
    this.target = null;
    t.removeDoneCallback(this.onTargetDone);
    if (this.expired && !t.done()) t._takeBackCancel(this.raised);
  }

  /**
   * Runs `fn()` with the Timeout armed around it, and disarms it when `fn` ends, whichever way
   * (gevent's `with Timeout(...)`). A silent Timeout (`exception: false`) that expires ends
   * the block quietly: `run` resolves to undefined, as `with Timeout(seconds, False):` leaves
   * its block. Otherwise `fn`'s value or error passes through, the expiry's among them.
   * (`using` cannot swallow an error leaving its block: this is the silent form's idiom.)
   * @throws what `start()` throws; whatever `fn` raises, but a silent Timeout's own expiry.
   * @example
   * const page = await new Timeout(1000, { exception: false }).run(() => fetchPage(url));
   * if (page === undefined) … // timed out
   */
  async run<R>(fn: () => R | PromiseLike<R>): Promise<Awaited<R> | undefined> {
    if (typeof fn !== 'function') {
      throw new TypeError(`Timeout.run expects a function: received ${describeValue(fn)}`);
    }
    this.start();
    try {
      return await fn();
    } catch (e) {
      if (this.silent && e === this && this.expired) return undefined;
      throw e;
    } finally {
      this.cancel();
    }
  }

  /** The same as `cancel()` (gevent's `close`). */
  close(): void {
    this.cancel();
  }

  [Symbol.dispose](): void {
    this.cancel();
  }

  /** @internal */
  _expire(): void {
    this.timer = null;
    const t = this.target;
    if (t === null || t.done()) return;
    this.expired = true;
    const spec = this.raise;
    if (spec === null) this.raised = this;
    else {
      try {
        this.raised = makeError('Timeout', spec);
      } catch (e) {
        // A class whose constructor throws: that error is what the greenlet gets, as in gevent.
        this.raised = e instanceof Error ? e : new TypeError(String(e));
      }
    }
    // gevent's timer callback throws into the greenlet itself: it runs now, until it blocks,
    // before the next callback (another Timeout's expiry due in the same turn, say), as a kill
    // does (greenlet.ts, `deliverKill`).
    throwInto([{ task: t }], [this.raised], null, 'Exception while delivering a Timeout');
  }
}

// A Timeout raised in a thread or a process comes back as a Timeout, with its `ms`; its timer
// and task stay where it was armed.
registerErrorClass(Timeout as unknown as ErrorClass);

/**
 * The timer fired. As gevent's Timeout timer has a lower priority than every other timer, the
 * expiry waits for the turn's other timers due now: a greenlet whose sleep ends at this same
 * deadline runs first (`with Timeout(50): sleep(50)` sleeps to the end, as in gevent), and what
 * it makes ready, such as an Event's waiter, runs after the expiry.
 */
function expireTimeout(t: Timeout): void {
  callAfterTimers(expireIfArmed, t, t._armed);
}

/** What `Timeout.timer` holds for a delay of 0: its expiry waits for the next turn of the loop. */
const NEXT_TURN: unique symbol = Symbol('next turn');

/**
 * A Timeout of 0 ms: Node's loop has turned (this is its check phase, after the timers and the
 * I/O it had due): the expiry is made ready, unless it was cancelled or re-armed meanwhile.
 */
function expireNextTurn(t: Timeout, armed: number): void {
  if (t._armed === armed) callSoon(expireIfArmed, t, armed);
}

function expireIfArmed(t: Timeout, armed: number): void {
  if (t._armed === armed) t._expire();
}
