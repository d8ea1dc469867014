import { describeValue } from '../internal/errors.js';
import { startTimerHandle, stopTimer } from '../internal/waiter.js';
import { ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION, type ReturnWhen } from './constants.js';
import { type Awaitable, ensureFuture } from './ensure-future.js';
import { Future } from './future.js';
import type { Task } from './task.js';

/** What stands for an awaitable in the sets `wait` returns: the object given, or the task
 * running a function given. */
export type Waited<A> = A extends (...args: never[]) => infer R ? Task<Awaited<R>> : A;

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
export async function wait<A extends Awaitable<unknown>>(
  aws: Iterable<A>,
  options: WaitOptions = {},
): Promise<{ done: Set<Waited<A>>; pending: Set<Waited<A>> }> {
  if (aws === null || typeof (aws as Iterable<unknown>)?.[Symbol.iterator] !== 'function') {
    throw new TypeError(`wait() expects an iterable of awaitables: received ${describeValue(aws)}`);
  }
  // A bare number (`wait(aws, 1000)`, meant as a timeout) would otherwise be ignored.
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `wait() options must be an object ({ timeout, returnWhen }): received ${describeValue(options)}`,
    );
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
  // Each future, and what stands for it in the sets returned: the object given (a future, a
  // promise), or the task running a function given. An awaitable given twice counts once.
  const given = new Map<Future<unknown>, unknown>();
  for (const a of new Set(aws)) {
    const f = ensureFuture(a);
    if (!given.has(f)) given.set(f, typeof a === 'function' ? f : a);
  }
  const futures = [...given.keys()];
  if (futures.length === 0)
    throw new RangeError('wait() needs at least one awaitable: received an empty iterable');

  const waiter = new Future<void>();
  let counter = futures.length;
  const onCompletion = (f: Future<unknown>): void => {
    counter--;
    if (
      counter <= 0 ||
      returnWhen === FIRST_COMPLETED ||
      (returnWhen === FIRST_EXCEPTION && !f.cancelled() && retrieveFailure(f))
    ) {
      if (!waiter.done()) waiter.setResult(undefined);
    }
  };
  for (const f of futures) f.addDoneCallback(onCompletion);
  const timer =
    timeout === undefined || timeout === null
      ? null
      : // CPython's call_later handle: the timer's callback is a callback of the ready queue,
        // so the task wakes one iteration after it, behind the callbacks due with the timer.
        startTimerHandle(Math.max(0, timeout), timedOut, waiter, undefined);
  try {
    await waiter;
  } finally {
    stopTimer(timer);
    for (const f of futures) f.removeDoneCallback(onCompletion);
  }
  const done = new Set<Waited<A>>();
  const pending = new Set<Waited<A>>();
  for (const [f, item] of given) (f.done() ? done : pending).add(item as Waited<A>);
  return { done, pending };
}

/**
 * Whether `f` failed, as CPython's `f.exception() is not None` asks it in `FIRST_EXCEPTION`'s
 * test: that looks at the error, so a failure that ends the wait (or comes while it ends) is
 * not reported as "exception was never retrieved" (the last future to finish is not asked: the
 * count ends the wait first, in CPython's order too).
 */
function retrieveFailure(f: Future<unknown>): boolean {
  if (!f._hasException) return false;
  f._markRetrieved();
  return true;
}

/** The timeout of `wait()`: ends the wait with what is done by then. */
function timedOut(waiter: Future<void>): void {
  if (!waiter.done()) waiter.setResult(undefined);
}
