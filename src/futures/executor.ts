import type { Accepting, AnyFn, ArgList, IterablesOf } from '../internal/call-args.js';
import { Deque } from '../internal/deque.js';
import { describeValue, TimeoutError } from '../internal/errors.js';
import { Future } from './future.js';
import {
  knownLength,
  type ProgressOptions,
  type ProgressSink,
  progressOption,
  startProgressBar,
} from './progress-bar.js';
import { checkOptions } from './wait.js';

const arrayValues = Array.prototype[Symbol.iterator];
const arrayIteratorProto = Object.getPrototypeOf([][Symbol.iterator]()) as Iterator<unknown>;
const arrayIteratorNext = arrayIteratorProto.next;

/**
 * Whether iterating `x` is walking a plain array's indices (nobody replaced the iterator), so that
 * its chunks may be cut with Array.prototype.slice. Not an Array subclass, nor an array with a
 * `constructor` of its own: slice builds its result through the species constructor, which such
 * an array may have made to return anything.
 */
function isPlainArrayIteration(x: unknown): boolean {
  return (
    Array.isArray(x) &&
    Object.getPrototypeOf(x) === Array.prototype &&
    (x as unknown[])[Symbol.iterator] === arrayValues &&
    arrayIteratorProto.next === arrayIteratorNext &&
    !Object.hasOwn(x, 'constructor')
  );
}
const arraySlice = Array.prototype.slice;

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
 * @internal A map (Executor.map, Pool.imap, Pool.imapUnordered) still submitting its iterable,
 * as its executor's shutdown sees it.
 */
export interface MapRun {
  /**
   * Shutdown without cancelFutures: submit the rest of the iterable as calls finish rather than
   * as results are read, and call `release` once all of it is submitted (or the map ends).
   */
  drain(release: () => void): void;
  /** Shutdown with cancelFutures, Pool.terminate: submit nothing more. */
  stop(): void;
  /**
   * The map's iterator was collected: nobody can read it any more. Python's map had submitted
   * the whole iterable at the call, so the calls run all the same (and shutdown waits for them)
   * — unless it is Executor.map's generator, already read from, which CPython closes when it is
   * dropped, cancelling the calls not started.
   */
  dropped(): void;
}

/**
 * @internal A map's place in its executor's shutdown, for Executor.map and Pool.imap/
 * imapUnordered alike: its registration (see `Executor._trackMap`) and the hold on the workers
 * that a draining shutdown hands it (MapRun.drain), both let go by `end()`.
 */
export class MapRegistration {
  #untrack: (() => void) | null = null;
  #release: (() => void) | null = null;

  /** Registers `run` with `executor`, until `end()`; `iterator` as for `_trackMap`. */
  track(executor: Executor, run: MapRun, iterator: object): void {
    this.#untrack = executor._trackMap(run, iterator);
  }

  /**
   * MapRun.drain: keeps `release` until `end()` — at once when the map has nothing left to
   * submit (`exhausted`), else `goLate` has it submit the rest as its calls finish.
   */
  drain(release: () => void, exhausted: boolean, goLate: () => void): void {
    // A map draining for an earlier shutdown holds the workers already; one draining for
    // its dropped iterator holds nothing yet, and takes this hold until it ends.
    if (this.#release !== null) {
      release();
      return;
    }
    this.#release = release;
    if (exhausted) {
      this.end();
      return;
    }
    goLate();
  }

  /** The map has submitted its whole iterable, or has ended: unregisters it, lets go its hold. */
  end(): void {
    this.#untrack?.();
    this.#untrack = null;
    this.#release?.();
    this.#release = null;
  }
}

/**
 * @internal Closes the iterator of an iterable a map stops reading before its end, as `for…of`
 * closes one it leaves (a generator's `finally` runs). Its own error is dropped: the map has
 * already ended, there is nothing to throw it to.
 */
export function closeIterator(i: Iterator<unknown>): void {
  try {
    i.return?.();
  } catch {
    // Nothing to throw it to (see above).
  }
}

/**
 * Tells a map that its iterator is gone (MapRun.dropped). The registry holds the run, never the
 * iterator: a map's closures must not name its iterator (they use `this`), or it is never
 * collected.
 */
const droppedMaps = new FinalizationRegistry<MapRun>((run) => run.dropped());

/**
 * Python's `concurrent.futures.Executor`: runs calls asynchronously. Subclasses provide
 * `submit` and `shutdown`; `map` and `await using` come from here.
 */
export abstract class Executor {
  /**
   * The maps still submitting. Held strongly: a map nobody reads any more must still run to its
   * end, as Python's would (it submitted everything at the call), and shutdown waits for it. A
   * map leaves this set when it has submitted its iterable, or ends (see MapRun).
   */
  #maps = new Set<MapRun>();

  /** Schedules `fn(...args)`; returns its Future. @throws RuntimeError after shutdown. */
  abstract submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Future<Awaited<R>>;

  /** Stops accepting calls; see ShutdownOptions. Calling it again is harmless. */
  abstract shutdown(options?: ShutdownOptions): Promise<void>;

  /**
   * @internal `fn(...args)` for a map: `late` once the executor's shutdown has let the map
   * finish submitting (see `_settleMaps`). Subclasses with workers override it.
   */
  _submitCall(fn: AnyFn, args: unknown[], _late: boolean): Future<unknown> {
    return this.submit(fn, ...args);
  }

  /**
   * @internal Runs `fn` over consecutive argument lists of `stride` values each, packed in
   * `flat` (one array, not one per call: cheaper to clone), as one task; resolves to the
   * results, indexable in order (an array, or a typed array of numbers). `late` as for
   * `_submitCall`. Subclasses with workers override it.
   */
  _submitChunk(
    fn: AnyFn,
    stride: number,
    flat: unknown[],
    _late: boolean,
  ): Future<ArrayLike<unknown>> {
    // Synchronous while the calls are: a user's executor that completes its futures with
    // `setResult(fn(...args))`, as a Python subclass of Executor would, got a Promise for every
    // chunk, which setResult refuses (a thenable): a chunked map failed where Python's, which
    // ignores chunksize there, runs. Async only from a call that returns a thenable.
    // Self-contained (no closure): an executor may send it elsewhere as an inline function.
    return this.submit<
      [AnyFn, number, unknown[]],
      ArrayLike<unknown> | Promise<ArrayLike<unknown>>
    >(
      (f: AnyFn, st: number, xs: unknown[]) => {
        const out: unknown[] = [];
        const rest = async (i: number, first: PromiseLike<unknown>): Promise<unknown[]> => {
          out.push(await first);
          for (let j = i + st; j < xs.length; j += st) out.push(await f(...xs.slice(j, j + st)));
          return out;
        };
        for (let i = 0; i < xs.length; i += st) {
          const v: unknown = f(...xs.slice(i, i + st));
          if (
            v !== null &&
            (typeof v === 'object' || typeof v === 'function') &&
            typeof (v as PromiseLike<unknown>).then === 'function'
          )
            return rest(i, v as PromiseLike<unknown>);
          out.push(v);
        }
        return out;
      },
      fn,
      stride,
      flat,
    ) as Future<ArrayLike<unknown>>;
  }

  /** @internal How many calls `map` keeps in flight by default. */
  _mapWindow(chunksize: number): number {
    return Math.max(8, Math.ceil(4096 / chunksize));
  }

  /**
   * @internal Registers a running map for shutdown, and for `run.dropped()` once `iterator` is
   * collected; the returned function unregisters it.
   */
  _trackMap(run: MapRun, iterator: object): () => void {
    this.#maps.add(run);
    droppedMaps.register(iterator, run, run);
    return () => {
      this.#maps.delete(run);
      droppedMaps.unregister(run);
    };
  }

  /**
   * @internal For `shutdown`: every map still submitting either finishes (`hold` keeps the
   * workers until it has submitted everything) or, with `stop`, submits nothing more.
   */
  protected _settleMaps(stop: boolean, hold: () => () => void): void {
    // A draining map stays registered (it unregisters when it ends): a later stop must reach it.
    for (const run of [...this.#maps]) {
      if (stop) run.stop();
      else run.drain(hold());
    }
  }

  /**
   * `fn` applied to the items of `iterables` zipped together (Python's `map(fn, *iterables)`),
   * as an async iterable of results in input order. Calls are submitted at once up to a window
   * and then as results are read, so an endless or huge iterable is fine.
   *
   * Shutdown: Python submits the whole iterable when `map` is called, so `shutdown(wait=True)`
   * waits for every call of a map made before it. Here a map made before `shutdown()` goes on
   * submitting its iterable after it, as its calls finish rather than as its results are read,
   * and `shutdown({ wait: true })` waits until it is all done (results are kept until read); with
   * `cancelFutures` it submits nothing more, and reading reaches a `CancelledError`. A map made
   * after shutdown throws RuntimeError. A map dropped unread still runs every call (once its
   * iterator is collected, or at shutdown); one dropped after a read is closed when collected,
   * as CPython's generator is: its calls not started are cancelled.
   *
   * `fn` must accept one item of each iterable, in order (a compile error otherwise): the
   * iterables' item types are inferred, one per iterable, and `fn` is checked against them.
   *
   * **Cancellation:** leaving the loop early (break, throw) cancels the calls not yet started.
   * @throws (from the iteration) the first call's exception in order, TimeoutError after `timeout`.
   */
  map<F extends AnyFn, const A extends ArgList>(
    fn: Accepting<F, A>,
    iterables: readonly [...IterablesOf<A>],
    options: MapOptions = {},
  ): AsyncIterableIterator<Awaited<ReturnType<F>>> {
    return this._map(
      fn as (...args: any[]) => ReturnType<F>,
      iterables as Iterable<unknown>[],
      options,
      true,
    );
  }

  /**
   * @internal `map`; with `stopAtError` false and chunksize 1 (Pool.imap, Python's
   * IMapIterator), a failed call's error is thrown for its item and the iteration goes on.
   */
  _map<R>(
    fn: AnyFn & ((...args: any[]) => R),
    iterables: Iterable<unknown>[],
    opts: MapOptions,
    stopAtError: boolean,
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
    const options = checkOptions('Executor.map', opts, '{ timeout, chunksize }');
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
    const perItem = !stopAtError && chunksize === 1;
    let submitted = 0;
    let completed = 0;
    let bar: ProgressSink | null = null;
    // After shutdown (MapRun.drain): the window counts the calls not finished, not the results
    // not read, and each call that finishes submits the next.
    let late = false;
    let unfinished = 0;
    let filling = false;
    const registration = new MapRegistration();
    /** Whether next() was ever called (MapRun.dropped). */
    let read = false;
    /** The iterator was collected: results are dropped as their calls finish, nobody reads them. */
    let discard = false;
    // Executor.map is Python's generator, which CPython closes (cancelling the calls not started)
    // when it is dropped after a read; Pool.imap's IMapIterator runs every call however it is read.
    const closeWhenDropped = stopAtError;
    const onSettled = (): void => {
      unfinished--;
      if (discard) while (inflight.peek()?.done()) inflight.shift();
      // A future done at once would call back from inside fill, whose loop goes on by itself.
      if (!filling) lateFill();
    };
    const track = (f: Future<unknown>, calls: number): Future<unknown> => {
      submitted += calls;
      if (late) {
        unfinished++;
        f.addDoneCallback(onSettled);
      }
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
      while (!exhausted && (late ? unfinished : inflight.length) < window) {
        if (chunksize === 1) {
          const args = nextArgs();
          if (args === null) exhausted = true;
          else inflight.push(track(this._submitCall(fn, args, late), 1));
          continue;
        }
        if (direct !== null) {
          const flat = arraySlice.call(direct, directAt, directAt + chunksize);
          directAt += flat.length;
          if (flat.length < chunksize) exhausted = true;
          if (flat.length > 0)
            inflight.push(
              track(this._submitChunk(fn, 1, flat, late) as Future<unknown>, flat.length),
            );
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
          inflight.push(track(this._submitChunk(fn, stride, flat, late) as Future<unknown>, count));
      }
      if (exhausted) registration.end();
    };
    /** An error of the iterable (or of submitting) read in its place, after the calls before it. */
    const failInPlace = (e: unknown): void => {
      exhausted = true;
      const f = new Future<unknown>();
      f.setException(e);
      inflight.push(f);
      registration.end();
    };
    const lateFill = (): void => {
      filling = true;
      try {
        fill();
      } catch (e) {
        failInPlace(e);
      } finally {
        filling = false;
      }
    };
    /**
     * Tops the window up as results are read. For Pool.imap (chunked or not) an error of the
     * iterable waits for its place, after the results before it, as in Python's IMapIterator;
     * Executor.map throws it at once (Python's reads the whole iterable at the call).
     */
    const topUp = stopAtError ? fill : lateFill;
    /**
     * The map ends before its iterables do (the loop left, a failed call, a timeout, shutdown
     * with cancelFutures): their iterators are closed, as `for…of` closes one it leaves, so a
     * generator's `finally` runs. One that threw or ended is not (`exhausted` already).
     */
    const closeSources = (): void => {
      if (exhausted) return;
      exhausted = true;
      for (const i of its) closeIterator(i);
    };
    const cancelRest = (): void => {
      closed = true;
      closeSources();
      bar?.stop();
      while (inflight.length > 0) (inflight.shift() as Future<unknown>).cancel();
      registration.end();
    };
    if (progress !== null) bar = startProgressBar(progress, knownLength(iterables));
    try {
      topUp();
    } catch (e) {
      cancelRest();
      throw e;
    }
    /** From here on the window counts the calls not finished, and each that finishes submits the next. */
    const goLate = (): void => {
      if (late) return;
      late = true;
      for (const f of inflight) {
        if (f.done()) continue;
        unfinished++;
        f.addDoneCallback(onSettled);
      }
      lateFill();
    };

    /** The read in progress, waiting for a call's (or a chunk's) result (see next()). */
    let reading: Promise<IteratorResult<Awaited<R>>> | null = null;
    // No closure here may name this object (hence `this`): the executor holds the map's run
    // strongly, and the iterator must stay collectable for MapRun.dropped.
    const it: AsyncIterableIterator<Awaited<R>> = {
      [Symbol.asyncIterator]() {
        return this;
      },
      next(): Promise<IteratorResult<Awaited<R>>> {
        read = true;
        // The hot path of a chunked map: no async function frame per result.
        if (bufferAt < buffer.length)
          return Promise.resolve({ done: false, value: buffer[bufferAt++] as Awaited<R> });
        // A next() made while another waits for its result (`Promise.all([it.next(),
        // it.next()])`) is answered in turn, as an async generator's would be: after that one,
        // and as the map then stands. Run at once, it took the next call's result past a failed
        // call or a timeout that had ended the map (in order, but not done as sequential reads
        // are), and a ready result could settle before the earlier read still waiting.
        if (reading !== null) {
          const nextInTurn = (): Promise<IteratorResult<Awaited<R>>> => this.next();
          return reading.then(nextInTurn, nextInTurn);
        }
        // The hot path of an unchunked map that keeps up: the oldest call has finished, so its
        // result is handed over with no async function frame and no wait on the future.
        if (chunksize === 1 && !closed) {
          const f = inflight.peek();
          if (f?._succeeded()) {
            inflight.shift();
            try {
              topUp();
            } catch (e) {
              cancelRest();
              return Promise.reject(e);
            }
            return Promise.resolve({ done: false, value: f._resultNow() as Awaited<R> });
          }
        }
        // A chunked map reads a chunk at a time into one buffer: run at once, an overlapping
        // next() read the next chunk over the first's (hence the wait above, for both kinds).
        const p = refill();
        reading = p;
        const done = (): void => {
          if (reading === p) reading = null;
        };
        p.then(done, done);
        return p;
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
        topUp();
        if (f.done()) v = await f.result();
        else {
          const left = deadline === null ? null : Math.max(0, deadline - performance.now());
          v = await f.result({ timeout: left });
        }
      } catch (e) {
        // A call's own TimeoutError is its outcome, not the map's deadline.
        if (e instanceof TimeoutError && e !== f._errorOf()) {
          f.cancel();
          cancelRest();
          throw new TimeoutError(`Executor.map: results not ready within ${timeout} ms`);
        }
        // Pool.imap: this item's error; the next read goes on with the next item.
        if (perItem && !closed) throw e;
        f.cancel();
        cancelRest();
        throw e;
      }
      if (chunksize === 1) return { done: false, value: v as Awaited<R> };
      buffer = v as ArrayLike<unknown>;
      bufferAt = 0;
      if (bufferAt < buffer.length) return { done: false, value: buffer[bufferAt++] as Awaited<R> };
      return refill();
    };
    if (!exhausted) {
      registration.track(
        this,
        {
          drain: (r) => registration.drain(r, exhausted, goLate),
          stop: () => {
            closeSources();
            registration.end();
          },
          dropped: () => {
            if (read && closeWhenDropped) {
              cancelRest();
              return;
            }
            discard = true;
            bar?.stop();
            while (inflight.peek()?.done()) inflight.shift();
            goLate();
          },
        },
        it,
      );
    }
    return it;
  }

  /** `await using executor = new ThreadPoolExecutor()`: shuts down, waiting, at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown({ wait: true });
  }
}
