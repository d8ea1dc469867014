import { CancelledError, describeValue } from '../internal/errors.js';
import { type CallWaits, takeDisplaced, Waiter } from '../internal/waiter.js';
import { Future, isFuture } from './future.js';
import { createTask, currentTask } from './task.js';

/** Anything weft can wait for: a task or future, a promise, or a function to run as a task. */
export type Awaitable<T> = PromiseLike<T> | (() => T | PromiseLike<T>);

/**
 * `asyncio.ensure_future`: a task or future as it is; a function becomes a task running it; a
 * promise (already under way, like a scheduled coroutine) becomes a future settled by it. A
 * promise cannot be cancelled: cancelling that future stops waiting for it, nothing more —
 * except the promise of a weft waiting call the current task made, whose wait the future takes
 * over (see `takeWaiter`).
 */
export function ensureFuture<T>(aw: Awaitable<T>): Future<T> {
  if (isFuture(aw)) return aw as Future<T>;
  if (typeof aw === 'function') return createTask(aw as () => T | PromiseLike<T>) as Future<T>;
  if (aw !== null && typeof aw === 'object' && typeof (aw as PromiseLike<T>).then === 'function') {
    const w = takeWaiter(aw);
    // A call made by an async method (`q.get()`, `cond.wait()`) returns a promise of its own,
    // tied to its waits (waiter.ts, `CallWaits`): its future follows the whole call.
    const call = w?.call;
    if (call != null && call.promise === aw) {
      return settledBy(new CallFuture<T>(call), aw as PromiseLike<T>);
    }
    // The wait is this future's now: cancelling the future (a gather, waitFor or TaskGroup
    // cancelling its child) ends it, as cancelling the task CPython wraps it in would.
    const f = w !== null ? new WaitFuture<T>(w) : new Future<T>();
    return settledBy(f, aw as PromiseLike<T>);
  }
  throw new TypeError(
    `An awaitable (a task, future, promise, or function) is required: received ${describeValue(aw)}`,
  );
}

/** `f`, settled as `p` settles (a CancelledError cancels it), unless settled before. */
function settledBy<T>(f: Future<T>, p: PromiseLike<T>): Future<T> {
  p.then(
    (v) => {
      if (!f.done()) f.setResult(v);
    },
    (e) => {
      if (f.done()) return;
      if (e instanceof CancelledError) f._cancelNow(e.message);
      else f.setException(e);
    },
  );
  return f;
}

/**
 * The future of a waiting call taken over from the task (see `CallWaits`). Like the task CPython
 * wraps such a coroutine in, a cancel ends the wait the call is in and the future stays pending
 * until the call has finished: a `Condition.wait` re-acquires its lock first, so the task
 * awaiting a `gather` of it goes on holding the lock, as in CPython. A call that completes
 * anyway (its wake-up came first) gives its result.
 */
class CallFuture<T> extends Future<T> {
  constructor(private readonly call: CallWaits) {
    super();
  }

  override cancel(msg?: string): boolean {
    if (this.done()) return false;
    this.call.cancel(new CancelledError(msg ?? ''));
    return true;
  }
}

/**
 * The future of a single wait taken over from the task (`lock.acquire()`, `sleep(ms)`). Like the
 * task CPython wraps such a coroutine in, a cancel goes to the wait at once and the future stays
 * pending until the wait has resumed: a wait already granted (a lock handed over, whose wake-up
 * is queued) then gives its grant back, and passes it on, instead of the grant being dropped
 * with a future cancelled first (the lock was left held by nobody). A wait that has resumed
 * already cannot be cancelled: its result is on its way to the future.
 */
class WaitFuture<T> extends Future<T> {
  constructor(private readonly wait: Waiter<unknown>) {
    super();
  }

  override cancel(msg?: string): boolean {
    if (this.done()) return false;
    return this.wait.cancel(new CancelledError(msg ?? ''));
  }
}

/**
 * A weft waiting call (`sleep(ms)`, `queue.get()`, `lock.acquire()`) made in a task records its
 * wait on that task at the call, taking for granted that the task awaits it at once. Handed to a
 * combinator instead (`gather(sleep(50), t)`, `shield(q.get())`, `waitFor(lock.acquire(), ms)`),
 * the task does not wait on it: it awaits the combinator's future. Left recorded, a cancel of
 * the task would end that wait instead of reaching the future the task awaits (a gather would
 * not cancel its other children, a shield would not shield). So the wait is taken from the task
 * here, and belongs to the future made for the promise. The task records its latest wait; an
 * earlier one it went on without awaiting is found among the displaced waiters (waiter.ts).
 */
function takeWaiter(p: object): Waiter<unknown> | null {
  const task = currentTask();
  if (task === null) return null;
  const b = task._blocker;
  // Pending, or granted and not yet resumed (state 2 is done); its own promise, or that of the
  // call it is the first wait of.
  // The task's `sleep(0)` in flight (its yield has no Waiter): the task waits on the future
  // made for it, not on the yield, so a cancel of the task goes to the combinator (a gather
  // cancels its other children), and the yield's resume begins no step of the task.
  const y = task._taskYield;
  if (y?.active && y.promise === p) {
    y.detached = true;
    return null;
  }
  if (!(b instanceof Waiter) || (b.promise !== p && b.call?.promise !== p) || b.state === 2) {
    // An earlier call of the task, displaced by a later one (`gather(sleep(a), sleep(b))`).
    return takeDisplaced(p);
  }
  b.detach();
  return b;
}
