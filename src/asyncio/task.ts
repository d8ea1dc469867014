import {
  currentContext,
  enterContext,
  promiseFulfilled,
  releaseContext,
  restoreContext,
  retainContext,
  switchContext,
} from '../internal/context.js';
import { CancelledError, describeValue } from '../internal/errors.js';
import { registerLiveCounter } from '../internal/live-handles.js';
import {
  atSafePoint,
  beginStep,
  CONTEXT_UNCHANGED,
  callSoonStart,
  reportException,
  stepEnded,
  taskInFlight,
} from '../internal/scheduler.js';
import { Waiter, type WaitingTask } from '../internal/waiter.js';
import { TaskYield } from '../internal/yield.js';
import { type AwaitingTask, Future, FutureCold } from './future.js';

/** The body of a task: a function run inside it (preferred), or a promise already under way. */
export type TaskBody<T> = (() => T | PromiseLike<T>) | PromiseLike<T>;

export interface TaskOptions {
  /** Defaults to `Task-N`. */
  name?: string;
}

let taskCounter = 0;

// The tasks not yet done, in creation order until one leaves: a task knows its place, and the
// last task moves into the place of one that finishes. O(1) both ways with no hashing, and one
// number per task instead of two links: every field of a task is paid by each of a gather's
// 100,000 tasks, all alive at once, and the collector copies them.
const live: Task<any>[] = [];
registerLiveCounter('task', () => live.length);

/** @internal Told of each task as it is made (event-loop.ts: the loop installed then owns it). */
let taskMade: ((t: Task<any>) => void) | null = null;

/** @internal Sets the function told of each task made (one: event-loop.ts's). */
export function _setTaskMade(fn: ((t: Task<any>) => void) | null): void {
  taskMade = fn;
}

/**
 * @internal A task's cold record: a future's, and what only a task with more than one
 * cancellation request in play needs (see `Task._requestCancel`). Made on first use like the
 * future's, so an uncancelled task pays nothing for it.
 */
class TaskCold extends FutureCold {
  /**
   * Requests counted (`cancelling()`) but displaced by a later one (or by a nested scope's):
   * raised one at a time, the latest first (a nested scope's before its enclosing scope's),
   * each once the scope of the one raised before it has been left (`uncancel`).
   */
  heldCancels: Error[] | null = null;
  /** The request last handed to a suspension: tells our in-flight error from a primitive's. */
  deliveredCancel: Error | null = null;
  /** The awaited future that request cancelled, if it went to one. */
  deliveredTo: Future<any> | null = null;
  /** The error of the scope whose exit made the request now pending so (see `_finish`). */
  releasedBy: Error | null = null;
  /**
   * The requests an awaited future that ended uncancelled spent (`_awaitedEnded`): never raised
   * in the task, so still undelivered for a TaskGroup that asks (`_cancelUndelivered`).
   */
  spent: Error[] | null = null;
  /**
   * The requests counted that are plain `cancel()`s (a CancelledError, not a scope's or a
   * group's error), not yet taken back: a `timeout()` scope that expires while one came since
   * its entry does not convert, as CPython's (see `Timeout._expire`).
   */
  plainCancels = 0;
  /** How many plain requests the pending one stands for (later ones fold into it, see `_deliverCancel`). */
  pendingPlain = 0;
}

/**
 * An asyncio Task: runs a function as a concurrently scheduled unit, and is the Future of its
 * result.
 *
 * The body runs on the ready queue, not inside `createTask`: the task starts when the creating
 * code next suspends, as in Python. Inside the body, `currentTask()` is the task, across every
 * `await`. A task is awaitable; awaiting it gives the body's result or raises its error.
 *
 * **Cancellation:** `cancel(msg)` requests cancellation. If the task is blocked on a weft
 * awaitable (a lock, a queue, a sleep, a future, another task) the `CancelledError(msg)` is
 * raised there at once, and that awaitable is cancelled too. If the task is running, or waiting
 * on something weft does not know (a native promise of `fs` or `fetch`), the error is raised at
 * its next weft await; pass `task.signal` to such calls to interrupt them as well. The task
 * ends cancelled if the error propagates out of the body; it may catch it and carry on, as in
 * Python. `cancel()` returns false when the task is already done. Requests are counted
 * (`cancelling()`); ones that reach the task before it runs again are raised one at a time,
 * none lost (see docs/asyncio.md, "Timeouts").
 */
export class Task<T = unknown> extends Future<T> implements WaitingTask, AwaitingTask {
  /**
   * @internal The Waiter of a primitive the task is blocked on, else the Future it awaits: one
   * field for the two (`_waiter` and `_fut` read it), since every field is paid by each of a
   * gather's 100,000 tasks. A task can have both at once — it called `q.get()` and awaits a
   * future wrapping that promise, and a cancel must reach the get — and then the future waits
   * in the cold record. The body waits in `_value` until the first step, for the same reason.
   * The Waiter's paths (a contended lock) read and write the field as it is.
   */
  _blocker: object | null = null;
  /** The name, or until one is asked for, the number of the default `Task-N` (one field). */
  private _name: string | number;
  /** @internal its place in `live` while not done */
  private _liveIndex: number;

  constructor(body: TaskBody<T>, options?: TaskOptions) {
    super();
    if (typeof body !== 'function' && !isThenable(body)) {
      throw new TypeError(
        `A task needs a function to run or a promise to await: received ${describeValue(body)}`,
      );
    }
    const name = options?.name;
    if (name !== undefined && typeof name !== 'string') {
      throw new TypeError(`Task name must be a string: received ${describeValue(name)}`);
    }
    // The default name is built when first asked for: a string per task is garbage in a gather
    // of 100,000. As in CPython, only unnamed tasks take a number.
    this._name = name ?? ++taskCounter;
    this._liveIndex = live.length;
    live.push(this);
    if (taskMade !== null) taskMade(this);
    retainContext();
    if (body !== drivenBody) {
      this._value = body;
      callSoonStart(startTask, this);
    }
  }

  /** @internal A task's cold record carries the cancellation queue as well. */
  override _coldState(): TaskCold {
    return (this._cold ??= new TaskCold()) as TaskCold;
  }

  /** @internal the waiter the task is blocked on. */
  get _waiter(): Waiter<any> | null {
    const b = this._blocker;
    return b instanceof Waiter ? b : null;
  }

  /** @internal */
  _setAside(): void {
    const b = this._blocker;
    if (b instanceof Future) this._coldState().awaited = b;
  }

  /** @internal the future the task awaits. */
  get _fut(): Future<any> | null {
    const b = this._blocker;
    if (b instanceof Future) return b;
    const c = this._cold;
    return c === null ? null : c.awaited;
  }

  /**
   * A future awaited later replaces one awaited before, wherever that one is kept. A task
   * awaited after a waiting call the task did not await (`const p = q.get(); await other;`)
   * displaces that call's wait: the task waits for `other`, and a cancel must reach `other`
   * (CPython would not even have started the get); the get goes on, as under `ensure_future`.
   * Any other future keeps the recorded wait where a cancel finds it: a promise's future
   * (`waitFor(barrier.wait(), ms)`) cannot cancel the promise, so the cancel must reach the wait.
   */
  set _fut(f: Future<any> | null) {
    const b = this._blocker;
    const c = this._cold;
    if (b !== null && !(b instanceof Future)) {
      if (f instanceof Task && b instanceof Waiter) b.displace();
      else {
        if (f !== null || c !== null) this._coldState().awaited = f;
        return;
      }
    }
    this._blocker = f;
    if (c !== null) c.awaited = null;
  }

  /** @internal the task's `sleep(0)`, made at its first one and reused (src/internal/yield.ts). */
  get _taskYield(): TaskYield | null {
    const c = this._cold;
    return c === null ? null : c.taskYield;
  }

  get name(): string {
    const n = this._name;
    return typeof n === 'string' ? n : (this._name = `Task-${n}`);
  }

  /**
   * @internal A cancellation requested and not yet delivered (see `_requestCancel`), raised at
   * the task's next suspension. Whoever raises it there sets this to null: the request is then
   * in flight (noted, so that a later request neither overwrites nor is lost behind it).
   */
  get _pendingCancel(): Error | null {
    const c = this._cold;
    return c === null ? null : c.pendingCancel;
  }

  set _pendingCancel(e: Error | null) {
    if (e !== null) {
      this._coldState().pendingCancel = e;
      return;
    }
    const c = this._cold as TaskCold | null;
    if (c === null || c.pendingCancel === null) return;
    c.deliveredCancel = c.pendingCancel;
    c.deliveredTo = null;
    c.pendingCancel = null;
  }

  /** @internal an error that replaces the CancelledError of the awaited future (a timeout's). */
  get _cancelReason(): Error | null {
    const c = this._cold;
    return c === null ? null : c.cancelReason;
  }

  set _cancelReason(e: Error | null) {
    if (e !== null || this._cold !== null) this._coldState().cancelReason = e;
  }

  set name(value: string) {
    this.setName(value);
  }

  getName(): string {
    return this.name;
  }

  setName(value: string): void {
    this._name = String(value);
  }

  /**
   * An AbortSignal aborted when cancellation of this task is requested (weft's own): pass it to
   * calls weft cannot cancel by itself (`fetch`, `fs.promises`, timers of other libraries).
   */
  get signal(): AbortSignal {
    const c = this._coldState();
    c.controller ??= new AbortController();
    if (c.cancelRequests > 0 && !c.controller.signal.aborted)
      c.controller.abort(new CancelledError());
    return c.controller.signal;
  }

  override cancel(msg?: string): boolean {
    if (msg !== undefined && typeof msg !== 'string') {
      throw new TypeError(`Cancel message must be a string: received ${describeValue(msg)}`);
    }
    return this._requestCancel(new CancelledError(msg ?? ''));
  }

  /** Number of cancellation requests not yet matched by `uncancel()` (Python 3.11). */
  cancelling(): number {
    const c = this._cold;
    return c === null ? 0 : c.cancelRequests;
  }

  /**
   * Takes back one cancellation request; returns the number left (Python 3.11). A request
   * still counted that was displaced by the one taken back (see `_requestCancel`) is raised now,
   * at the task's current or next weft await.
   */
  uncancel(): number {
    return this._uncancel(true);
  }

  /**
   * @internal `uncancel()`; `plain` says whether the request taken back is a plain `cancel()`'s
   * (the caller's own `uncancel()` after catching a CancelledError) or a scope's, a group's.
   */
  _uncancel(plain: boolean): number {
    const c = this._cold as TaskCold | null;
    if (c === null) return 0;
    if (c.cancelRequests > 0) c.cancelRequests--;
    if (plain && c.plainCancels > 0) c.plainCancels--;
    if (c.plainCancels > c.cancelRequests) c.plainCancels = c.cancelRequests;
    if (c.cancelRequests === 0) {
      c.pendingCancel = null;
      c.heldCancels = null;
      // An AbortSignal cannot be un-aborted: the task's next `signal` is a fresh one, or every
      // later wait that takes it (a timeout() caught, then a queue get) would end at once.
      if (c.controller?.signal.aborted) c.controller = null;
    } else if (c.heldCancels !== null && c.pendingCancel === null && !this.done()) {
      // Only once nothing is in flight: a request taken back from outside the task while its
      // error is on the way to it (a gevent Timeout cancelled by another greenlet) must not be
      // displaced by the next one; that one waits for the next uncancel().
      if (this._cancelInFlight(c) === null) {
        const held = c.heldCancels;
        const next = held.pop() as Error;
        if (held.length === 0) c.heldCancels = null;
        this._deliverCancel(c, next);
      }
    }
    return c.cancelRequests;
  }

  /**
   * @internal A scope that requested cancellation with `error` (a timeout) is left: the request
   * is dropped if it was never raised, and taken back (`uncancel`), which raises a request still
   * counted behind it. CPython's `Timeout.__aexit__`, where the CancelledError that one scope
   * does not convert goes on to the next.
   */
  _takeBackCancel(error: Error, scope = false): number {
    const c = this._cold as TaskCold | null;
    if (c === null) return 0;
    const plain = !replacesCancel(error);
    if (c.pendingCancel === error) {
      // A plain request pending may stand for earlier plain ones not yet raised (one
      // CancelledError is raised for them all): it stays for them. Alone, it is dropped, even
      // when other plain cancels are counted (raised and caught already).
      if (plain && c.pendingPlain > 1) c.pendingPlain--;
      else c.pendingCancel = null;
    } else if (c.heldCancels !== null) {
      const i = c.heldCancels.lastIndexOf(error);
      if (i >= 0) c.heldCancels.splice(i, 1);
      if (c.heldCancels.length === 0) c.heldCancels = null;
    }
    if (c.spent !== null) {
      const i = c.spent.indexOf(error);
      if (i >= 0) c.spent.splice(i, 1);
    }
    const wasPending = c.pendingCancel;
    const left = this._uncancel(plain);
    // Only a timeout() scope (`scope`): its TimeoutError stands where CPython's unconverted
    // CancelledError would leave; a TaskGroup's error or a gevent Timeout's stays what it is.
    c.releasedBy =
      scope && c.pendingCancel !== null && c.pendingCancel !== wasPending ? error : null;
    return left;
  }

  /** @internal The plain `cancel()` requests counted (see `TaskCold.plainCancels`). */
  _plainCancels(): number {
    const c = this._cold as TaskCold | null;
    return c === null ? 0 : c.plainCancels;
  }

  /**
   * @internal Whether the request `error` is counted and not yet raised in the task: pending,
   * displaced by a later one, or on the way to an awaited future. (A TaskGroup asks this of its
   * ExceptionGroup.)
   */
  _cancelUndelivered(error: Error): boolean {
    const c = this._cold as TaskCold | null;
    if (c === null) return false;
    return (
      c.pendingCancel === error ||
      c.cancelReason === error ||
      c.heldCancels?.includes(error) === true ||
      c.spent?.includes(error) === true
    );
  }

  override setResult(_result: T): never {
    throw new Error('Task does not support setResult(): its result is what its body returns');
  }

  override setException(_exception: unknown): never {
    throw new Error('Task does not support setException(): its exception is what its body throws');
  }

  override get [Symbol.toStringTag](): string {
    return 'Task';
  }

  override describeForLog(): string {
    return this.describe();
  }

  /** "Task 'name'" — how deadlock reports and errors refer to the task. */
  describe(): string {
    return `Task '${this.name}'`;
  }

  /** What the task is blocked on, for deadlock reports. */
  describeWait(): string {
    const w = this._waiter;
    if (w !== null) return describeOwner(w.owner);
    if (this._taskYield?.waited()) return 'a sleep';
    const f = this._fut;
    if (f !== null) return f instanceof Task ? f.describe() : 'a Future';
    return 'something outside weft (a native promise)';
  }

  /**
   * @internal Requests cancellation delivering `error` (a CancelledError, or a timeout scope's
   * TimeoutError, or a TaskGroup's ExceptionGroup) at the task's current or next weft await.
   *
   * Requests are counted (`cancelling()`) and never overwrite one another. CPython raises one
   * CancelledError for every request made before the task runs again, and each scope it passes
   * converts it only when its own request is the last one counted. weft raises the scope's own
   * error at the await instead (see timeout.ts), so when a second request comes while the first
   * has not reached the task yet (the task busy, or its wake-up with the error still queued),
   * the later one is raised and the earlier one is held; it is raised once the scope of the one
   * raised is left (its `uncancel`), and dropped if its own scope is left first. Of two timeout()
   * scopes' requests the inner one's is raised first, whichever came first. So a kill is not
   * lost to a Timeout the greenlet handles, nor an outer deadline to an inner one. Two plain
   * CancelledErrors are one request to raise, as in CPython.
   */
  _requestCancel(error: Error): boolean {
    if (this.done()) return false;
    const c = this._coldState();
    c.cancelRequests++;
    if (!replacesCancel(error)) c.plainCancels++;
    c.controller?.abort(error);
    if (c.cancelRequests > 1) {
      const pending = c.pendingCancel;
      const ahead = pending ?? this._cancelInFlight(c);
      if (ahead === error) return true;
      if (ahead !== null && (replacesCancel(ahead) || replacesCancel(error))) {
        if (scopeEncloses(error, ahead)) {
          // An enclosing scope's deadline that arrives after the inner one's (the inner deadline
          // the nearer, or already past when armed): held until the inner scope is left, as if
          // it had arrived first. Raised first, it reached the inner block, whose catch could
          // swallow it, and the inner request was dropped at the inner exit.
          holdOutside(c, error);
          // The awaited task or gather that the inner request went to is asked again all the
          // same, as CPython's Task.cancel asks its awaited future each time: a child that caught
          // the first request and is cleaning up is interrupted by the second.
          const f = this._fut;
          if (pending === null && f !== null && f === c.deliveredTo && !f.done())
            f.cancel(cancelMessage(error));
          return true;
        }
        holdCancel(c, ahead, error);
        if (pending !== null) c.pendingCancel = error;
        else this._replaceInFlight(c, error);
        return true;
      }
    }
    this._deliverCancel(c, error);
    return true;
  }

  /** Raises `error` at the weft await the task is blocked on, or keeps it for the next one. */
  private _deliverCancel(c: TaskCold, error: Error): void {
    const w = this._waiter;
    if (w?.cancel(error)) {
      // The waiter's error, which a second plain CancelledError leaves as it was.
      c.deliveredCancel = w.outcome as Error;
      return;
    }
    const y = c.taskYield;
    if (y?.waited()) {
      y.cancel(error);
      c.deliveredCancel = error;
      return;
    }
    const f = this._fut;
    if (f !== null && !f.done()) {
      if (replacesCancel(error)) this._cancelReason = error;
      if (f.cancel(cancelMessage(error))) {
        c.deliveredCancel = error;
        c.deliveredTo = f;
        return;
      }
      this._cancelReason = null;
    }
    // A plain request made while another plain one waits to be raised folds into it: CPython
    // raises one CancelledError for both (with the last message, as here).
    const prev = c.pendingCancel;
    c.pendingPlain =
      prev !== null && !replacesCancel(prev) && !replacesCancel(error) ? c.pendingPlain + 1 : 1;
    c.pendingCancel = error;
  }

  /**
   * The request on its way to the task: handed to the awaitable it is blocked on, whose wake-up
   * with the error waits in the ready queue. Null when none is (a primitive's own failure, such
   * as a shut-down queue's, is not one: a cancel replaces it, as in CPython).
   */
  private _cancelInFlight(c: TaskCold): Error | null {
    const d = c.deliveredCancel;
    if (d === null) return null;
    const y = c.taskYield;
    if (y?.waited() && !y.ok) return y.outcome as Error;
    const w = this._waiter;
    if (w !== null) return !w.ok && w.outcome === d ? d : null;
    const f = this._fut;
    // A task or a gather, asked to cancel, ends cancelled only once its own code has run: until
    // then the request is still on its way to us through it.
    return f !== null && f === c.deliveredTo && (f.cancelled() || !f.done()) ? d : null;
  }

  /** The task wakes with `error` instead of the request in flight (which is held). */
  private _replaceInFlight(c: TaskCold, error: Error): void {
    const y = c.taskYield;
    if (y?.waited() && !y.ok) y.cancel(error);
    else {
      const w = this._waiter;
      // Not two plain CancelledErrors here, so the waiter takes the new error.
      if (w !== null) w.cancel(error);
      else {
        this._cancelReason = error; // the awaited future, cancelled: the task raises this
        // A task or a gather still running is asked again, as CPython's Task.cancel asks its
        // awaited future each time: one that caught the first request gets this one too.
        const f = this._fut;
        if (f !== null && !f.done()) f.cancel(cancelMessage(error));
      }
    }
    c.deliveredCancel = error;
  }

  /**
   * @internal The task resumes from `fut`, which ended without being cancelled. If requests went
   * to it (a task or a gather that caught them and returned, or raised something else), they
   * are spent, and so are those held behind them: CPython folds every request made while a task
   * waits into cancelling what it awaits, and raises nothing in the task if that future does
   * not end cancelled. The count (`cancelling()`) stays, as there.
   */
  _awaitedEnded(fut: Future<any>): void {
    const c = this._cold as TaskCold | null;
    // (A gather asked to cancel ends with a CancelledError rather than cancelled, as CPython's.)
    if (c === null || c.deliveredTo !== fut || fut.cancelled()) return;
    if (fut._exception instanceof CancelledError) return;
    // deliveredCancel stays: waitFor raises it, as CPython's wait_for raises a cancel that the
    // awaited task swallowed (wait-for.ts).
    // Only a scope's or a group's request is kept: its own exit takes it out again, so the list
    // stays short however many plain cancels a long-lived task sees swallowed.
    const spent = c.spent ?? [];
    if (c.heldCancels !== null) for (const e of c.heldCancels) if (replacesCancel(e)) spent.push(e);
    const d = c.deliveredCancel;
    if (d !== null && replacesCancel(d) && !spent.includes(d)) spent.push(d);
    c.spent = spent.length > 0 ? spent : null;
    c.deliveredTo = null;
    c.heldCancels = null;
    this._cancelReason = null;
  }

  /** @internal A cancel that found no waiter is delivered when the task awaits a future. */
  _mustCancelAwaited(): string | undefined {
    const e = this._pendingCancel;
    if (e === null) return undefined;
    this._pendingCancel = null;
    (this._cold as TaskCold).deliveredTo = this._fut;
    if (replacesCancel(e)) this._cancelReason = e;
    return cancelMessage(e);
  }

  /**
   * @internal Runs `fn(a, b)` now, synchronously, as the first step of a task made by
   * `drivenTask()`: the task is current inside it and across the awaits of what it starts.
   * Whoever drives the task ends it with `_finish`. The step holds the ready queue like any
   * first step, unless another task's step is in flight (an I/O callback runs while a step
   * waits on a native promise; taking the queue from it would reorder that task's wake-ups).
   */
  _runStep<A, B, R>(fn: (a: A, b: B) => R, a: A, b: B): R {
    if (taskInFlight() === null) beginStep(this);
    const prev = enterContext(this);
    try {
      return fn(a, b);
    } finally {
      restoreContext(prev);
    }
  }

  /**
   * @internal The task's first step, run by a drain (`callSoonStart`): leaves the task current
   * and, when `save`, returns what was current before, for the drain to put back;
   * CONTEXT_UNCHANGED when it switched nothing.
   */
  _start(save: boolean): object | null {
    if (this.done()) return CONTEXT_UNCHANGED;
    const body = this._value as TaskBody<T> | undefined;
    this._value = undefined;
    if (body === undefined) return CONTEXT_UNCHANGED;
    const pending = this._pendingCancel;
    if (pending !== null) {
      // Cancelled before its first step: the body never runs (Python throws into the
      // coroutine before its first line).
      this._pendingCancel = null;
      this._finish(false, pending);
      return CONTEXT_UNCHANGED;
    }
    beginStep(this);
    let prev: object | null = CONTEXT_UNCHANGED;
    if (save) prev = enterContext(this);
    else switchContext(this);
    let r: unknown;
    try {
      r = typeof body === 'function' ? body() : body;
      if (r instanceof Promise && r.constructor === Promise && r.then === nativeThen) {
        // The body ran to its end without suspending: the task ends in this step, as a
        // coroutine that returns at once does in CPython (its callbacks are scheduled now).
        if (promiseFulfilled !== null) {
          const v = promiseFulfilled(r, NOT_FULFILLED);
          if (v !== NOT_FULFILLED) {
            this._finish(true, v);
            return prev;
          }
        }
        // A native promise: its `then` runs none of the user's code. The reaction finds the
        // task as the current one (the promise `then` makes is tagged with it, and the hooks
        // are installed while this task lives): no closure, no async function per task.
        r.then(finishFulfilled, finishRejected);
        return prev;
      }
      // A thenable's `then` (a weft Future's among them) is called in the task, as an await in
      // the body would call it.
      if (r instanceof Promise) settleFrom(this, r);
      else if (isThenable(r)) {
        r.then(
          (v) => this._finish(true, v),
          (e) => this._finish(false, e),
        );
      } else this._finish(true, r);
    } catch (e) {
      // The body threw, or so did a getter of what it returned (`constructor`, `then`).
      try {
        this._finish(false, e);
      } catch (inner) {
        // Never thrown past here: the drain must get `prev` back to put it back.
        reportException('Exception while finishing a task', inner);
      }
    }
    return prev;
  }

  /** @internal */
  _finish(ok: boolean, value: unknown): void {
    if (this.done()) return;
    this._blocker = null;
    // A pending cancel lives in the cold record: a task that never had one (every task of a
    // plain gather) skips it all, and the `instanceof CancelledError` below, whose brand check
    // (errors.ts) is not free, is asked only of a task that failed.
    const c = this._cold as TaskCold | null;
    if (c !== null) {
      c.awaited = null;
      const pending = this._pendingCancel;
      if (pending !== null) {
        this._pendingCancel = null;
        if (ok) {
          // Cancellation requested but never delivered before the body returned: the task is
          // cancelled all the same (CPython's _must_cancel at StopIteration).
          ok = false;
          value = pending;
        } else if (value === c.releasedBy && pending instanceof CancelledError) {
          // A scope's TimeoutError carried out of the body the cancel its exit made pending: in
          // CPython that scope would not have converted, and the CancelledError ends the task.
          value = pending;
        }
      }
    }
    if (!ok && value instanceof CancelledError) this._setCancelled(value.message, value);
    else this._settle(ok, value);
    const last = live.pop() as Task<any>;
    if (last !== this) {
      live[this._liveIndex] = last;
      last._liveIndex = this._liveIndex;
    }
    releaseContext();
    stepEnded(this);
  }
}

/**
 * Promise.prototype.then: a body's native promise whose `then` is another (its own property) is
 * settled through an await, which ignores it, rather than a `then` call that would run the
 * user's function (and call back with no task current).
 */
const nativeThen = Promise.prototype.then;

/** `promiseFulfilled`'s answer for a promise not fulfilled yet. */
const NOT_FULFILLED: object = {};

/** The body's promise is fulfilled; the current task is the one it belongs to (see `_start`). */
function finishFulfilled(value: unknown): void {
  atSafePoint(finishOk, currentContext() as Task<unknown>, value);
}

function finishRejected(error: unknown): void {
  atSafePoint(finishFailed, currentContext() as Task<unknown>, error);
}

function finishOk(t: Task<unknown>, value: unknown): void {
  t._finish(true, value);
}

function finishFailed(t: Task<unknown>, error: unknown): void {
  t._finish(false, error);
}

/** Settles `t` from its body's promise (a Promise subclass, whose `then` may be anyone's). */
async function settleFrom(t: Task<any>, p: Promise<unknown>): Promise<void> {
  let v: unknown;
  try {
    v = await p;
  } catch (e) {
    t._finish(false, e);
    return;
  }
  t._finish(true, v);
}

/** The marker body of a driven task; never called. */
function drivenBody(): never {
  throw new Error('A driven task has no body of its own');
}

/**
 * @internal A task whose code its creator runs in place with `_runStep` and ends with `_finish`,
 * instead of a body scheduled on the ready queue: the web server runs each request's handler in
 * one, from the I/O callback that parsed the request, so a handler costs no ready-queue hop,
 * no closure and no promise of its own, and `currentTask()`, `cancel()` and every weft await
 * work inside it as in any task.
 */
export function drivenTask(): Task<void> {
  return new Task<void>(drivenBody);
}

function startTask(t: Task<any>, save: boolean): object | null {
  return t._start(save);
}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return (
    (typeof x === 'object' || typeof x === 'function') &&
    x !== null &&
    typeof (x as PromiseLike<unknown>).then === 'function'
  );
}

function describeOwner(owner: object | null): string {
  if (owner === null) return 'a sleep';
  const d = (owner as { describe?: () => string }).describe;
  return typeof d === 'function' ? d.call(owner) : (owner.constructor?.name ?? 'an object');
}

/**
 * @internal `sleep(0)` of the running task through its reusable yield, or null when it cannot
 * take that path (no task is running, or the task has a yield in flight already).
 */
export function yieldCurrentTask<V>(value: V): Promise<V> | null {
  const t = currentContext();
  if (!(t instanceof Task)) return null;
  const y = t._taskYield ?? (t._coldState().taskYield = new TaskYield(t));
  return y.active ? null : y.start(value);
}

/** Creates a task running `body` (`asyncio.create_task`). */
export function createTask<T>(body: TaskBody<T>, options?: TaskOptions): Task<Awaited<T>> {
  return new Task(body as TaskBody<Awaited<T>>, options);
}

/** The task whose code is running, or null outside every task. */
export function currentTask(): Task<unknown> | null {
  const c = currentContext();
  return c instanceof Task ? c : null;
}

/** The tasks not yet done. */
export function allTasks(): Set<Task<unknown>> {
  return new Set<Task<unknown>>(live);
}

/**
 * Whether a cancellation's error must reach the task in place of the awaited future's own
 * CancelledError: anything but a plain CancelledError — a timeout's TimeoutError, a TaskGroup's
 * ExceptionGroup, and subclasses such as gevent's GreenletExit, whose class is what a kill
 * means (a greenlet ended by it is successful, one ended by a CancelledError is not).
 */
/**
 * The message a request cancels an awaited future with: a CancelledError's own; none for a
 * timeout scope's or a TaskGroup's request, as CPython's `timeout()` and TaskGroup call
 * `cancel()` with no message.
 */
function cancelMessage(error: Error): string {
  return replacesCancel(error) ? '' : error.message;
}

function replacesCancel(error: Error): boolean {
  return !(error instanceof CancelledError) || error.constructor !== CancelledError;
}

/**
 * The timeout() scopes' TimeoutErrors requested, with the order their scopes were entered in.
 * Two scopes of one task whose requests are both counted are both still open, so the one
 * entered first encloses the other.
 */
const scopeOrder = new WeakMap<Error, number>();

/** @internal `error` is the request of the timeout() scope entered `order`-th (timeout.ts). */
export function _noteScopeRequest(error: Error, order: number): void {
  scopeOrder.set(error, order);
}

/** Whether both are timeout() scopes' requests and the scope of `outer` encloses that of `inner`. */
function scopeEncloses(outer: Error, inner: Error): boolean {
  const o = scopeOrder.get(outer);
  if (o === undefined) return false;
  const i = scopeOrder.get(inner);
  return i !== undefined && o < i;
}

/**
 * Holds the request of an enclosing scope, `error`, under the held requests of scopes it
 * encloses: the innermost scope's is raised first, each as the scope before it is left.
 */
function holdOutside(c: TaskCold, error: Error): void {
  const held = c.heldCancels ?? [];
  let i = held.length;
  while (i > 0 && scopeEncloses(error, held[i - 1] as Error)) i--;
  held.splice(i, 0, error);
  c.heldCancels = held;
}

/**
 * `ahead` gives way to the later request `error` and waits behind it. Plain CancelledErrors
 * held are one request to raise (CPython raises one for any number of `cancel()` calls): a new
 * one replaces them, and a second is not held.
 */
function holdCancel(c: TaskCold, ahead: Error, error: Error): void {
  let held = c.heldCancels;
  if (held !== null && !replacesCancel(error)) {
    held = held.filter(replacesCancel);
    if (held.length === 0) held = null;
  }
  if (!replacesCancel(ahead) && held !== null && !held.every(replacesCancel)) {
    c.heldCancels = held;
    return;
  }
  if (held === null) held = [ahead];
  else held.push(ahead);
  c.heldCancels = held;
}
