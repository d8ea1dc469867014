import { describeValue, TimeoutError } from '../internal/errors.js';
import type { Future } from './future.js';

/**
 * A future as `for await` sees it: the Future itself at run time, typed without `then` so that
 * TypeScript does not unwrap it to its result (an awaitable is unwrapped by `for await` types).
 */
export type CompletedFuture<T> = Omit<Future<T>, 'then'>;

import { Deque } from '../internal/deque.js';
import { startTimer, stopTimer, type Timer } from '../internal/waiter.js';
import { checkFutures, checkOptions } from './wait.js';

/**
 * Yields the futures `fs` as they complete (finished or cancelled): those already done first,
 * then in completion order. Duplicates are yielded once. next() calls that overlap (two at once,
 * as `Promise.all` makes) are answered in the order they were made, each with its own future.
 *
 * @throws TimeoutError (from the iteration) when `timeout` ms after the call some are not done.
 */
export function asCompleted<T>(
  fs: Iterable<Future<T>>,
  opts: { timeout?: number | null } = {},
): AsyncIterableIterator<CompletedFuture<T>> {
  const list = [...new Set(checkFutures('asCompleted', fs))] as Future<T>[];
  const options = checkOptions('asCompleted', opts, '{ timeout }');
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
  // Overlapping next() calls (a `for await` makes one at a time; Promise.all of two makes two):
  // each waits for its own future, first come first served.
  const readers = new Deque<Reader<T>>();
  const onDone = (f: Future<T>): void => {
    if (!pending.delete(f)) return;
    const r = readers.shift();
    if (r === undefined) finished.push(f);
    else r.give(f);
  };
  for (const f of list) {
    if (f.done()) finished.push(f);
    else pending.add(f);
  }
  for (const f of [...pending]) f.addDoneCallback(onDone);
  const total = list.length;
  // Futures given out or promised to a waiting next().
  let claimed = 0;
  let closed = false;
  const cleanup = (): void => {
    closed = true;
    for (const f of pending) f._removeDoneCallback(onDone);
  };
  const end = (): IteratorResult<CompletedFuture<T>> => ({ done: true, value: undefined });

  const it: AsyncIterableIterator<CompletedFuture<T>> = {
    [Symbol.asyncIterator]() {
      return it;
    },
    async next(): Promise<IteratorResult<CompletedFuture<T>>> {
      // Past the last future: this call ends, the ones still waiting for theirs do not.
      if (closed || claimed >= total) return end();
      claimed++;
      const ready = finished.shift();
      if (ready !== undefined) return { done: false, value: ready };
      // Boxed: a Future is thenable, and a promise resolved with one would adopt its outcome.
      const got = await new Promise<{ f: Future<T> } | null>((resolve, reject) => {
        const r: Reader<T> = {
          timer: null,
          give: (x) => {
            stopTimer(r.timer);
            resolve({ f: x });
          },
          fail: (e) => {
            stopTimer(r.timer);
            if (e === null) resolve(null);
            else reject(e);
          },
        };
        readers.push(r);
        if (deadline !== null) {
          r.timer = startTimer(
            Math.max(0, deadline - performance.now()),
            () => {
              // The iteration is over for every waiting next(), as Python's generator ends.
              const err = new TimeoutError(
                `${total - claimed + readers.length} (of ${total}) futures unfinished`,
              );
              cleanup();
              for (let w = readers.shift(); w !== undefined; w = readers.shift()) w.fail(err);
            },
            null,
          );
        }
      });
      return got === null ? end() : { done: false, value: got.f };
    },
    async return(): Promise<IteratorResult<CompletedFuture<T>>> {
      cleanup();
      for (let w = readers.shift(); w !== undefined; w = readers.shift()) w.fail(null);
      return end();
    },
  };
  return it;
}

interface Reader<T> {
  timer: Timer | null;
  give(f: Future<T>): void;
  /** Rejects with `e`, or with null ends that next() (return()). */
  fail(e: unknown): void;
}
