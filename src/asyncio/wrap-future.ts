import { CancelledError, describeValue } from '../internal/errors.js';
import { Future, isFuture } from './future.js';

/** The side of a `weft/futures` Future that wrapFuture needs. */
export interface ConcurrentFutureLike<T> {
  addDoneCallback(cb: (f: ConcurrentFutureLike<T>) => void): void;
  cancelled(): boolean;
  cancel(): boolean;
  result(options?: { timeout?: number }): Promise<T> | T;
}

/**
 * An asyncio Future that follows a concurrent future from `weft/futures` (an executor's
 * result), so it can be awaited beside tasks, gathered, or waited for with a timeout.
 * Cancelling the asyncio future cancels the concurrent one (if it has not started).
 */
export function wrapFuture<T>(cf: ConcurrentFutureLike<T> | Future<T>): Future<T> {
  if (isFuture(cf) && !(typeof (cf as { running?: unknown }).running === 'function'))
    return cf as Future<T>;
  const c = cf as ConcurrentFutureLike<T>;
  if (
    c === null ||
    typeof c !== 'object' ||
    typeof c.addDoneCallback !== 'function' ||
    typeof c.result !== 'function'
  ) {
    throw new TypeError(`wrapFuture expects a concurrent future: received ${describeValue(cf)}`);
  }
  const f = new Future<T>();
  c.addDoneCallback((done) => {
    if (f.done()) return;
    if (done.cancelled()) {
      f.cancel();
      return;
    }
    Promise.resolve()
      .then(() => done.result())
      .then(
        (v) => f.done() || f.setResult(v),
        // A CancelledError (or GreenletExit) the call raised itself is its exception, as in
        // CPython's run_in_executor: cancelling `f` instead would lose its class and make the
        // awaiting code see a cancellation of the future that nobody requested.
        (e) => f.done() || (e instanceof CancelledError ? f._settle(false, e) : f.setException(e)),
      );
  });
  f.addDoneCallback(() => {
    if (f.cancelled()) c.cancel();
  });
  return f;
}
