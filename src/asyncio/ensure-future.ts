import { CancelledError, describeValue } from '../internal/errors.js';
import { callOf, takeDisplaced, Waiter } from '../internal/waiter.js';
import { Future, isFuture } from './future.js';
import { createTask, currentTask } from './task.js';

/** Anything weft can wait for: a task or future, a promise, or a function to run as a task. */
export type Awaitable<T> = PromiseLike<T> | (() => T | PromiseLike<T>);

/**
 * `asyncio.ensure_future`: a task or future as it is; a function becomes a task running it; a
 * promise (already under way, like a scheduled coroutine) becomes a future settled by it. A
 * promise cannot be cancelled: cancelling that future stops waiting for it, nothing more.
 */
export function ensureFuture<T>(aw: Awaitable<T>): Future<T> {
  if (isFuture(aw)) return aw as Future<T>;
  if (typeof aw === 'function') return createTask(aw as () => T | PromiseLike<T>) as Future<T>;
  if (aw !== null && typeof aw === 'object' && typeof (aw as PromiseLike<T>).then === 'function') {
    const f = new Future<T>();
    // A call made by an async method (`q.get()`) returns a promise of its own; its waits are
    // tied to it (waiter.ts, `tieCall`), and the first is the one the task recorded.
    const call = callOf(aw);
    const w = takeWaiter(call?.w?.promise ?? aw);
    if (w !== null) {
      // The wait is this future's now: cancelling the future (a gather, waitFor or TaskGroup
      // cancelling its child) ends it — or the call's later wait, if it waits again by then —
      // as cancelling the task CPython wraps it in would.
      f.addDoneCallback(() => {
        if (f.cancelled()) (call?.w ?? w).cancel(f._makeCancelledError());
      });
    }
    (aw as PromiseLike<T>).then(
      (v) => {
        if (!f.done()) f.setResult(v);
      },
      (e) => {
        if (f.done()) return;
        if (e instanceof CancelledError) f.cancel(e.message);
        else f.setException(e);
      },
    );
    return f;
  }
  throw new TypeError(
    `An awaitable (a task, future, promise, or function) is required: received ${describeValue(aw)}`,
  );
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
  // Pending, or granted and not yet resumed (state 2 is done).
  if (!(b instanceof Waiter) || b.promise !== p || b.state === 2) {
    // An earlier call of the task, displaced by a later one (`gather(sleep(a), sleep(b))`).
    return takeDisplaced(p);
  }
  b.detach();
  return b;
}
