import { type Awaitable, ensureFuture } from './ensure-future.js';
import { Future } from './future.js';

/**
 * Protects an awaitable from cancellation (`asyncio.shield`): cancelling the returned future (or
 * the task awaiting it) does not cancel `aw`, which runs on; only the waiting stops.
 */
export function shield<T>(aw: Awaitable<T>): Future<T> {
  const inner = ensureFuture(aw);
  if (inner.done()) return inner;
  const outer = new Future<T>();
  const onInnerDone = (f: Future<T>): void => {
    if (f._hasException) f._markRetrieved();
    if (outer.cancelled()) return;
    if (f.cancelled()) outer.cancel();
    // _settle: the exception may be a CancelledError that an executor's call raised itself
    // (runInExecutor, toThread), which setException refuses; CPython's shield copies it too.
    else if (f._hasException) outer._settle(false, f._exception);
    else outer.setResult(f._result as T);
  };
  inner.addDoneCallback(onInnerDone);
  outer.addDoneCallback(() => {
    if (!inner.done()) inner.removeDoneCallback(onInnerDone);
  });
  return outer;
}
