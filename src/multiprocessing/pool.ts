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
import type { Accepting, AnyFn, ArgList, CallArgs, Kwargs } from '../internal/call-args.js';
import { CancelledError, describeValue } from '../internal/errors.js';
import { withKwargs } from '../internal/run-target.js';
import { kShared, type SharedState } from '../internal/serialize.js';
import { AsyncResult } from './async-result.js';
import { refuseToSend } from './errors.js';
import { type IMapIterator, imapIterator, unordered } from './imap-iterator.js';
import { cpuCount, Process } from './process.js';
import { childName, nextChild } from './process-identity.js';

/**
 * One item of `starmap`: the arguments of one call, a tuple or any iterable of them (Python's
 * `func(*args)`). Extra arguments are passed and ignored by a function that takes fewer.
 */
type StarArgs<A extends readonly unknown[]> = A | Iterable<A[number]>;

/**
 * `F` and `A`, the types of `initializer` and `initargs`, are inferred by `new Pool(n, { … })`,
 * which checks that `initializer` accepts `initargs`; the defaults leave them unchecked.
 */
export interface PoolOptions<F extends AnyFn = AnyFn, A extends ArgList = any[]> {
  /** Called in each child with `initargs` before its first task. */
  initializer?: Accepting<F, A> | null;
  initargs?: A;
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
export class Pool<F extends AnyFn = AnyFn, const A extends ArgList = []> {
  readonly #ex: ProcessPoolExecutor;
  #state: 'run' | 'close' | 'terminate' = 'run';
  /** The Process objects of the workers still running. */
  readonly #workers = new Set<Process>();

  /**
   * `initializer` must accept `initargs`; `F` and `A` serve only that check.
   * @throws RangeError for a bad `processes` or `maxtasksperchild`; TypeError for other bad
   *   options, or `initargs` that cannot be sent to a child; RuntimeError
   *   (`ERR_WEFT_DAEMON_CHILDREN`, Python's AssertionError) in a daemon process, a Pool's worker
   *   among them.
   */
  constructor(processes?: number | null, options: PoolOptions<F, A> = {}) {
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
    // Python's Pool() starts its workers, and its Process.start() asserts that this process is
    // no daemon: refused here as there, after the arguments are checked (weft's start later).
    Process._refuseInDaemon('Cannot create a Pool');
    const idents = new Map<string, number[] | null>();
    this.#ex = new ProcessPoolExecutor<AnyFn, readonly unknown[]>({
      maxWorkers: n,
      initializer,
      initargs,
      maxTasksPerChild: maxtasksperchild,
      // Python's pool workers: `SpawnPoolWorker-N`, numbered with this process's Processes, each
      // with its Process object (listed by activeChildren()).
      [kPoolNames]: {
        workerName: () => {
          const next = nextChild();
          const name = childName('SpawnPoolWorker', next);
          idents.set(name, next.ident);
          return name;
        },
        onWorkerProcess: (name, child) => {
          const w = Process._poolWorker(name, idents.get(name) ?? null, child);
          idents.delete(name);
          this.#workers.add(w);
          child.once('exit', () => this.#workers.delete(w));
        },
      },
    });
  }

  #check(): void {
    if (this.#state !== 'run') throw valueError('Pool not running', 'ERR_WEFT_POOL_NOT_RUNNING');
  }

  /**
   * `fn(...args)` in a child; resolves to its result. `kwds`, when it has keys, reaches `fn` as
   * one trailing object (as a Process's `kwargs`); `{}` is no keywords, as in Python.
   */
  apply<F extends AnyFn, const A extends ArgList = [], K extends Kwargs = undefined>(
    fn: Accepting<F, CallArgs<A, K>>,
    args: A = [] as unknown as A,
    kwds?: K,
  ): Promise<Awaited<ReturnType<F>>> {
    try {
      return this.applyAsync<F, A, K>(fn, args, kwds).get();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** `fn(...args)` in a child; `callback`/`errorCallback` run in this process when it ends. */
  applyAsync<F extends AnyFn, const A extends ArgList = [], K extends Kwargs = undefined>(
    fn: Accepting<F, CallArgs<A, K>>,
    args: A = [] as unknown as A,
    kwds?: K,
    options: ApplyAsyncOptions<Awaited<ReturnType<F>>> = {},
  ): AsyncResult<Awaited<ReturnType<F>>> {
    this.#check();
    checkFunction(fn, 'Pool.applyAsync');
    checkCallbacks(options, 'Pool.applyAsync');
    if (!Array.isArray(args))
      throw new TypeError(
        `Pool.applyAsync: args must be an array: received ${describeValue(args)}`,
      );
    if (kwds !== undefined && kwds !== null && (typeof kwds !== 'object' || Array.isArray(kwds))) {
      throw new TypeError(
        `Pool.applyAsync: kwds must be an object: received ${describeValue(kwds)}`,
      );
    }
    const all = withKwargs(args, kwds);
    const f = this.#ex.submit(fn as AnyFn, ...all) as Future<Awaited<ReturnType<F>>>;
    hook(f, options);
    return new AsyncResult(f);
  }

  /**
   * `fn` over `iterable`, in order; resolves to the list of results once every call has ended
   * (a failed call rejects it with the first error to arrive, after the others have run).
   */
  async map<T, R>(
    fn: (x: T) => R,
    iterable: Iterable<T>,
    chunksize?: number | null,
    options: PoolMapOptions = {},
  ): Promise<Awaited<R>[]> {
    return this.mapAsync(fn, iterable, chunksize, options).get();
  }

  mapAsync<T, R>(
    fn: (x: T) => R,
    iterable: Iterable<T>,
    chunksize?: number | null,
    options: ApplyAsyncOptions<Awaited<R>[]> & PoolMapOptions = {},
  ): AsyncResult<Awaited<R>[]> {
    this.#check();
    checkFunction(fn, 'Pool.mapAsync');
    checkCallbacks(options, 'Pool.mapAsync');
    // The items themselves are a chunk's arguments (one a call): no list per item to make, and
    // for the garbage collector to sweep — 100,000 of them cost a map more than its calls did.
    // A plain array read as its iterator would read it is not copied whole: each chunk is a slice
    // of it, every one taken now, before any is submitted (a hole reads as undefined either way).
    // Array.prototype.slice, not an own `slice`; an Array subclass (its `slice`, its species'
    // constructor: one that freezes its instance) and an array with its own `constructor` are
    // spread as iterables.
    const items = plainArray(iterable) ? (iterable as unknown[]) : [...checkIterable(iterable)];
    return this.#mapAsync(
      items.length,
      (start, end) => arraySlice.call(items, start, end),
      (part) => this.#ex._submitChunk(fn as AnyFn, 1, part, false),
      chunksize,
      options,
      'Pool.map',
    ) as AsyncResult<Awaited<R>[]>;
  }

  /**
   * `fn(...args)` for each item `args` of `iterable`, which may be any iterable (an array, a
   * string, a typed array, a Set, a generator), as Python's `func(*args)`; resolves to the list
   * of results. An item's elements must have the types of `fn`'s parameters (a compile error
   * otherwise); how many there are is not checked, as an iterable's length is known only when it
   * runs (an extra argument is passed and ignored).
   */
  async starmap<R, A extends ArgList = unknown[]>(
    fn: (...args: A) => R,
    iterable: Iterable<StarArgs<A>>,
    chunksize?: number | null,
    options: PoolMapOptions = {},
  ): Promise<Awaited<R>[]> {
    return this.starmapAsync(fn, iterable, chunksize, options).get();
  }

  starmapAsync<R, A extends ArgList = unknown[]>(
    fn: (...args: A) => R,
    iterable: Iterable<StarArgs<A>>,
    chunksize?: number | null,
    options: ApplyAsyncOptions<Awaited<R>[]> & PoolMapOptions = {},
  ): AsyncResult<Awaited<R>[]> {
    this.#check();
    checkFunction(fn, 'Pool.starmapAsync');
    checkCallbacks(options, 'Pool.starmapAsync');
    const lists: unknown[][] = [];
    for (const a of checkIterable(iterable)) lists.push(argumentList(a));
    return this.#mapAsync(
      lists.length,
      (start, end) => lists.slice(start, end),
      (part) => this.#ex._chunk(fn as AnyFn, part),
      chunksize,
      options,
      'Pool.starmap',
    ) as AsyncResult<Awaited<R>[]>;
  }

  /**
   * The `n` calls of a map in chunks of `chunksize`, each cut by `cut(start, end)` (the calls
   * from `start` to `end`) and submitted by `submit`, whose results it joins in order. Every
   * chunk is cut before the first is submitted: a cut that throws (an array's getter, a Proxy)
   * throws from the call with nothing sent, as the spread of an iterable does.
   */
  #mapAsync<P, C extends ArrayLike<unknown>>(
    n: number,
    cut: (start: number, end: number) => P,
    submit: (part: P) => Future<C>,
    chunksize: number | null | undefined,
    options: ApplyAsyncOptions<any[]> & PoolMapOptions,
    what: string,
  ): AsyncResult<unknown[]> {
    // null is Python's chunksize=None, map's default: a size worked out from the items.
    checkChunksize(chunksize ?? undefined, what);
    const progress = progressOption(options?.progress, what);
    const cs = chunksize ?? Math.max(1, Math.ceil(n / (this.#ex.maxWorkers * 4)));
    const parts: P[] = [];
    for (let i = 0; i < n; i += cs) parts.push(cut(i, Math.min(n, i + cs)));
    const chunks: Future<C>[] = parts.map(submit);
    const all = new Future<unknown[]>();
    if (progress !== null) {
      const bar = startProgressBar(progress, n);
      if (bar !== null) {
        let completed = 0;
        for (const [i, c] of chunks.entries()) {
          const calls = Math.min(cs, n - i * cs);
          c.addDoneCallback((x) => {
            if (!x._succeeded()) return;
            completed += calls;
            bar.update(completed, n);
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
          else if (!c._succeeded()) error = { e: c._errorOf() };
        }
        if (--left > 0 || all.done()) return;
        if (error !== null) all.setException(error.e);
        else all.setResult(joined(chunks, n));
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
  imap<T, R>(
    fn: (x: T) => R,
    iterable: Iterable<T>,
    chunksize = 1,
    options: PoolMapOptions = {},
  ): IMapIterator<Awaited<R>> {
    this.#check();
    checkChunksize(chunksize, 'Pool.imap');
    if (typeof fn !== 'function') {
      throw new TypeError(`Pool.imap expects a function: received ${describeValue(fn)}`);
    }
    // Checked here too, so that a bad one is named after imap, not the executor's map under it.
    progressOption(options?.progress, 'Pool.imap');
    return imapIterator(
      this.#ex._map(
        fn as AnyFn,
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
  imapUnordered<T, R>(
    fn: (x: T) => R,
    iterable: Iterable<T>,
    chunksize = 1,
  ): IMapIterator<Awaited<R>> {
    this.#check();
    checkChunksize(chunksize, 'Pool.imapUnordered');
    if (typeof fn !== 'function') {
      throw new TypeError(`Pool.imapUnordered expects a function: received ${describeValue(fn)}`);
    }
    const source = checkIterable(iterable)[Symbol.iterator]();
    return imapIterator(
      unordered(this.#ex, fn as AnyFn, source, chunksize) as AsyncIterableIterator<Awaited<R>>,
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

  /**
   * Ends the children now, with SIGTERM as Python's (their `exitcode` is −15 once they have
   * ended; SIGKILL follows for one that has not ended 5 s later); unfinished calls fail with
   * CancelledError. They are no longer listed by `activeChildren()`, as Python's terminate()
   * has joined them when it returns.
   */
  terminate(): void {
    this.#state = 'terminate';
    for (const w of this.#workers) Process._unlistWorker(w);
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

  /** @internal Refused in a Process's args, a queue item, a task's arguments (see refuseToSend). */
  [kShared](): SharedState {
    refuseToSend(
      'A Pool',
      'pass the work and send the results back, or make a Pool in the process that uses it',
    );
  }
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

/**
 * Checks the options of applyAsync, mapAsync and starmapAsync at the call, before any work is
 * submitted: a callback that is not a function was called when the result came, its TypeError
 * reported on stderr and the call's result otherwise delivered, as if nothing were wrong
 * (CPython's result handler thread dies there, and the pool hangs).
 * @throws TypeError for options that are not an object, a callback that is not a function.
 */
function checkCallbacks(o: unknown, what: string): void {
  if (o === undefined || o === null) return;
  if (typeof o !== 'object') {
    throw new TypeError(`${what}: options must be an object: received ${describeValue(o)}`);
  }
  const { callback, errorCallback } = o as ApplyAsyncOptions<unknown>;
  for (const [name, f] of [
    ['callback', callback],
    ['errorCallback', errorCallback],
  ] as const) {
    if (f !== undefined && f !== null && typeof f !== 'function') {
      throw new TypeError(
        `${what}: ${name} must be a function or null: received ${describeValue(f)}`,
      );
    }
  }
}

function hook<R>(f: Future<R>, o: ApplyAsyncOptions<R>): void {
  const { callback, errorCallback } = o ?? {};
  if (!callback && !errorCallback) return;
  f.addDoneCallback((x) => {
    if (x._succeeded()) callback?.(x._resultNow() as R);
    else if (!x.cancelled()) errorCallback?.(x._errorOf());
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

const arraySlice = Array.prototype.slice;
const arrayValues = Array.prototype[Symbol.iterator];
const arrayIteratorProto = Object.getPrototypeOf([][Symbol.iterator]()) as Iterator<unknown>;
const arrayIteratorNext = arrayIteratorProto.next;

/**
 * Whether `x` is an array whose items Array.prototype.slice reads as its iterator would: not a
 * subclass's instance, with no iterator or `constructor` (species) of its own, and nobody
 * replaced the array iterator's `next`.
 */
function plainArray(x: unknown): x is unknown[] {
  return (
    Array.isArray(x) &&
    Object.getPrototypeOf(x) === Array.prototype &&
    x[Symbol.iterator] === arrayValues &&
    arrayIteratorProto.next === arrayIteratorNext &&
    !Object.hasOwn(x, 'constructor')
  );
}

/**
 * The results of a map's chunks, in order, as one array of `n`. A copy into an array of its
 * final length: `chunks.flatMap(…)` cost a 100,000-call map some 9 ms of the parent's CPU (of
 * 22), the largest item of its profile after the garbage collector. A chunk's results may be a
 * typed array (all numbers, as they travelled: pack.ts), read here without a copy of their own.
 */
function joined<C extends ArrayLike<unknown>>(chunks: Future<C>[], n: number): unknown[] {
  const out = new Array<unknown>(n);
  let k = 0;
  for (const c of chunks) {
    const r = c._resultNow() as C;
    for (let j = 0; j < r.length; j++) out[k++] = r[j];
  }
  return out;
}
