/**
 * The iterators of `Pool.imap` and `Pool.imapUnordered`: Python's `IMapIterator`, with its
 * `next(timeout)`, over weft's lazy window of calls (see pool.ts), and the completion-order
 * iteration of `imapUnordered`.
 */

import { closeIterator, MapRegistration } from '../futures/executor.js';
import { Future } from '../futures/future.js';
import type { ProcessPoolExecutor } from '../futures/process-pool-executor.js';
import type { AnyFn } from '../internal/call-args.js';
import { Deque } from '../internal/deque.js';
import { CancelledError, TimeoutError } from '../internal/errors.js';
import { parseWait, type WaitOptions } from '../internal/wait-options.js';
import { startTimer, stopTimer, type Timer } from '../internal/waiter.js';

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
 * imapUnordered's iteration: up to a window of calls unfinished or unread, refilled as results
 * are read (after the pool's close(): as calls finish, see MapRun), read in completion order.
 */
export function unordered(
  ex: ProcessPoolExecutor,
  fn: AnyFn,
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
  const registration = new MapRegistration();
  /** The iterator was collected (MapRun.dropped): the calls run on, their results unread. */
  let discard = false;
  let buffer: ArrayLike<unknown> = [];
  let at = 0;

  const wakeAll = (): void => {
    while (readers.length > 0) (readers.shift() as () => void)();
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
    if (exhausted) registration.end();
  };
  /** Closes the iterable's iterator when the iteration ends before it (Executor.map's rule). */
  const closeSource = (): void => {
    if (exhausted) return;
    exhausted = true;
    closeIterator(source);
  };
  const close = (): void => {
    closed = true;
    closeSource();
    for (const f of live) f.cancel();
    live.clear();
    registration.end();
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
    registration.track(
      ex,
      {
        drain: (r) => registration.drain(r, exhausted, goLate),
        stop: () => {
          closeSource();
          registration.end();
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
export function imapIterator<T>(inner: AsyncIterableIterator<T>): IMapIterator<T> {
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
