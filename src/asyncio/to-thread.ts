import { getRunningLoop } from './event-loop.js';
import { Future } from './future.js';

/**
 * Python's `asyncio.to_thread`: runs `fn(...args)` on a worker thread of the running loop's
 * default executor (a weft/futures `ThreadPoolExecutor`) and returns an asyncio `Future` of its result, so a
 * blocking or CPU-bound call does not hold up the other tasks. `run()` waits for the calls
 * still running when its main task returns, as `asyncio.run` does.
 *
 * Unlike Python's threads, a worker thread shares no memory with the caller: `fn` must be a
 * function marked with `task(import.meta, fn)` or a self-contained inline function, and its
 * arguments and result are copied (weft's shared objects arrive connected).
 *
 * Cancelling the awaiting task rejects at once with `CancelledError`; a call not yet started
 * then never runs, one already running finishes in its thread (Python's threads cannot be
 * interrupted either). An error the call raises is the future's exception, a `CancelledError`
 * or gevent's `GreenletExit` of its own included: re-raised as itself (class, message), with
 * the future not cancelled and no cancellation counted on the awaiting task, as Python's
 * `to_thread` re-raises it (a task that lets it out ends cancelled, as with any CancelledError).
 *
 * A worker that dies during a call (`process.exit()` in it) fails the calls it broke with
 * `BrokenThreadPool`; the next call runs on a new default executor (Python's `to_thread` never
 * stops working).
 *
 * Rejects with `RuntimeError` outside a task or `run()` (no running loop), as Python does, and
 * with `TypeError` when `fn` is not a function or an argument cannot be copied (named by its
 * position).
 */
export function toThread<A extends unknown[], R>(
  fn: (...args: A) => R,
  ...args: A
): Future<Awaited<R>> {
  let loop: ReturnType<typeof getRunningLoop>;
  try {
    loop = getRunningLoop();
  } catch (e) {
    const failed = new Future<Awaited<R>>();
    failed.setException(e);
    return failed;
  }
  return loop.runInExecutor(null, fn, ...args);
}
