import { describeValue, TimeoutError } from '../internal/errors.js';
import type { Future } from './future.js';

/**
 * A future as `for await` sees it: the Future itself at run time, typed without `then` so that
 * TypeScript does not unwrap it to its result (an awaitable is unwrapped by `for await` types).
 */
export type CompletedFuture<T> = Omit<Future<T>, 'then'>;

import { startTimer, stopTimer, type Timer } from '../internal/waiter.js';
import { checkFutures } from './wait.js';

/**
 * Yields the futures `fs` as they complete (finished or cancelled): those already done first,
 * then in completion order. Duplicates are yielded once.
 *
 * @throws TimeoutError (from the iteration) when `timeout` ms after the call some are not done.
 */
export function asCompleted<T>(
  fs: Iterable<Future<T>>,
  options: { timeout?: number | null } = {},
): AsyncIterableIterator<CompletedFuture<T>> {
  const list = [...new Set(checkFutures('asCompleted', fs))] as Future<T>[];
  const timeout = options.timeout ?? null;
  if (timeout !== null && (typeof timeout !== 'number' || Number.isNaN(timeout))) {
    throw new TypeError(
      `asCompleted: timeout must be a number of milliseconds: received ${describeValue(timeout)}`,
    );
  }
  const deadline = timeout === null ? null : performance.now() + timeout;
  // Completion order is recorded from the moment of the call, as CPython installs its waiter.
  const finished: Future<T>[] = [];
  const pending = new Set<Future<T>>();
  let wake: (() => void) | null = null;
  const onDone = (f: Future<T>): void => {
    if (!pending.delete(f)) return;
    finished.push(f);
    const w = wake;
    wake = null;
    w?.();
  };
  for (const f of list) {
    if (f.done()) finished.push(f);
    else pending.add(f);
  }
  for (const f of [...pending]) f.addDoneCallback(onDone);
  const total = list.length;
  let yielded = 0;
  let closed = false;
  const cleanup = (): void => {
    closed = true;
    for (const f of pending) f._removeDoneCallback(onDone);
  };

  const it: AsyncIterableIterator<CompletedFuture<T>> = {
    [Symbol.asyncIterator]() {
      return it;
    },
    async next(): Promise<IteratorResult<CompletedFuture<T>>> {
      if (closed) return { done: true, value: undefined };
      if (finished.length === 0 && yielded < total) {
        await new Promise<void>((resolve, reject) => {
          let timer: Timer | null = null;
          wake = () => {
            stopTimer(timer);
            resolve();
          };
          if (deadline !== null) {
            timer = startTimer(
              Math.max(0, deadline - performance.now()),
              () => {
                wake = null;
                cleanup();
                reject(new TimeoutError(`${total - yielded} (of ${total}) futures unfinished`));
              },
              null,
            );
          }
        });
      }
      const f = finished.shift();
      if (f === undefined) {
        cleanup();
        return { done: true, value: undefined };
      }
      yielded++;
      return { done: false, value: f };
    },
    async return(): Promise<IteratorResult<CompletedFuture<T>>> {
      cleanup();
      return { done: true, value: undefined };
    },
  };
  return it;
}
