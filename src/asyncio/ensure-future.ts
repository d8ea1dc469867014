import { CancelledError, describeValue } from '../internal/errors.js';
import { Future, isFuture } from './future.js';
import { createTask } from './task.js';

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
