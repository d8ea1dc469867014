/**
 * `Pool`: Python's multiprocessing.Pool, on the same engine as `ProcessPoolExecutor`
 * (src/internal/pool/engine.ts): children started on demand and reused, calls in batches, a
 * child is a daemon. Unlike CPython's Pool, a child that dies does not leave its calls hanging:
 * they fail with BrokenProcessPool.
 */

import { asCompleted } from '../futures/as-completed.js';
import { checkChunksize } from '../futures/executor.js';
import { Future } from '../futures/future.js';
import { kPoolNames, ProcessPoolExecutor } from '../futures/process-pool-executor.js';
import { type ProgressOptions, progressOption, startProgressBar } from '../futures/progress-bar.js';
import { describeValue } from '../internal/errors.js';
import { AsyncResult } from './async-result.js';
import { RuntimeError } from './errors.js';
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
 * A pool of worker processes.
 *
 * ```ts
 * await using pool = new Pool(2);
 * console.log(await pool.map(square, [1, 2, 3]));   // [1, 4, 9]
 * ```
 *
 * `await using` terminates the pool at the end of the scope, as Python's `with Pool()` does.
 */
export class Pool {
  readonly #ex: ProcessPoolExecutor;
  #state: 'run' | 'close' | 'terminate' = 'run';

  constructor(processes?: number | null, options: PoolOptions = {}) {
    const n = processes ?? cpuCount();
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
      throw new RangeError(
        `Number of processes must be at least 1: received ${describeValue(processes)}`,
      );
    }
    this.#ex = new ProcessPoolExecutor({
      maxWorkers: n,
      initializer: options.initializer ?? null,
      initargs: options.initargs ?? [],
      maxTasksPerChild: options.maxtasksperchild ?? null,
      [kPoolNames]: true,
    });
  }

  #check(): void {
    if (this.#state !== 'run')
      throw new RuntimeError('Pool not running', 'ERR_WEFT_POOL_NOT_RUNNING');
  }

  /** `fn(...args)` in a child; resolves to its result. */
  apply<R>(
    fn: (...args: any[]) => R,
    args: unknown[] = [],
    kwds?: Record<string, unknown>,
  ): Promise<Awaited<R>> {
    return this.applyAsync(fn, args, kwds).get();
  }

  /** `fn(...args)` in a child; `callback`/`errorCallback` run in this process when it ends. */
  applyAsync<R>(
    fn: (...args: any[]) => R,
    args: unknown[] = [],
    kwds?: Record<string, unknown> | null,
    options: ApplyAsyncOptions<Awaited<R>> = {},
  ): AsyncResult<Awaited<R>> {
    this.#check();
    if (!Array.isArray(args))
      throw new TypeError(
        `Pool.applyAsync: args must be an array: received ${describeValue(args)}`,
      );
    const all = kwds ? [...args, kwds] : args;
    const f = this.#ex.submit(fn as Fn, ...all) as Future<Awaited<R>>;
    hook(f, options);
    return new AsyncResult(f);
  }

  /** `fn` over `iterable`, in order; resolves to the list of results. */
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
    return this.#mapAsync(
      fn as Fn,
      [...checkIterable(iterable)].map((x) => [x]),
      chunksize,
      options,
    ) as AsyncResult<Awaited<R>[]>;
  }

  /** `fn(...args)` for each argument list of `iterable`; resolves to the list of results. */
  async starmap<R>(
    fn: (...args: any[]) => R,
    iterable: Iterable<unknown[]>,
    chunksize?: number,
    options: PoolMapOptions = {},
  ): Promise<Awaited<R>[]> {
    return this.starmapAsync(fn, iterable, chunksize, options).get();
  }

  starmapAsync<R>(
    fn: (...args: any[]) => R,
    iterable: Iterable<unknown[]>,
    chunksize?: number,
    options: ApplyAsyncOptions<Awaited<R>[]> & PoolMapOptions = {},
  ): AsyncResult<Awaited<R>[]> {
    return this.#mapAsync(
      fn as Fn,
      [...checkIterable(iterable)] as unknown[][],
      chunksize,
      options,
    ) as AsyncResult<Awaited<R>[]>;
  }

  #mapAsync(
    fn: Fn,
    lists: unknown[][],
    chunksize: number | undefined,
    options: ApplyAsyncOptions<any[]> & PoolMapOptions,
  ): AsyncResult<unknown[]> {
    this.#check();
    checkChunksize(chunksize, 'Pool.map');
    const progress = progressOption(options?.progress, 'Pool.map');
    const cs = chunksize ?? Math.max(1, Math.ceil(lists.length / (this.#ex.maxWorkers * 4)));
    const chunks: Future<unknown[]>[] = [];
    for (let i = 0; i < lists.length; i += cs) chunks.push(this.#chunk(fn, lists.slice(i, i + cs)));
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
    let left = chunks.length;
    const finish = (): void => {
      if (all.done()) return;
      for (const c of chunks) {
        const e = c._errorOf();
        if (e !== undefined) {
          all.setException(e);
          return;
        }
      }
      all.setResult(chunks.flatMap((c) => c._resultNow() as unknown[]));
    };
    if (left === 0) all.setResult([]);
    for (const c of chunks) {
      c.addDoneCallback(() => {
        if (c._errorOf() !== undefined) {
          all.done() || all.setException(c._errorOf());
          return;
        }
        if (--left === 0) finish();
      });
    }
    hook(all, options);
    return new AsyncResult(all);
  }

  #chunk(fn: Fn, lists: unknown[][]): Future<unknown[]> {
    return this.#ex._chunk(fn, lists);
  }

  /** Results in order, as they become available (Python's imap). */
  async *imap<R>(
    fn: (x: any) => R,
    iterable: Iterable<unknown>,
    chunksize = 1,
    options: PoolMapOptions = {},
  ): AsyncGenerator<Awaited<R>> {
    this.#check();
    checkChunksize(chunksize, 'Pool.imap');
    yield* this.#ex.map(fn as Fn, [checkIterable(iterable)], {
      chunksize,
      progress: options?.progress ?? null,
    }) as AsyncIterable<Awaited<R>>;
  }

  /** Results in completion order (Python's imap_unordered). */
  async *imapUnordered<R>(
    fn: (x: any) => R,
    iterable: Iterable<unknown>,
    chunksize = 1,
  ): AsyncGenerator<Awaited<R>> {
    this.#check();
    checkChunksize(chunksize, 'Pool.imapUnordered');
    const fs: Future<unknown[]>[] = [];
    let batch: unknown[][] = [];
    for (const x of checkIterable(iterable)) {
      batch.push([x]);
      if (batch.length === chunksize) {
        fs.push(this.#chunk(fn as Fn, batch));
        batch = [];
      }
    }
    if (batch.length > 0) fs.push(this.#chunk(fn as Fn, batch));
    for await (const f of asCompleted(fs)) for (const v of await f.result()) yield v as Awaited<R>;
  }

  /** No more work; children exit once the submitted work is done. */
  close(): void {
    if (this.#state === 'run') this.#state = 'close';
    void this.#ex.shutdown({ wait: false });
  }

  /** Ends the children now; unfinished calls fail. */
  terminate(): void {
    this.#state = 'terminate';
    this.#ex._terminate();
  }

  /** Waits for the children to exit. @throws RuntimeError unless close() or terminate() came first. */
  async join(): Promise<void> {
    if (this.#state === 'run')
      throw new RuntimeError(
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

function hook<R>(f: Future<R>, o: ApplyAsyncOptions<R>): void {
  const { callback, errorCallback } = o ?? {};
  if (!callback && !errorCallback) return;
  f.addDoneCallback((x) => {
    const e = x._errorOf();
    if (e !== undefined) errorCallback?.(e);
    else if (!x.cancelled()) callback?.(x._resultNow() as R);
  });
}

function checkIterable(x: Iterable<unknown>): Iterable<unknown> {
  if (x === null || typeof (x as Iterable<unknown>)?.[Symbol.iterator] !== 'function') {
    throw new TypeError(`Pool: expected an iterable: received ${describeValue(x)}`);
  }
  return x;
}
