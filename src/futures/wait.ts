import { describeValue } from '../internal/errors.js';
import { startTimer, stopTimer, type Timer } from '../internal/waiter.js';
import { ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION, type ReturnWhen } from './constants.js';
import { Future } from './future.js';

export interface WaitResult<T> {
  done: Set<Future<T>>;
  notDone: Set<Future<T>>;
}

export function checkFutures(what: string, fs: unknown): Future<unknown>[] {
  if (
    fs === null ||
    typeof fs !== 'object' ||
    typeof (fs as Iterable<unknown>)[Symbol.iterator] !== 'function'
  ) {
    throw new TypeError(`${what} expects an iterable of futures: received ${describeValue(fs)}`);
  }
  const out: Future<unknown>[] = [];
  for (const f of fs as Iterable<unknown>) {
    if (!(f instanceof Future))
      throw new TypeError(`${what} expects futures: received ${describeValue(f)}`);
    out.push(f);
  }
  return out;
}

/**
 * The trailing options object of `wait`, `asCompleted` and `map`. Python passes `timeout`
 * positionally (`wait(fs, 5)`, `as_completed(fs, 5)`): a number here would otherwise be read as
 * no options at all, a wait for ever.
 */
export function checkOptions<O extends object>(
  what: string,
  options: O | null | undefined,
  shape: string,
): O | Partial<O> {
  // null is no options, as for every waiting call (src/internal/wait-options.ts).
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object') {
    throw new TypeError(
      `${what}: options must be an object such as ${shape}: received ${describeValue(options)}`,
    );
  }
  // Python's `map(fn, *iterables)` written out: the last iterable would be taken for options.
  if (Symbol.iterator in options) {
    throw new TypeError(
      `${what}: options must be an object such as ${shape}: received an iterable (give several iterables as one array: map(fn, [a, b]))`,
    );
  }
  return options;
}

/**
 * Waits for the futures `fs` (from any executors) until `returnWhen` holds or `timeout` ms
 * pass; resolves to the futures that are done and those that are not. Never rejects because a
 * future failed, and never cancels anything.
 */
export function wait<T>(
  fs: Iterable<Future<T>>,
  opts: { timeout?: number | null; returnWhen?: ReturnWhen } = {},
): Promise<WaitResult<T>> {
  const list = [...new Set(checkFutures('wait', fs))] as Future<T>[];
  const options = checkOptions('wait', opts, '{ timeout, returnWhen }');
  const returnWhen = options.returnWhen ?? ALL_COMPLETED;
  if (
    returnWhen !== ALL_COMPLETED &&
    returnWhen !== FIRST_COMPLETED &&
    returnWhen !== FIRST_EXCEPTION
  ) {
    throw new RangeError(
      `wait: returnWhen must be FIRST_COMPLETED, FIRST_EXCEPTION or ALL_COMPLETED: received ${describeValue(returnWhen)}`,
    );
  }
  const timeout = options.timeout ?? null;
  if (timeout !== null && (typeof timeout !== 'number' || Number.isNaN(timeout))) {
    throw new TypeError(
      `wait: timeout must be a number of milliseconds: received ${describeValue(timeout)}`,
    );
  }
  const split = (): WaitResult<T> => {
    const done = new Set<Future<T>>();
    const notDone = new Set<Future<T>>();
    for (const f of list) (f.done() ? done : notDone).add(f);
    return { done, notDone };
  };
  const satisfied = (): boolean => {
    let doneCount = 0;
    for (const f of list) {
      if (!f.done()) continue;
      doneCount++;
      if (returnWhen === FIRST_COMPLETED) return true;
      if (returnWhen === FIRST_EXCEPTION && raised(f)) return true;
    }
    return doneCount === list.length;
  };
  if (satisfied() || timeout === 0) return Promise.resolve(split());
  return new Promise((resolve) => {
    let timer: Timer | null = null;
    const finish = (): void => {
      stopTimer(timer);
      for (const f of list) f._removeDoneCallback(onDone);
      resolve(split());
    };
    let finished = false;
    let left = 0;
    for (const f of list) if (!f.done()) left++;
    const onDone = (f: Future<T>): void => {
      if (finished) return;
      left--;
      const hit =
        returnWhen === FIRST_COMPLETED ||
        (returnWhen === FIRST_EXCEPTION && raised(f)) ||
        left === 0;
      if (!hit) return;
      finished = true;
      // Let the completing code path finish its own callbacks before we remove ours.
      queueMicrotask(finish);
    };
    // Only the pending ones: a done future's callback runs at once, and counted it again (a
    // future cancelled before the call ended an ALL_COMPLETED or FIRST_EXCEPTION wait early).
    for (const f of list) if (!f.done()) f.addDoneCallback(onDone);
    // Infinity arms nothing; a delay past Node's 2^31 − 1 ms waits in chunks.
    if (timeout !== null) {
      timer = startTimer(
        timeout,
        () => {
          if (finished) return;
          finished = true;
          finish();
        },
        null,
      );
    }
  });
}

/**
 * Whether a done future finished with an exception (not cancelled). By its state, not by the
 * exception's value: JavaScript can throw `undefined`, and a future that rejects with it has
 * raised all the same (its `result()` rejects).
 */
function raised<T>(f: Future<T>): boolean {
  return f.done() && !f.cancelled() && !f._succeeded();
}
