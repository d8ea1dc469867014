/**
 * What ThreadPoolExecutor and ProcessPoolExecutor share: a `PoolEngine`
 * (src/internal/pool/engine.ts) and the Future links into it.
 */
import type { AnyFn } from '../internal/call-args.js';
import { describeValue } from '../internal/errors.js';
import {
  type EngineOptions,
  type Item,
  PoolEngine,
  type PoolWorker,
} from '../internal/pool/engine.js';
import { CancelledError, RuntimeError } from './errors.js';
import { Executor, type ShutdownOptions } from './executor.js';
import { type Escalation, Future, type FutureLink, kLink } from './future.js';

const NO_ARGS: ArrayLike<unknown> = Object.freeze([]);

/** A pool's future is also the engine's record of its call (engine.ts, Item): one object each. */
class PoolFuture<T> extends Future<T> implements Item, FutureLink {
  id = 0;
  fnId = 0;
  w: PoolWorker | null = null;
  slot = 0;
  k = 0;
  withdrawn = false;
  /** Null once the call is done: only a pending future asks the engine anything. */
  private engine: PoolEngine | null;
  constructor(
    engine: PoolEngine,
    public args: ArrayLike<unknown>,
    readonly stride: number,
    readonly packedOk: boolean,
  ) {
    super();
    this.engine = engine;
    this[kLink] = this;
  }
  /**
   * A finished call's arguments and its engine are not needed again: a kept future must keep
   * neither them nor, through the engine, the pool's shared memory and worker records.
   */
  protected override _released(): void {
    this.args = NO_ARGS;
    this.engine = null;
  }
  // The future calls these through its link, which it drops when it is done (future.ts): the
  // engine is always there when they run.
  started(): boolean {
    return (this.engine as PoolEngine).started(this);
  }
  withdraw(): boolean {
    return (this.engine as PoolEngine).withdraw(this);
  }
  interrupt(force: boolean): Escalation | null {
    return (this.engine as PoolEngine).interrupt(this, force);
  }
}

export abstract class PoolExecutor extends Executor {
  /** @internal */
  protected readonly engine: PoolEngine;
  #shutdownDone: Promise<void> | null = null;

  protected constructor(o: EngineOptions) {
    super();
    this.engine = new PoolEngine(o);
  }

  /** `late`: a map made before shutdown, which shutdown lets finish (Executor.map). */
  #check(fn: unknown, late = false): void {
    if (typeof fn !== 'function') {
      throw new TypeError(
        `${this.constructor.name}.submit expects a function: received ${describeValue(fn)}`,
      );
    }
    if (this.engine.broken !== null) {
      const b = this.engine.broken;
      throw this.engine.o.broken(b.message, b.cause);
    }
    if (this.engine.isShutdown && !late) {
      throw new RuntimeError(
        'cannot schedule new futures after shutdown',
        'ERR_WEFT_EXECUTOR_SHUTDOWN',
      );
    }
    this._admit();
  }

  /**
   * @internal A kind of executor's own refusal of a call that passed the checks above, made
   * before the call is queued (ProcessPoolExecutor: none in a daemon process).
   */
  protected _admit(): void {}

  /**
   * Schedules `fn(...args)` on a worker; returns its Future. `fn` must be a marked function
   * (`task(import.meta, fn)`) or a self-contained one; arguments and the result cross by
   * structured clone.
   * @throws RuntimeError after shutdown; BrokenThreadPool/BrokenProcessPool once broken;
   *   TypeError when `fn` is not a function; TaskReferenceError when it cannot reach a worker.
   */
  submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Future<Awaited<R>> {
    this.#check(fn);
    const f = new PoolFuture<Awaited<R>>(this.engine, args, 0, false);
    this.engine.submit(fn, f);
    return f;
  }

  /** @internal */
  override _submitCall(fn: AnyFn, args: unknown[], late: boolean): Future<unknown> {
    this.#check(fn, late);
    const f = new PoolFuture<unknown>(this.engine, args, 0, false);
    this.engine.submit(fn, f);
    return f;
  }

  /** @internal */
  override _submitChunk(
    fn: AnyFn,
    stride: number,
    flat: unknown[],
    late: boolean,
  ): Future<ArrayLike<unknown>> {
    this.#check(fn, late);
    // map only indexes the results: numbers may stay in the typed array they came back in.
    const f = new PoolFuture<ArrayLike<unknown>>(this.engine, flat, stride, true);
    this.engine.submit(fn, f);
    return f;
  }

  /**
   * @internal `fn(...a)` for each argument list `a` of `lists`, as one task (Pool's chunks);
   * `late` as for `_submitCall`.
   */
  _chunk(fn: AnyFn, lists: unknown[][], late = false): Future<unknown[]> {
    const stride = lists[0]?.length ?? 0;
    if (stride > 0 && lists.every((a) => a.length === stride)) {
      this.#check(fn, late);
      // By index, not lists.flat(1), which skips the holes of a sparse list (`[1, , 3]`).
      const flat = new Array<unknown>(lists.length * stride);
      let at = 0;
      for (const a of lists) for (let j = 0; j < stride; j++) flat[at++] = a[j];
      const f = new PoolFuture<unknown[]>(this.engine, flat, stride, false);
      this.engine.submit(fn, f);
      return f;
    }
    // Argument lists of different lengths cannot share a stride: one task each, gathered.
    // A copy each: the list is the caller's (starmap's items), and is encoded only at dispatch.
    const parts = lists.map((a) => this._submitCall(fn, Array.from(a), late));
    const all = new Future<unknown[]>();
    let left = parts.length;
    if (left === 0) all.setResult([]);
    // Done once every part is, as a chunk run in one task is (Pool's map is ready only when all
    // its calls have ended); failed with the first error in order, as that task stops there.
    for (const p of parts) {
      p.addDoneCallback(() => {
        if (--left > 0 || all.done()) return;
        for (const x of parts) {
          if (x.cancelled()) return all.setException(new CancelledError('The call was cancelled'));
          // By its state, not its value: a call can fail with `undefined` (JavaScript throws it).
          if (!x._succeeded()) return all.setException(x._errorOf());
        }
        all.setResult(parts.map((x) => x._resultNow()));
      });
    }
    return all;
  }

  /** @internal Ends every worker now; unfinished calls fail with CancelledError (Pool.terminate). */
  _terminate(): void {
    // Before the engine fails their calls: a running imap submits nothing more.
    this._settleMaps(true, () => () => {});
    this.engine.terminate(new CancelledError('The pool was terminated'));
  }

  /** @internal */
  override _mapWindow(chunksize: number): number {
    return 4 * this.engine.o.maxWorkers + Math.ceil(8192 / chunksize);
  }

  /**
   * Stops accepting calls. Workers finish what they were given and exit; with
   * `cancelFutures`, calls no worker has started are cancelled first. A `map` made before goes on
   * submitting its iterable (without `cancelFutures`) or submits nothing more (with it): see
   * Executor.map. With `wait` (the default) resolves once every worker has exited.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(
        `shutdown: options must be an object: received ${describeValue(options)}`,
      );
    }
    const { wait = true, cancelFutures = false } = options;
    if (this.#shutdownDone === null || cancelFutures) {
      // First: a map that drains holds the workers before the engine retires them; one that
      // stops submits nothing into the queue the engine is about to cancel.
      this._settleMaps(cancelFutures, () => this.engine.hold());
      this.engine.shutdown(cancelFutures);
      this.#shutdownDone = this.engine.whenIdle();
    }
    return wait ? this.#shutdownDone : Promise.resolve();
  }
}
