import { describeValue, TimeoutError } from '../internal/errors.js';
import { startTimerHandle, stopTimer, type Timer } from '../internal/waiter.js';
import { type Awaitable, ensureFuture } from './ensure-future.js';
import type { Future } from './future.js';
import { Queue } from './queue.js';

/**
 * What `asCompleted` returns: iterate it for promises in completion order (`for (const p of
 * asCompleted(aws)) await p`), or `for await` it for the results in completion order.
 */
export interface AsCompleted<T> extends Iterable<Promise<T>>, AsyncIterable<T> {}

/**
 * Yields the awaitables' outcomes in the order they complete (`asyncio.as_completed`). Each
 * step raises the error of the awaitable it stands for; with `timeout` (ms), the steps not
 * reached by then raise TimeoutError. The awaitables themselves are never cancelled.
 */
export function asCompleted<T>(
  aws: Iterable<Awaitable<T>>,
  options: { timeout?: number | null } = {},
): AsCompleted<T> {
  if (aws === null || typeof (aws as Iterable<unknown>)?.[Symbol.iterator] !== 'function') {
    throw new TypeError(
      `asCompleted() expects an iterable of awaitables: received ${describeValue(aws)}`,
    );
  }
  // A bare number (`asCompleted(aws, 1000)`, meant as a timeout) would otherwise be ignored.
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `asCompleted() options must be an object ({ timeout }): received ${describeValue(options)}`,
    );
  }
  const timeout = options.timeout;
  if (
    timeout !== undefined &&
    timeout !== null &&
    (typeof timeout !== 'number' || Number.isNaN(timeout))
  ) {
    throw new TypeError(
      `asCompleted() timeout must be a number of milliseconds: received ${describeValue(timeout)}`,
    );
  }
  // An awaitable given twice is waited for once, as Python's set(fs).
  const todo = new Set<Future<T>>([...new Set(aws)].map((a) => ensureFuture(a)));
  const total = todo.size;
  // Boxed: a future is a thenable, and a promise resolved with a thenable adopts its outcome.
  const done = new Queue<{ f: Future<T> } | null>();
  let timer: Timer | null = null;
  const onCompletion = (f: Future<T>): void => {
    if (!todo.delete(f)) return;
    done.putNowait({ f });
    if (todo.size === 0) stopTimer(timer);
  };
  for (const f of todo) f.addDoneCallback(onCompletion);
  if (total > 0 && timeout !== undefined && timeout !== null) {
    // CPython's call_later handle: the timeout runs as a callback of the ready queue, so the
    // task waiting for the next result wakes one iteration later, behind the callbacks due with
    // the timer (a future whose done-callback runs before it in that iteration still counts).
    const expire = (): void => {
      for (const f of todo) {
        f.removeDoneCallback(onCompletion);
        done.putNowait(null);
      }
      todo.clear();
    };
    timer = startTimerHandle(Math.max(0, timeout), expire, undefined, undefined);
  }
  const waitForOne = async (): Promise<T> => {
    const box = await done.get();
    if (box === null) throw new TimeoutError(`asCompleted() timed out after ${timeout} ms`);
    return box.f.result();
  };
  // The steps taken, shared by every iteration: like Python's generator, a second loop over the
  // same object goes on from where the first one stopped (and gives nothing once all are taken)
  // instead of waiting for outcomes that were already handed out.
  let taken = 0;
  return {
    *[Symbol.iterator]() {
      while (taken < total) {
        taken++;
        yield waitForOne();
      }
    },
    async *[Symbol.asyncIterator]() {
      while (taken < total) {
        taken++;
        yield await waitForOne();
      }
    },
  };
}
