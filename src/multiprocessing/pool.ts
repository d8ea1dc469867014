/**
 * `Pool`: Python's multiprocessing.Pool, on the same engine as `ProcessPoolExecutor`
 * (src/internal/pool/engine.ts): children started on demand and reused, calls in batches, a
 * child is a daemon. Unlike CPython's Pool, a child that dies does not leave its calls hanging:
 * they fail with BrokenProcessPool.
 *
 * `imap` and `imapUnordered` are lazy where CPython's submit the whole iterable at the call: a
 * window of calls is in flight and refilled as results are read (so an endless iterable works).
 * What CPython's eagerness gives, they keep: the pool's state is checked at the call, and a
 * `close()` after it does not stop them — they go on submitting as their calls finish, and
 * `join()` waits for that (Executor.map's rule for shutdown).
 */

import { checkChunksize } from '../futures/executor.js';
import { Future } from '../futures/future.js';
import { kPoolNames, ProcessPoolExecutor } from '../futures/process-pool-executor.js';
import { type ProgressOptions, progressOption, startProgressBar } from '../futures/progress-bar.js';
import { Deque } from '../internal/deque.js';
import { CancelledError, describeValue, TimeoutError } from '../internal/errors.js';
import { parseWait, type WaitOptions } from '../internal/wait-options.js';
import { startTimer, stopTimer, type Timer } from '../internal/waiter.js';
import { AsyncResult } from './async-result.js';
import { cpuCount } from './process.js';

type Fn = (...args: any[]) => unknown;

export interface PoolOptions {
  initializer?: Fn | null;
  initargs?: unknown[];
  /** Calls a child runs before it is replaced (Python's maxtasksperchild). */
  maxtasksperchild?: number | null;
}

export interface ApplyAsyncOptions<R> {
  callback?: ((result: R) => void) | null;
  errorCallback?: ((error: unknown) => void) | null;
}

export interface PoolMapOptions {
  /** A progress bar on stderr (or `stream`) while the calls run, only on a terminal. */
  progress?: boolean | ProgressOptions | null;
}

/**
 * What `imap` and `imapUnordered` return (Python's `IMapIterator`): an async iterator whose
 * `next()` also takes a `timeout` in ms (Python's `next(timeout)`) and a `signal`.
 */
export interface IMapIterator<T> extends AsyncIterableIterator<T, any, WaitOptions | undefined> {
  /**
   * The next result. With `timeout`, rejects with TimeoutError when none has arrived within
   * that many ms; with `signal`, rejects with its reason when it aborts.
   *
   * **Cancellation:** a wait that ends by its timeout or signal gives nothing up: the iterator
   * stays usable, and the result it waited for goes to the next `next()`, in its turn.
   * @throws TimeoutError, the call's own error (chunksize 1: the iteration goes on after it).
   */
  next(options?: WaitOptions): Promise<IteratorResult<T, any>>;
  [Symbol.asyncIterator](): IMapIterator<T>;
}

/**
 * A pool of worker processes.
 *
 * ```ts
 * await using pool = new Pool(2);
 * console.log(await pool.map(square, [1, 2, 3]));   // [1, 4, 9]
 * ```
 *
 * `await using` terminates the pool at the end of the scope, as Python's `with Pool()` does.
 * Misuse raises what Python's ValueError stands for in weft, a `RangeError` with a `code`:
 * a call after `close()` or `terminate()` (`ERR_WEFT_POOL_NOT_RUNNING`), `join()` before either
 * (`ERR_WEFT_POOL_RUNNING`). The calls that return a Promise reject; the others throw.
 */
export class Pool {
  readonly #ex: ProcessPoolExecutor;
  #state: 'run' | 'close' | 'terminate' = 'run';

  /**
   * @throws RangeError for a bad `processes` or `maxtasksperchild`; TypeError for other bad
   *   options, or `initargs` that cannot be sent to a child.
   */
  constructor(processes?: number | null, options: PoolOptions = {}) {
    const n = processes ?? cpuCount();
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
      throw new RangeError(
        `Number of processes must be at least 1: received ${describeValue(processes)}`,
      );
    }
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`Pool: options must be an object: received ${describeValue(options)}`);
    }
    const { initializer = null, initargs = [], maxtasksperchild = null } = options;
    // Checked here, in the words of Pool's own options (ProcessPoolExecutor names its own).
    if (initializer !== null && typeof initializer !== 'function') {
      throw new TypeError(
        `Pool: initializer must be a function: received ${describeValue(initializer)}`,
      );
    }
    if (!Array.isArray(initargs)) {
      throw new TypeError(`Pool: initargs must be an array: received ${describeValue(initargs)}`);
    }
    if (
      maxtasksperchild !== null &&
      (typeof maxtasksperchild !== 'number' ||
        !Number.isInteger(maxtasksperchild) ||
        maxtasksperchild < 1)
    ) {
      // Python: ValueError "maxtasksperchild must be a positive int or None".
      throw new RangeError(
        `Pool: maxtasksperchild must be a positive integer or null: received ${describeValue(maxtasksperchild)}`,
      );
    }
    this.#ex = new ProcessPoolExecutor({
      maxWorkers: n,
      initializer,
      initargs,
      maxTasksPerChild: maxtasksperchild,
      [kPoolNames]: true,
    });
  }

  #check(): void {
    if (this.#state !== 'run') throw valueError('Pool not running', 'ERR_WEFT_POOL_NOT_RUNNING');
  }

  /**
   * `fn(...args)` in a child; resolves to its result. `kwds`, when it has keys, reaches `fn` as
   * one trailing object (as a Process's `kwargs`); `{}` is no keywords, as in Python.
   */
  apply<R>(
    fn: (...args: any[]) => R,
    args: unknown[] = [],
    kwds?: Record<string, unknown> | null,
  ): Promise<Awaited<R>> {
    try {
      return this.applyAsync(fn, args, kwds).get();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** `fn(...args)` in a child; `callback`/`errorCallback` run in this process when it ends. */
  applyAsync<R>(
    fn: (...args: any[]) => R,
    args: unknown[] = [],
    kwds?: Record<string, unknown> | null,
    options: ApplyAsyncOptions<Awaited<R>> = {},
  ): AsyncResult<Awaited<R>> {
    this.#check();
    checkFunction(fn, 'Pool.applyAsync');
    if (!Array.isArray(args))
      throw new TypeError(
        `Pool.applyAsync: args must be an array: received ${describeValue(args)}`,
      );
    if (kwds !== undefined && kwds !== null && (typeof kwds !== 'object' || Array.isArray(kwds))) {
      throw new TypeError(
        `Pool.applyAsync: kwds must be an object: received ${describeValue(kwds)}`,
      );
    }
    const all = kwds && Object.keys(kwds).length > 0 ? [...args, kwds] : args;
    const f = this.#ex.submit(fn as Fn, ...all) as Future<Awaited<R>>;
    hook(f, options);
    return new AsyncResult(f);
  }

  /**
   * `fn` over `iterable`, in order; resolves to the list of results once every call has ended
   * (a failed call rejects it with the first error to arrive, after the others have run).
   */
  async map<R>(
    fn: (x: any) => R,
    iterable: Iterable<unknown>,
    chunksize?: number,
    options: PoolMapOptions = {},
  ): Promise<Awaited<R>[]> {
    return this.mapAsync(fn, iterable, chunksize, options).get();
  }

  mapAsync<R>(
    fn: (x: any) => R,
    iterable: Iterable<unknown>,
    chunksize?: number,
    options: ApplyAsyncOptions<Awaited<R>[]> & PoolMapOptions = {},
  ): AsyncResult<Awaited<R>[]> {
    this.#check();
    checkFunction(fn, 'Pool.mapAsync');
    return this.#mapAsync(
      fn as Fn,
      [...checkIterable(iterable)].map((x) => [x]),
      chunksize,
      options,
    ) as AsyncResult<Awaited<R>[]>;
  }

  /**
   * `fn(...args)` for each item `args` of `iterable`, which may be any iterable (an array, a
   * string, a typed array, a Set, a generator), as Python's `func(*args)`; resolves to the list
   * of results.
   */
  async starmap<R>(
    fn: (...args: any[]) => R,
    iterable: Iterable<Iterable<unknown>>,
    chunksize?: number,
    options: PoolMapOptions = {},
  ): Promise<Awaited<R>[]> {
    return this.starmapAsync(fn, iterable, chunksize, options).get();
  }

  starmapAsync<R>(
    fn: (...args: any[]) => R,
    iterable: Iterable<Iterable<unknown>>,
    chunksize?: number,
    options: ApplyAsyncOptions<Awaited<R>[]> & PoolMapOptions = {},
  ): AsyncResult<Awaited<R>[]> {
    this.#check();
    checkFunction(fn, 'Pool.starmapAsync');
    const lists: unknown[][] = [];
    for (const a of checkIterable(iterable)) lists.push(argumentList(a));
    return this.#mapAsync(fn as Fn, lists, chunksize, options) as AsyncResult<Awaited<R>[]>;
  }

  #mapAsync(
    fn: Fn,
    lists: unknown[][],
    chunksize: number | undefined,
    options: ApplyAsyncOptions<any[]> & PoolMapOptions,
  ): AsyncResult<unknown[]> {
    checkChunksize(chunksize, 'Pool.map');
    const progress = progressOption(options?.progress, 'Pool.map');
    const cs = chunksize ?? Math.max(1, Math.ceil(lists.length / (this.#ex.maxWorkers * 4)));
    const chunks: Future<unknown[]>[] = [];
    for (let i = 0; i < lists.length; i += cs)
      chunks.push(this.#ex._chunk(fn, lists.slice(i, i + cs)));
    const all = new Future<unknown[]>();
    if (progress !== null) {
      const bar = startProgressBar(progress, lists.length);
      if (bar !== null) {
        let completed = 0;
        for (const [i, c] of chunks.entries()) {
          const calls = Math.min(cs, lists.length - i * cs);
          c.addDoneCallback((x) => {
            if (x._errorOf() !== undefined || x.cancelled()) return;
            completed += calls;
            bar.update(completed, lists.length);
          });
        }
        all.addDoneCallback(() => bar.stop());
      }
    }
    // Python's MapResult: ready only once every chunk is done (the calls of a failed map have
    // all ended when `get` rejects and `errorCallback` runs), with the first error to arrive.
    let left = chunks.length;
    if (left === 0) {
      // CPython's MapResult of no calls is ready at once and never calls back: its callbacks run
      // only from the result handler, which has nothing to deliver.
      all.setResult([]);
      return new AsyncResult(all);
    }
    let error: { e: unknown } | null = null;
    for (const c of chunks) {
      c.addDoneCallback(() => {
        if (error === null) {
          if (c.cancelled()) error = { e: new CancelledError('The call was cancelled') };
          else if (c._errorOf() !== undefined) error = { e: c._errorOf() };
        }
        if (--left > 0 || all.done()) return;
        if (error !== null) all.setException(error.e);
        else all.setResult(chunks.flatMap((x) => x._resultNow() as unknown[]));
      });
    }
    hook(all, options);
    return new AsyncResult(all);
  }

  /**
   * Results in order, as they become available (Python's imap). Lazy: a window of calls is in
   * flight ahead of the result being read. With `chunksize` 1, a failed call throws its error
   * for its item and the next read goes on with the next item (Python's IMapIterator); with
   * chunks, a failed chunk ends the iteration (as Python's generator over chunks does). An
   * iterable that throws is read the same way: the results before its error, then the error.
   * `next({ timeout })` is Python's `next(timeout)`: see IMapIterator.
   * @throws RangeError (ERR_WEFT_POOL_NOT_RUNNING) at the call when the pool is not running.
   */
  imap<R>(
    fn: (x: any) => R,
    iterable: Iterable<unknown>,
    chunksize = 1,
    options: PoolMapOptions = {},
  ): IMapIterator<Awaited<R>> {
    this.#check();
    checkChunksize(chunksize, 'Pool.imap');
    if (typeof fn !== 'function') {
      throw new TypeError(`Pool.imap expects a function: received ${describeValue(fn)}`);
    }
    return imapIterator(
      this.#ex._map(
        fn as Fn,
        [checkIterable(iterable)],
        { chunksize, progress: options?.progress ?? null },
        false,
      ) as AsyncIterableIterator<Awaited<R>>,
    );
  }

  /**
   * Results in completion order (Python's imap_unordered). Lazy as `imap`, and a failed call's
   * error is thrown in its turn the same way; `next({ timeout })` as `imap`'s.
   * @throws RangeError (ERR_WEFT_POOL_NOT_RUNNING) at the call when the pool is not running.
   */
  imapUnordered<R>(
    fn: (x: any) => R,
    iterable: Iterable<unknown>,
    chunksize = 1,
  ): IMapIterator<Awaited<R>> {
    this.#check();
    checkChunksize(chunksize, 'Pool.imapUnordered');
    if (typeof fn !== 'function') {
      throw new TypeError(`Pool.imapUnordered expects a function: received ${describeValue(fn)}`);
    }
    const source = checkIterable(iterable)[Symbol.iterator]();
    return imapIterator(
      unordered(this.#ex, fn as Fn, source, chunksize) as AsyncIterableIterator<Awaited<R>>,
    );
  }

  /**
   * No more work; children exit once the submitted work is done. An `imap` or `imapUnordered`
   * already made goes on to the end of its iterable.
   */
  close(): void {
    if (this.#state === 'run') this.#state = 'close';
    void this.#ex.shutdown({ wait: false });
  }

  /** Ends the children now; unfinished calls fail with CancelledError. */
  terminate(): void {
    this.#state = 'terminate';
    this.#ex._terminate();
  }

  /**
   * Waits for the children to exit.
   * @throws RangeError (Python's ValueError, ERR_WEFT_POOL_RUNNING) unless close() or terminate()
   *   came first.
   */
  async join(): Promise<void> {
    if (this.#state === 'run')
      throw valueError(
        'Pool is still running: call close() or terminate() first',
        'ERR_WEFT_POOL_RUNNING',
      );
    await this.#ex.shutdown({ wait: true });
  }

  /** The pids of the live children (they stay the same across calls). */
  pids(): number[] {
    return this.#ex._pids();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.terminate();
    await this.join();
  }
}

/**
 * imapUnordered's iteration: up to a window of calls unfinished or unread, refilled as results
 * are read (after the pool's close(): as calls finish, see MapRun), read in completion order.
 */
function unordered(
  ex: ProcessPoolExecutor,
  fn: Fn,
  source: Iterator<unknown>,
  chunksize: number,
): AsyncIterableIterator<unknown> {
  const window = ex._mapWindow(chunksize);
  const live = new Set<Future<unknown[]>>();
  const finished = new Deque<Future<unknown[]>>();
  // The next() waiting for a call to finish: next() calls run one after another, as an async
  // generator's do, so there is at most one.
  const readers = new Deque<() => void>();
  let late = false;
  let exhausted = false;
  let closed = false;
  let filling = false;
  let release: (() => void) | null = null;
  let untrack: (() => void) | null = null;
  /** The iterator was collected (MapRun.dropped): the calls run on, their results unread. */
  let discard = false;
  let buffer: ArrayLike<unknown> = [];
  let at = 0;

  const wakeAll = (): void => {
    while (readers.length > 0) (readers.shift() as () => void)();
  };
  const endRun = (): void => {
    untrack?.();
    untrack = null;
    release?.();
    release = null;
  };
  const onDone = (f: Future<unknown[]>): void => {
    if (!live.delete(f)) return;
    if (!discard) finished.push(f);
    if (late && !filling) fill();
    readers.shift()?.();
  };
  const fill = (): void => {
    filling = true;
    try {
      while (!exhausted && live.size + (late ? 0 : finished.length) < window) {
        const batch: unknown[][] = [];
        while (batch.length < chunksize) {
          const r = source.next();
          if (r.done) {
            exhausted = true;
            break;
          }
          batch.push([r.value]);
        }
        if (batch.length === 0) break;
        const f = ex._chunk(fn, batch, late);
        live.add(f);
        f.addDoneCallback(onDone);
      }
    } catch (e) {
      // The iterable's error (or a broken pool's), read after the results finished before it.
      exhausted = true;
      const f = new Future<unknown[]>();
      f.setException(e);
      finished.push(f);
      readers.shift()?.();
    } finally {
      filling = false;
    }
    if (exhausted) endRun();
  };
  /** Closes the iterable's iterator when the iteration ends before it (Executor.map's rule). */
  const closeSource = (): void => {
    if (exhausted) return;
    exhausted = true;
    try {
      source.return?.();
    } catch {
      // Its own error, after the iteration has ended: nothing to throw it to.
    }
  };
  const close = (): void => {
    closed = true;
    closeSource();
    for (const f of live) f.cancel();
    live.clear();
    endRun();
    wakeAll();
  };
  const step = async (): Promise<IteratorResult<unknown>> => {
    for (;;) {
      if (at < buffer.length) return { done: false, value: buffer[at++] };
      if (closed) return { done: true, value: undefined };
      const f = finished.shift();
      if (f !== undefined) {
        if (!late && !exhausted) fill();
        if (f._succeeded()) {
          buffer = f._resultNow() as unknown[];
          at = 0;
          continue;
        }
        const e = f.cancelled() ? new CancelledError('The call was cancelled') : f._errorOf();
        // Chunks fail whole, and Python's generator over them ends there.
        if (chunksize > 1) close();
        throw e;
      }
      if (exhausted && live.size === 0) {
        closed = true;
        return { done: true, value: undefined };
      }
      await new Promise<void>((r) => readers.push(r));
    }
  };

  /** From here on the window counts the calls not finished, and each that finishes submits the next. */
  const goLate = (): void => {
    if (late) return;
    late = true;
    fill();
  };

  fill();
  let turn: Promise<unknown> = Promise.resolve();
  // No closure may name this object (hence `this`): the executor holds the run strongly, and
  // the iterator must stay collectable for MapRun.dropped.
  const it: AsyncIterableIterator<unknown> = {
    [Symbol.asyncIterator]() {
      return this;
    },
    next(): Promise<IteratorResult<unknown>> {
      const p = turn.then(step);
      turn = p.catch(() => undefined);
      return p;
    },
    async return(): Promise<IteratorResult<unknown>> {
      close();
      return { done: true, value: undefined };
    },
  };
  if (!exhausted) {
    untrack = ex._trackMap(
      {
        drain: (r) => {
          // A map draining for an earlier shutdown holds the workers already; one draining for
          // its dropped iterator holds nothing yet, and takes this hold until it ends.
          if (release !== null) {
            r();
            return;
          }
          release = r;
          if (exhausted) {
            endRun();
            return;
          }
          goLate();
        },
        stop: () => {
          closeSource();
          endRun();
          wakeAll();
        },
        // Python's IMapIterator, dropped, read or not: its calls run all the same.
        dropped: () => {
          discard = true;
          finished.clear();
          goLate();
        },
      },
      it,
    );
  }
  return it;
}

/**
 * `inner` with Python's `IMapIterator.next(timeout)`. A read whose wait ends first (its timeout,
 * its signal) stays outstanding, and the next `next()` takes it over: no result is lost or
 * skipped. A plain `next()` with none outstanding is `inner.next()` itself (the loop's hot path).
 */
function imapIterator<T>(inner: AsyncIterableIterator<T>): IMapIterator<T> {
  /** The reads whose wait ended first, oldest first (`seq`: the order they were made in). */
  const orphans: Array<{ seq: number; read: Promise<IteratorResult<T>> }> = [];
  let seq = 0;
  const orphan = (o: { seq: number; read: Promise<IteratorResult<T>> }): void => {
    let k = orphans.length;
    while (k > 0 && (orphans[k - 1] as { seq: number }).seq > o.seq) k--;
    orphans.splice(k, 0, o);
  };
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next(options?: WaitOptions): Promise<IteratorResult<T>> {
      if (options === undefined && orphans.length === 0) return inner.next();
      let timeout: number | null;
      let signal: AbortSignal | null;
      try {
        ({ timeout, signal } = parseWait('IMapIterator.next', options));
      } catch (e) {
        return Promise.reject(e);
      }
      // An aborted signal rejects at once, taking no result (weft-wide).
      if (signal?.aborted) return Promise.reject(signal.reason);
      const o = orphans.shift() ?? { seq: seq++, read: inner.next() };
      if (timeout === null && signal === null) return o.read;
      return new Promise<IteratorResult<T>>((resolve, reject) => {
        let timer: Timer | null = null;
        let waiting = true;
        const end = (): boolean => {
          if (!waiting) return false;
          waiting = false;
          stopTimer(timer);
          signal?.removeEventListener('abort', onAbort);
          return true;
        };
        const giveUp = (e: unknown): void => {
          if (!end()) return;
          orphan(o);
          reject(e);
        };
        const onAbort = (): void => giveUp(signal?.reason);
        o.read.then(
          (r) => {
            if (end()) resolve(r);
          },
          (e: unknown) => {
            if (end()) reject(e);
          },
        );
        signal?.addEventListener('abort', onAbort, { once: true });
        if (timeout !== null) {
          timer = startTimer(
            timeout,
            () =>
              giveUp(
                new TimeoutError(
                  `IMapIterator.next: no result within ${timeout} ms (the iterator is still usable: the result goes to the next call)`,
                ),
              ),
            null,
          );
        }
      });
    },
    return(): Promise<IteratorResult<T>> {
      orphans.length = 0;
      return inner.return?.() ?? Promise.resolve({ done: true, value: undefined });
    },
  };
}

/** Python's ValueError, as weft spells it: a RangeError, with a code saying which misuse. */
function valueError(message: string, code: string): RangeError {
  return Object.assign(new RangeError(message), { code });
}

/** One item of starmap's iterable as the argument list of a call (Python's `func(*args)`). */
function argumentList(a: unknown): unknown[] {
  if (Array.isArray(a)) return a;
  if (a === null || typeof (a as Iterable<unknown>)?.[Symbol.iterator] !== 'function') {
    throw new TypeError(
      `Pool.starmap: each item must be an iterable of arguments: received ${describeValue(a)}`,
    );
  }
  return [...(a as Iterable<unknown>)];
}

function hook<R>(f: Future<R>, o: ApplyAsyncOptions<R>): void {
  const { callback, errorCallback } = o ?? {};
  if (!callback && !errorCallback) return;
  f.addDoneCallback((x) => {
    const e = x._errorOf();
    if (e !== undefined) errorCallback?.(e);
    else if (!x.cancelled()) callback?.(x._resultNow() as R);
  });
}

/** A TypeError naming the Pool method, not the executor under it. */
function checkFunction(fn: unknown, what: string): void {
  if (typeof fn !== 'function') {
    throw new TypeError(`${what} expects a function: received ${describeValue(fn)}`);
  }
}

function checkIterable(x: Iterable<unknown>): Iterable<unknown> {
  if (x === null || typeof (x as Iterable<unknown>)?.[Symbol.iterator] !== 'function') {
    throw new TypeError(`Pool: expected an iterable: received ${describeValue(x)}`);
  }
  return x;
}
