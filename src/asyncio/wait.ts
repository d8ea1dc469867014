import { describeValue } from '../internal/errors.js';
import { ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION, type ReturnWhen } from './constants.js';
import { type Awaitable, ensureFuture } from './ensure-future.js';
import { Future } from './future.js';

export interface WaitOptions {
  /** Milliseconds; on expiry `wait` returns what is done so far and leaves the rest running. */
  timeout?: number | null;
  returnWhen?: ReturnWhen;
}

/**
 * Waits for awaitables until `returnWhen` holds or `timeout` expires (`asyncio.wait`); resolves
 * to `{ done, pending }`, Sets of the objects given (a function given is run as a task, and the
 * task stands in for it). Never raises the awaitables' errors and never cancels them.
 *
 * **Cancellation:** cancelling the waiting task stops the wait; the awaitables keep running.
 */
export async function wait<T>(
  aws: Iterable<Awaitable<T>>,
  options: WaitOptions = {},
): Promise<{ done: Set<Future<T>>; pending: Set<Future<T>> }> {
  if (aws === null || typeof (aws as Iterable<unknown>)?.[Symbol.iterator] !== 'function') {
    throw new TypeError(`wait() expects an iterable of awaitables: received ${describeValue(aws)}`);
  }
  const returnWhen = options.returnWhen ?? ALL_COMPLETED;
  if (
    returnWhen !== FIRST_COMPLETED &&
    returnWhen !== FIRST_EXCEPTION &&
    returnWhen !== ALL_COMPLETED
  ) {
    throw new RangeError(`Invalid returnWhen value: received ${describeValue(returnWhen)}`);
  }
  const timeout = options.timeout;
  if (
    timeout !== undefined &&
    timeout !== null &&
    (typeof timeout !== 'number' || Number.isNaN(timeout))
  ) {
    throw new TypeError(
      `wait() timeout must be a number of milliseconds: received ${describeValue(timeout)}`,
    );
  }
  const futures = [...new Set([...aws].map((a) => ensureFuture(a)))];
  if (futures.length === 0)
    throw new RangeError('wait() needs at least one awaitable: received an empty iterable');

  const waiter = new Future<void>();
  let counter = futures.length;
  const onCompletion = (f: Future<T>): void => {
    counter--;
    if (
      counter <= 0 ||
      returnWhen === FIRST_COMPLETED ||
      (returnWhen === FIRST_EXCEPTION && !f.cancelled() && f._hasException)
    ) {
      if (!waiter.done()) waiter.setResult(undefined);
    }
  };
  for (const f of futures) f.addDoneCallback(onCompletion);
  const timer =
    timeout === undefined || timeout === null
      ? null
      : setTimeout(
          () => {
            if (!waiter.done()) waiter.setResult(undefined);
          },
          Math.max(0, timeout),
        );
  try {
    await waiter;
  } finally {
    if (timer !== null) clearTimeout(timer);
    for (const f of futures) f.removeDoneCallback(onCompletion);
  }
  const done = new Set<Future<T>>();
  const pending = new Set<Future<T>>();
  for (const f of futures) (f.done() ? done : pending).add(f);
  return { done, pending };
}
