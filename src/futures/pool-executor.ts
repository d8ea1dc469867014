/**
 * What ThreadPoolExecutor and ProcessPoolExecutor share: a `PoolEngine`
 * (src/internal/pool/engine.ts) and the Future links into it.
 */
import { describeValue } from '../internal/errors.js';
import { type EngineOptions, PoolEngine } from '../internal/pool/engine.js';
import { RuntimeError } from './errors.js';
import { Executor, type ShutdownOptions } from './executor.js';
import { Future, type FutureLink, kLink } from './future.js';

type Fn = (...args: any[]) => unknown;

export abstract class PoolExecutor extends Executor {
  /** @internal */
  protected readonly engine: PoolEngine;
  #shutdownDone: Promise<void> | null = null;

  protected constructor(o: EngineOptions) {
    super();
    this.engine = new PoolEngine(o);
  }

  #check(fn: unknown): void {
    if (typeof fn !== 'function') {
      throw new TypeError(
        `${this.constructor.name}.submit expects a function: received ${describeValue(fn)}`,
      );
    }
    if (this.engine.broken !== null) {
      const b = this.engine.broken;
      throw this.engine.o.broken(b.message, b.cause);
    }
    if (this.engine.isShutdown) {
      throw new RuntimeError(
        'cannot schedule new futures after shutdown',
        'ERR_WEFT_EXECUTOR_SHUTDOWN',
      );
    }
  }

  /**
   * Schedules `fn(...args)` on a worker; returns its Future. `fn` must be a marked function
   * (`task(import.meta, fn)`) or a self-contained one; arguments and the result cross by
   * structured clone.
   * @throws RuntimeError after shutdown; BrokenThreadPool/BrokenProcessPool once broken;
   *   TypeError when `fn` is not a function; TaskReferenceError when it cannot reach a worker.
   */
  submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Future<Awaited<R>> {
    this.#check(fn);
    const f = new Future<Awaited<R>>();
    f[kLink] = this.engine.submit(fn, args, 0, f) satisfies FutureLink;
    return f;
  }

  protected override _submitChunk(fn: Fn, stride: number, flat: unknown[]): Future<unknown[]> {
    this.#check(fn);
    const f = new Future<unknown[]>();
    flat.unshift(stride);
    f[kLink] = this.engine.submit(fn, flat, 1, f) satisfies FutureLink;
    return f;
  }

  protected override _mapWindow(chunksize: number): number {
    return 4 * this.engine.o.maxWorkers + Math.ceil(8192 / chunksize);
  }

  /**
   * Stops accepting calls. Workers finish what they were given and exit; with
   * `cancelFutures`, calls no worker has started are cancelled first. With `wait` (the default)
   * resolves once every worker has exited.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(
        `shutdown: options must be an object: received ${describeValue(options)}`,
      );
    }
    const { wait = true, cancelFutures = false } = options;
    if (this.#shutdownDone === null || cancelFutures) {
      this.engine.shutdown(cancelFutures);
      this.#shutdownDone = this.engine.whenIdle();
    }
    return wait ? this.#shutdownDone : Promise.resolve();
  }
}
