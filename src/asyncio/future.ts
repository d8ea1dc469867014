import {
  currentContext,
  enterContext,
  resolveUntagged,
  restoreContext,
} from '../internal/context.js';
import { CancelledError, InvalidStateError, RuntimeError } from '../internal/errors.js';
import {
  beginStep,
  callSoon,
  callSoonResumeOf,
  reportException,
  stepEnded,
} from '../internal/scheduler.js';
import type { TaskYield } from '../internal/yield.js';

/**
 * Python logs "Task exception was never retrieved" when a failed future is collected without
 * anyone having looked at its exception; an error otherwise vanishes without a trace. weft does
 * the same through a FinalizationRegistry: a failed future is registered, and unregistered as
 * soon as its exception is awaited, asked for, or gathered.
 */
const unretrieved = new FinalizationRegistry<{ what: string; error: unknown }>((held) => {
  reportException(`${held.what} exception was never retrieved`, held.error);
});

const PENDING = 0;
const CANCELLED = 1;
const FINISHED = 2;
/** Finished with an exception (a state, not a flag: one field fewer on each of a gather's tasks). */
const FAILED = 3;

export type DoneCallback<T> = (future: Future<T>) => void;

/** What a future needs of the task that awaits it (implemented by Task). */
export interface AwaitingTask {
  _fut: Future<any> | null;
  _pendingCancel: Error | null;
  /** An error that replaces the CancelledError of the awaited future (a timeout scope's). */
  _cancelReason: Error | null;
  _mustCancelAwaited(): string | undefined;
  _awaitedEnded(fut: Future<any>): void;
  /** Ended: a then() it did not await resumes no step of it (see WaitingTask.done). */
  done(): boolean;
}

/** A task awaiting a future: resumed through the ready queue when the future is done. */
class Awaiter<T> {
  constructor(
    readonly task: AwaitingTask | null,
    readonly resolve: (v: T) => void,
    readonly reject: (e: unknown) => void,
  ) {}
}

/**
 * @internal A done-callback of weft's own that is told at once, inside the call that ends the
 * future, rather than from the ready queue: it queues there itself only what can be seen. A
 * gather's children (gather.ts) each had a callback on the queue that, for all but the last
 * and the failing ones, only counted; each was a callback of the queue to push, take off and
 * call, 100,000 times in a gather of 100,000 tasks. It runs no code of the user's, must not
 * throw, and must keep the order the callbacks it stands for would have had.
 */
export abstract class FutureWatch {
  abstract _futureDone(fut: Future<any>): void;
}

type Entry<T> = DoneCallback<T> | Awaiter<T> | FutureWatch;

/**
 * @internal The fields of a future (and of a task) that only cancellation, `sleep(0)` or a
 * rare double wait use, in a record made the first time one is set. Every field of a future is
 * paid by each of the 100,000 tasks of a gather, all alive at once, and the collector copies
 * live objects: moving six words out of every task made `createTask`+`gather` about 15%
 * faster, and five more (the exception flag folded into the state) 7-14% more (measured here,
 * alternating runs of the same 100,000-task gather; see docs/asyncio.md for the bench's view).
 */
export class FutureCold {
  cancelMessage: string | undefined = undefined;
  cancelledError: CancelledError | null = null;
  /** Task: a cancellation requested and not yet delivered. */
  pendingCancel: Error | null = null;
  /** Task: the error that replaces the awaited future's CancelledError (a timeout scope's). */
  cancelReason: Error | null = null;
  /** Task: cancellation requests not matched by `uncancel()`. */
  cancelRequests = 0;
  /** Task: the AbortController behind `task.signal`. */
  controller: AbortController | null = null;
  /** Task: its `sleep(0)`, made at the first one and reused (src/internal/yield.ts). */
  taskYield: TaskYield | null = null;
  /** Task: the future it awaits while it is also blocked on a Waiter (see `Task._blocker`). */
  awaited: Future<any> | null = null;
}

/**
 * An asyncio Future: a result that will exist later, set by `setResult`/`setException` or
 * `cancel`led.
 *
 * Done-callbacks are scheduled on the ready queue when the future completes, in registration
 * order, never called synchronously; one that throws is reported and does not stop the others.
 * A future is awaitable (a thenable): awaiting a done future gives its result without
 * suspending; awaiting a pending one suspends the task until it is done.
 *
 * **Cancellation:** `cancel(msg)` on a pending future marks it cancelled and schedules its
 * callbacks; awaiting it then raises `CancelledError(msg)`. A task blocked on a future that it
 * awaits is cancelled through it: `task.cancel()` cancels the awaited future too.
 */
export class Future<T = unknown> implements PromiseLike<T> {
  /** @internal */ _state: 0 | 1 | 2 | 3 = PENDING;
  /**
   * @internal the result, or the exception when FAILED (one field: see FutureCold). A Task keeps
   * its body here until its first step: a pending future has no result to keep.
   */
  _value: unknown = undefined;
  /** @internal state few futures need, made on first use (see FutureCold) */
  _cold: FutureCold | null = null;
  // One callback is held as it is, more in an array: most futures (every task in a gather) get
  // exactly one, and an array per future is garbage the collector then has to chase.
  private entries: Entry<any> | Entry<any>[] | null = null;

  /** @internal the future finished with an exception. */
  get _hasException(): boolean {
    return this._state === FAILED;
  }

  /** @internal */
  get _result(): T | undefined {
    return this._state === FINISHED ? (this._value as T) : undefined;
  }

  /** @internal */
  get _exception(): unknown {
    return this._hasException ? this._value : undefined;
  }

  /** @internal the message given to `cancel()`. */
  get _cancelMessage(): string | undefined {
    const c = this._cold;
    return c === null ? undefined : c.cancelMessage;
  }

  /** @internal the CancelledError to raise, when the cancellation brought its own. */
  get _cancelledError(): CancelledError | null {
    const c = this._cold;
    return c === null ? null : c.cancelledError;
  }

  /** @internal */
  _coldState(): FutureCold {
    return (this._cold ??= new FutureCold());
  }

  /** True once the future has a result, an exception, or was cancelled. */
  done(): boolean {
    return this._state !== PENDING;
  }

  cancelled(): boolean {
    return this._state === CANCELLED;
  }

  /**
   * The result. @throws CancelledError if cancelled; the exception if one was set;
   * InvalidStateError if not done yet.
   */
  result(): T {
    if (this._state === CANCELLED) throw this._makeCancelledError();
    if (this._state === PENDING)
      throw new InvalidStateError('Result is not ready: the future is still pending');
    if (this._hasException) {
      this._markRetrieved();
      throw this._exception;
    }
    return this._result as T;
  }

  /** The exception set, or null. @throws CancelledError if cancelled; InvalidStateError if pending. */
  exception(): unknown {
    if (this._state === CANCELLED) throw this._makeCancelledError();
    if (this._state === PENDING)
      throw new InvalidStateError('Exception is not set: the future is still pending');
    if (!this._hasException) return null;
    this._markRetrieved();
    return this._exception;
  }

  setResult(result: T): void {
    if (this._state !== PENDING)
      throw new InvalidStateError(
        `Cannot set the result: the future is already ${this.stateName()}`,
      );
    this._value = result;
    this._state = FINISHED;
    this.scheduleCallbacks();
  }

  setException(exception: unknown): void {
    if (this._state !== PENDING)
      throw new InvalidStateError(
        `Cannot set the exception: the future is already ${this.stateName()}`,
      );
    if (exception instanceof CancelledError) {
      throw new TypeError('A CancelledError cannot be set as an exception: call cancel() instead');
    }
    this._fail(exception);
    this.scheduleCallbacks();
  }

  /** Cancels a pending future. Returns false when it is already done. */
  cancel(msg?: string): boolean {
    return this._cancelNow(msg);
  }

  /** @internal Cancels this future at once, whatever a subclass makes of `cancel`. */
  _cancelNow(msg?: string): boolean {
    if (this._state !== PENDING) return false;
    this._setCancelled(msg, null);
    return true;
  }

  /** @internal marks the future cancelled; `error` is the CancelledError to raise, if known. */
  _setCancelled(msg: string | undefined, error: CancelledError | null): void {
    this._state = CANCELLED;
    if (msg !== undefined || error !== null || this._cold !== null) {
      const c = this._coldState();
      c.cancelMessage = msg;
      c.cancelledError = error;
    }
    this.scheduleCallbacks();
  }

  private _fail(exception: unknown): void {
    this._value = exception;
    this._state = FAILED;
    if (!(exception instanceof CancelledError)) {
      // Reading the stack makes V8 format it now and drop the call sites it kept, which hold
      // the receivers of every frame — this future among them, which would never be collected.
      if (exception instanceof Error) {
        try {
          void exception.stack;
        } catch {
          // a stack getter of the user's that throws: nothing kept to drop
        }
      }
      unretrieved.register(this, { what: this.describeForLog(), error: exception }, this);
    }
  }

  /** @internal the exception has been seen by someone (awaited, asked for, gathered). */
  _markRetrieved(): void {
    unretrieved.unregister(this);
  }

  /** @internal how "never retrieved" reports name this future. */
  describeForLog(): string {
    return 'Future';
  }

  /** @internal sets the outcome of a pending future without the public checks (Task). */
  _settle(ok: boolean, value: unknown): void {
    if (ok) {
      this._value = value;
      this._state = FINISHED;
    } else this._fail(value);
    this.scheduleCallbacks();
  }

  /** Runs `cb(future)` when the future is done (scheduled at once if it is done already). */
  addDoneCallback(cb: DoneCallback<T>): void {
    if (typeof cb !== 'function')
      throw new TypeError(`addDoneCallback expects a function: received ${typeof cb}`);
    if (this._state !== PENDING) {
      callSoon(runCallback, cb, this);
      return;
    }
    this.addEntry(cb);
  }

  private addEntry(e: Entry<T>): void {
    const cur = this.entries;
    if (cur === null) this.entries = e;
    else if (Array.isArray(cur)) cur.push(e);
    else this.entries = [cur, e];
  }

  /** @internal Tells `w` when this pending future is done (see FutureWatch). */
  _watch(w: FutureWatch): void {
    this.addEntry(w);
  }

  /** @internal Whether `cb` is registered and waiting for this pending future. */
  _hasDoneCallback(cb: DoneCallback<T> | FutureWatch): boolean {
    const cur = this.entries;
    return cur === cb || (Array.isArray(cur) && cur.includes(cb));
  }

  /** Removes every registration of `cb`; returns how many were removed. */
  removeDoneCallback(cb: DoneCallback<T>): number {
    return this._removeEntry(cb);
  }

  /** @internal `removeDoneCallback`, for a FutureWatch as well. */
  _removeEntry(cb: DoneCallback<T> | FutureWatch): number {
    const cur = this.entries;
    if (cur === null) return 0;
    if (!Array.isArray(cur)) {
      if (cur !== cb) return 0;
      this.entries = null;
      return 1;
    }
    const kept = cur.filter((e) => e !== cb);
    this.entries = kept.length === 0 ? null : kept;
    return cur.length - kept.length;
  }

  /**
   * Awaiting a future suspends the awaiting task on it (Python's `__await__`): a `cancel()` of
   * the task cancels the future. The awaiting task is noted when `then` is looked up, which an
   * `await` does at once, in the task; V8 calls the method later, from a job that does not carry
   * the current task where the context addon carries it (see internal/context.ts).
   */
  // biome-ignore lint/suspicious/noThenProperty: a future is awaitable by design (Python's __await__)
  get then(): ThenMethod<T> {
    const task = currentContext();
    return (task === null ? thenOutsideTask : thenFor(task)) as ThenMethod<T>;
  }

  /** @internal `then` for the task `task` (null: none). */
  _thenIn<R1, R2>(
    task: object | null,
    onFulfilled: ((value: T) => R1 | PromiseLike<R1>) | null | undefined,
    onRejected: ((reason: any) => R2 | PromiseLike<R2>) | null | undefined,
  ): Promise<R1 | R2> {
    const p = new Promise<T>((resolve, reject) => this.awaitInto(task, resolve, reject));
    return onFulfilled || onRejected ? p.then(onFulfilled, onRejected) : (p as Promise<any>);
  }

  catch<R = never>(onRejected?: ((reason: any) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.then(undefined, onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<T> {
    return this.then().finally(onFinally);
  }

  get [Symbol.toStringTag](): string {
    return 'Future';
  }

  /** @internal the error a cancelled future raises when its result is asked for. */
  _makeCancelledError(): CancelledError {
    return this._cancelledError ?? new CancelledError(this._cancelMessage ?? '');
  }

  /** @internal */
  stateName(): string {
    return this._state === PENDING
      ? 'pending'
      : this._state === CANCELLED
        ? 'cancelled'
        : 'finished';
  }

  /** @internal called by `then`: settle now if done, else wait, suspending the current task. */
  private awaitInto(
    awaiting: object | null,
    resolve: (v: T) => void,
    reject: (e: unknown) => void,
  ): void {
    if (this._hasException) this._markRetrieved();
    if (this._state !== PENDING) {
      settleAwaiter(this, resolve, reject, null);
      return;
    }
    if (awaiting === (this as object)) {
      // A task awaiting itself would wait for ever, and a cancel() would recurse through its
      // own awaited future: CPython raises this error in the task instead.
      reject(
        new RuntimeError(
          `${this.describeForLog()} cannot await on itself: await another task or future`,
          'ERR_WEFT_SELF_AWAIT',
        ),
      );
      return;
    }
    const task = awaiting as AwaitingTask | null;
    const a = new Awaiter(task, resolve, reject);
    // CPython's task step calls a future subclass's own add_done_callback (the C fast path is
    // for Future and Task themselves): a subclass that overrides ours sees the wait as a callback.
    if (this.addDoneCallback === ownAddDoneCallback) this.addEntry(a);
    else {
      const w = new OverriddenWait(a, this);
      // CPython calls it from the task's step, with the task current; V8 calls `then` from a
      // job that may carry no task (see `then`): the override runs in the awaiting task.
      const prev = enterContext(awaiting);
      try {
        this.addDoneCallback(w.callback);
      } finally {
        restoreContext(prev);
      }
      w.registered = true;
    }
    if (task !== null && typeof task._mustCancelAwaited === 'function') {
      task._fut = this;
      // A cancel requested while the task ran is delivered at this suspension, by cancelling
      // the future it suspends on (CPython's Task.__step does the same).
      const msg = task._mustCancelAwaited();
      if (msg !== undefined) this.cancel(msg);
      stepEnded(task);
    }
  }

  private scheduleCallbacks(): void {
    const cur = this.entries;
    if (cur === null) return;
    this.entries = null;
    if (Array.isArray(cur)) for (const e of cur) this.scheduleEntry(e);
    else this.scheduleEntry(cur);
  }

  private scheduleEntry(e: Entry<T>): void {
    if (typeof e === 'function') callSoon(runCallback, e, this);
    else if (e instanceof Awaiter) callSoonResumeOf(e.task, resumeAwaiter, e, this);
    else e._futureDone(this);
  }
}

/**
 * @internal Future's own `addDoneCallback`: a future whose method is this one (every future and
 * task of weft's) is watched through its entries directly; a subclass that overrides it is
 * called, as CPython calls a subclass's add_done_callback where it takes a fast path for its own
 * classes (an await, gather). One load and compare per future: no field on every task.
 */
export const ownAddDoneCallback = Future.prototype.addDoneCallback;

/**
 * An await of a future whose `addDoneCallback` is the user's: its callback resumes the awaiting
 * task as a queued Awaiter would, from the same place in the ready queue. An override may call
 * it at the wrong time: it resumes once, with the future awaited (whatever it is passed), and
 * only once that future is done; called before the registration has returned, it queues itself,
 * the task's step being still in flight.
 */
class OverriddenWait<T> {
  registered = false;
  private called = false;
  readonly callback: DoneCallback<T>;
  constructor(awaiter: Awaiter<T>, fut: Future<T>) {
    this.callback = () => {
      if (this.called || fut._state === PENDING) return;
      if (!this.registered) {
        callSoon(this.callback, fut);
        return;
      }
      this.called = true;
      resumeAwaiter(awaiter, fut);
    };
  }
}

/** What `then` awaits with: the callbacks of a promise, or of an `await`. */
type ThenMethod<T> = <R1 = T, R2 = never>(
  onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
  onRejected?: ((reason: any) => R2 | PromiseLike<R2>) | null,
) => Promise<R1 | R2>;

/**
 * A `then` awaiting for `task`. A method, not an arrow: `Future.prototype.then.call(fut, …)` and
 * a `then` read from one future and applied to another settle from the future they are called on.
 */
function thenFor(task: object | null) {
  return function then<T, R1, R2>(
    this: Future<T>,
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: any) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this._thenIn(task, onFulfilled, onRejected);
  };
}

/** Outside every task one `then` serves every future: no function made per lookup. */
const thenOutsideTask = thenFor(null);

function runCallback<T>(cb: DoneCallback<T>, fut: Future<T>): void {
  cb(fut);
}

function resumeAwaiter<T>(a: Awaiter<T>, fut: Future<T>): void {
  const task = a.task;
  if (task !== null && typeof task._mustCancelAwaited === 'function') {
    if (task._fut === fut) task._fut = null;
    task._awaitedEnded(fut);
    if (!task.done()) beginStep(task);
    const pending = task._pendingCancel;
    if (pending !== null) {
      task._pendingCancel = null;
      // Cancelled after the future completed but before the task resumed: the cancellation
      // wins, as in CPython (the task's next step throws CancelledError) — unless the future
      // itself raises a CancelledError (it was cancelled, by an earlier cancel of the task or
      // otherwise, or failed with one, as a gather whose child was cancelled does): CPython's
      // step throws that one, with its message, and makes none of its own.
      const raisesCancel =
        fut.cancelled() || (fut._hasException && fut._exception instanceof CancelledError);
      if (!(pending instanceof CancelledError && raisesCancel && task._cancelReason === null)) {
        // What replaced the future's CancelledError is not raised now: it must not stay for
        // the next cancelled future the task awaits.
        task._cancelReason = null;
        a.reject(pending);
        return;
      }
    }
  }
  if (fut._hasException) fut._markRetrieved();
  let reason: Error | null = null;
  if (task !== null) {
    reason = task._cancelReason;
    task._cancelReason = null;
  }
  settleAwaiter(fut, a.resolve, a.reject, reason);
}

/** `reason` replaces the CancelledError of a cancelled future (a timeout scope's TimeoutError). */
function settleAwaiter<T>(
  fut: Future<T>,
  resolve: (v: T) => void,
  reject: (e: unknown) => void,
  reason: Error | null,
): void {
  if (fut._state === CANCELLED) reject(reason ?? fut._makeCancelledError());
  else if (fut._hasException)
    reject(reason !== null && fut._exception instanceof CancelledError ? reason : fut._exception);
  else resolveUntagged(resolve, fut._result as T);
}

/** True for weft futures and tasks (and anything future-like from another copy of weft). */
export function isFuture(x: unknown): x is Future<unknown> {
  return (
    x instanceof Future ||
    (typeof x === 'object' &&
      x !== null &&
      typeof (x as Future).addDoneCallback === 'function' &&
      typeof (x as Future).cancel === 'function' &&
      typeof (x as Future).done === 'function')
  );
}
