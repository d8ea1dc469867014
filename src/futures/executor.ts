import { Deque } from '../internal/deque.js';
import { describeValue, TimeoutError } from '../internal/errors.js';
import type { Future } from './future.js';
import {
  knownLength,
  type ProgressOptions,
  type ProgressSink,
  progressOption,
  startProgressBar,
} from './progress-bar.js';

const arrayValues = Array.prototype[Symbol.iterator];
const arrayIteratorProto = Object.getPrototypeOf([][Symbol.iterator]()) as Iterator<unknown>;
const arrayIteratorNext = arrayIteratorProto.next;

/** Whether iterating `x` is walking a plain array's indices (nobody replaced the iterator). */
function isPlainArrayIteration(x: unknown): boolean {
  return (
    Array.isArray(x) &&
    (x as unknown[])[Symbol.iterator] === arrayValues &&
    arrayIteratorProto.next === arrayIteratorNext
  );
}

export interface MapOptions {
  /** Milliseconds from the call of `map`; a result not ready by then throws TimeoutError. */
  timeout?: number | null;
  /** Calls sent to a worker as one task (fewer messages; a whole chunk fails together). */
  chunksize?: number;
  /** Calls submitted ahead of the one being read (default: enough to keep every worker fed). */
  buffersize?: number;
  /**
   * Called as calls finish (in completion order, synchronously, like a done-callback) with the
   * number finished and the number submitted so far — for a progress bar over a long map.
   */
  onProgress?: ((completed: number, submitted: number) => void) | null;
  /**
   * Draws a progress bar (cli-progress) on stderr, or on `stream`, while the map runs — only
   * when that stream is a terminal; elsewhere nothing is printed. Stopped however the map ends.
   */
  progress?: boolean | ProgressOptions | null;
}

export interface ShutdownOptions {
  /** Wait until every pending call has finished and every worker has exited (default true). */
  wait?: boolean;
  /** Cancel the calls no worker has started (default false). */
  cancelFutures?: boolean;
}

type Fn = (...args: any[]) => unknown;

/**
 * @internal A chunk size must be a whole number of calls, at least one (Python raises
 * ValueError); `undefined` means the caller's default. Shared by executors' and Pool's maps.
 */
export function checkChunksize(chunksize: unknown, what: string): void {
  if (chunksize === undefined) return;
  if (typeof chunksize !== 'number' || !Number.isInteger(chunksize) || chunksize < 1) {
    throw new RangeError(
      `${what}: chunksize must be an integer >= 1: received ${describeValue(chunksize)}`,
    );
  }
}

/**
 * Python's `concurrent.futures.Executor`: runs calls asynchronously. Subclasses provide
 * `submit` and `shutdown`; `map` and `await using` come from here.
 */
export abstract class Executor {
  /** Schedules `fn(...args)`; returns its Future. @throws RuntimeError after shutdown. */
  abstract submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Future<Awaited<R>>;

  /** Stops accepting calls; see ShutdownOptions. Calling it again is harmless. */
  abstract shutdown(options?: ShutdownOptions): Promise<void>;

  /**
   * @internal Runs `fn` over consecutive argument lists of `stride` values each, packed in
   * `flat` (one array, not one per call: cheaper to clone), as one task; resolves to the
   * results, indexable in order (an array, or a typed array of numbers). Subclasses with
   * workers override it.
   */
  protected _submitChunk(fn: Fn, stride: number, flat: unknown[]): Future<ArrayLike<unknown>> {
    return this.submit<[Fn, number, unknown[]], Promise<ArrayLike<unknown>>>(
      async (f: Fn, st: number, xs: unknown[]) => {
        const out: unknown[] = [];
        for (let i = 0; i < xs.length; i += st) out.push(await f(...xs.slice(i, i + st)));
        return out;
      },
      fn,
      stride,
      flat,
    );
  }

  /** @internal How many calls `map` keeps in flight by default. */
  protected _mapWindow(chunksize: number): number {
    return Math.max(8, Math.ceil(4096 / chunksize));
  }

  /**
   * `fn` applied to the items of `iterables` zipped together (Python's `map(fn, *iterables)`),
   * as an async iterable of results in input order. Calls are submitted at once up to a window
   * and then as results are read, so an endless or huge iterable is fine.
   *
   * **Cancellation:** leaving the loop early (break, throw) cancels the calls not yet started.
   * @throws (from the iteration) the first call's exception in order, TimeoutError after `timeout`.
   */
  map<R>(
    fn: Fn & ((...args: any[]) => R),
    iterables: Iterable<unknown>[],
    options: MapOptions = {},
  ): AsyncIterableIterator<Awaited<R>> {
    if (typeof fn !== 'function')
      throw new TypeError(`Executor.map expects a function: received ${describeValue(fn)}`);
    if (
      !Array.isArray(iterables) ||
      iterables.some(
        (it) => it === null || typeof (it as Iterable<unknown>)?.[Symbol.iterator] !== 'function',
      )
    ) {
      throw new TypeError(
        `Executor.map expects an array of iterables (Python's *iterables): received ${describeValue(iterables)}`,
      );
    }
    const chunksize = options.chunksize ?? 1;
    checkChunksize(chunksize, 'Executor.map');
    const timeout = options.timeout ?? null;
    if (timeout !== null && (typeof timeout !== 'number' || Number.isNaN(timeout))) {
      throw new TypeError(
        `Executor.map: timeout must be a number of milliseconds: received ${describeValue(timeout)}`,
      );
    }
    const window = options.buffersize ?? this._mapWindow(chunksize);
    if (!Number.isInteger(window) || window < 1) {
      throw new RangeError(
        `Executor.map: buffersize must be an integer >= 1: received ${describeValue(window)}`,
      );
    }
    const onProgress = options.onProgress ?? null;
    if (onProgress !== null && typeof onProgress !== 'function') {
      throw new TypeError(
        `Executor.map: onProgress must be a function: received ${describeValue(onProgress)}`,
      );
    }
    const progress = progressOption(options.progress, 'Executor.map');
    let submitted = 0;
    let completed = 0;
    let bar: ProgressSink | null = null;
    const track = (f: Future<unknown>, calls: number): Future<unknown> => {
      submitted += calls;
      if (onProgress !== null || bar !== null) {
        f.addDoneCallback((x) => {
          if (x.cancelled()) return;
          completed += calls;
          bar?.update(completed, submitted);
          onProgress?.(completed, submitted);
        });
      }
      return f;
    };
    const deadline = timeout === null ? null : performance.now() + timeout;
    // One plain array (the common case) is read by index in slices: what its own iterator would
    // yield, element for element, at the same moments, without a call per element.
    const only = iterables.length === 1 ? iterables[0] : null;
    const direct = isPlainArrayIteration(only) ? (only as unknown[]) : null;
    let directAt = 0;
    const its = direct === null ? iterables.map((it) => it[Symbol.iterator]()) : [];
    const inflight = new Deque<Future<unknown>>();
    let exhausted = iterables.length === 0;
    let buffer: ArrayLike<unknown> = [];
    let bufferAt = 0;
    let closed = false;

    const nextArgs = (): unknown[] | null => {
      if (direct !== null) return directAt < direct.length ? [direct[directAt++]] : null;
      const args = new Array(its.length);
      for (let j = 0; j < its.length; j++) {
        const r = (its[j] as Iterator<unknown>).next();
        if (r.done) return null;
        args[j] = r.value;
      }
      return args;
    };
    const fill = (): void => {
      while (!exhausted && inflight.length < window) {
        if (chunksize === 1) {
          const args = nextArgs();
          if (args === null) exhausted = true;
          else inflight.push(track(this.submit(fn, ...args) as Future<unknown>, 1));
          continue;
        }
        if (direct !== null) {
          const flat = direct.slice(directAt, directAt + chunksize);
          directAt += flat.length;
          if (flat.length < chunksize) exhausted = true;
          if (flat.length > 0)
            inflight.push(track(this._submitChunk(fn, 1, flat) as Future<unknown>, flat.length));
          continue;
        }
        const flat: unknown[] = [];
        const stride = its.length;
        let count = 0;
        outer: while (count < chunksize) {
          for (let j = 0; j < stride; j++) {
            const r = (its[j] as Iterator<unknown>).next();
            if (r.done) {
              flat.length = count * stride;
              exhausted = true;
              break outer;
            }
            flat.push(r.value);
          }
          count++;
        }
        if (count > 0)
          inflight.push(track(this._submitChunk(fn, stride, flat) as Future<unknown>, count));
      }
    };
    const cancelRest = (): void => {
      closed = true;
      exhausted = true;
      bar?.stop();
      while (inflight.length > 0) (inflight.shift() as Future<unknown>).cancel();
    };
    if (progress !== null) bar = startProgressBar(progress, knownLength(iterables));
    try {
      fill();
    } catch (e) {
      cancelRest();
      throw e;
    }

    const it: AsyncIterableIterator<Awaited<R>> = {
      [Symbol.asyncIterator]() {
        return it;
      },
      next(): Promise<IteratorResult<Awaited<R>>> {
        // The hot path of a chunked map: no async function frame per result.
        if (bufferAt < buffer.length)
          return Promise.resolve({ done: false, value: buffer[bufferAt++] as Awaited<R> });
        // The hot path of an unchunked map that keeps up: the oldest call has finished, so its
        // result is handed over with no async function frame and no wait on the future.
        if (chunksize === 1 && !closed) {
          const f = inflight.peek();
          if (f?._succeeded()) {
            inflight.shift();
            try {
              fill();
            } catch (e) {
              cancelRest();
              return Promise.reject(e);
            }
            return Promise.resolve({ done: false, value: f._resultNow() as Awaited<R> });
          }
        }
        return refill();
      },
      async return(): Promise<IteratorResult<Awaited<R>>> {
        cancelRest();
        return { done: true, value: undefined };
      },
    };
    const refill = async (): Promise<IteratorResult<Awaited<R>>> => {
      if (closed || inflight.length === 0) {
        closed = true;
        bar?.stop();
        return { done: true, value: undefined };
      }
      const f = inflight.shift() as Future<unknown>;
      let v: unknown;
      try {
        fill();
        if (f.done()) v = await f.result();
        else {
          const left = deadline === null ? null : Math.max(0, deadline - performance.now());
          v = await f.result({ timeout: left });
        }
      } catch (e) {
        f.cancel();
        cancelRest();
        if (e instanceof TimeoutError)
          throw new TimeoutError(`Executor.map: results not ready within ${timeout} ms`);
        throw e;
      }
      if (chunksize === 1) return { done: false, value: v as Awaited<R> };
      buffer = v as ArrayLike<unknown>;
      bufferAt = 0;
      return it.next();
    };
    return it;
  }

  /** `await using executor = new ThreadPoolExecutor()`: shuts down, waiting, at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown({ wait: true });
  }
}
