import { availableParallelism } from 'node:os';
import { isMainThread, type ResourceLimits } from 'node:worker_threads';
import type { Accepting, AnyFn, ArgList } from '../internal/call-args.js';
import { dryLoopClaimed } from '../internal/dry-loop.js';
import { describeValue } from '../internal/errors.js';
import { checkInitargs } from '../internal/pool/engine.js';
import {
  finishExecutors,
  liveExecutors,
  trackExecutor,
  untrackExecutor,
} from '../internal/thread-executors.js';
import { MIN_STACK_SIZE } from '../threading/stack-size.js';
import { BrokenThreadPool } from './errors.js';
import type { ShutdownOptions } from './executor.js';
import { PoolExecutor } from './pool-executor.js';

/**
 * `F` and `A`, the types of `initializer` and `initargs`, are inferred by
 * `new ThreadPoolExecutor({ … })`, which checks that `initializer` accepts `initargs`; the
 * defaults leave them unchecked.
 */
export interface ThreadPoolExecutorOptions<F extends AnyFn = AnyFn, A extends ArgList = any[]> {
  /** Default `min(32, cpuCount + 4)`. */
  maxWorkers?: number;
  /** Worker names are `${prefix}_${n}` (default `ThreadPoolExecutor-${k}`). */
  threadNamePrefix?: string;
  /**
   * Called in each worker with `initargs` before its first task (a marked or self-contained
   * function).
   */
  initializer?: Accepting<F, A> | null;
  initargs?: A;
  /**
   * Memory limits of each worker thread (Node's `resourceLimits`). A worker that runs out of
   * memory ends, and the pool breaks with a BrokenThreadPool whose cause says so.
   */
  resourceLimits?: ResourceLimits;
}

let counter = 0;

let exitArmed = false;

/**
 * Python 3.9+'s `_python_exit` (src/internal/thread-executors.ts): at the end of the thread that
 * made them, the executors not shut down are, and their calls waited for. In the root's main
 * thread the end is its event loop running dry (the busy workers hold it until their calls are
 * done); shutting the executors down ends their idle workers, which wait for the non-daemon
 * threads their calls started, and the loop runs dry again once they have exited. The other
 * ends call it in their own order: a Thread's worker (thread-worker.ts), a thread pool's
 * (thread-role.ts), a child process and a process pool's worker (exit-hooks.ts).
 */
function armExit(): void {
  if (exitArmed || !isMainThread) return;
  exitArmed = true;
  process.on('beforeExit', () => {
    // Not while a listener will wake something (gevent's LoopExit resumes the program).
    if (liveExecutors() && !dryLoopClaimed()) void finishExecutors();
  });
}

export function checkCommon(
  what: string,
  o: { maxWorkers?: number; initializer?: unknown; initargs?: unknown },
  defaultMax: number,
): number {
  if (typeof o !== 'object' || o === null)
    throw new TypeError(`${what}: options must be an object: received ${describeValue(o)}`);
  const max = o.maxWorkers ?? defaultMax;
  if (typeof max !== 'number' || !Number.isInteger(max)) {
    throw new TypeError(`${what}: maxWorkers must be an integer: received ${describeValue(max)}`);
  }
  if (max <= 0) throw new RangeError(`${what}: maxWorkers must be greater than 0: received ${max}`);
  if (
    o.initializer !== undefined &&
    o.initializer !== null &&
    typeof o.initializer !== 'function'
  ) {
    throw new TypeError(
      `${what}: initializer must be a function: received ${describeValue(o.initializer)}`,
    );
  }
  if (o.initargs !== undefined && !Array.isArray(o.initargs)) {
    throw new TypeError(
      `${what}: initargs must be an array: received ${describeValue(o.initargs)}`,
    );
  }
  return max;
}

const RESOURCE_LIMITS = [
  'maxYoungGenerationSizeMb',
  'maxOldGenerationSizeMb',
  'codeRangeSizeMb',
  'stackSizeMb',
] as const;

/**
 * Node's Worker ignores what it does not understand in `resourceLimits` (a number, a misspelt
 * field, a string limit), which left the pool without the limit and without a word of it. 0 is
 * Node's "the default" for every field but the old generation, where it (as any negative value)
 * ends each worker at once out of memory: refused here. A positive limit too small to start a
 * worker (a few megabytes of old generation) is Node's to judge: the pool breaks at its first
 * call (BrokenThreadPool, with the worker's ERR_WORKER_OUT_OF_MEMORY).
 */
const MiB = 1024 * 1024;

function checkResourceLimits(rl: unknown): void {
  if (rl === undefined || rl === null) return;
  if (typeof rl !== 'object') {
    throw new TypeError(
      `ThreadPoolExecutor: resourceLimits must be an object such as { maxOldGenerationSizeMb: 256 }: received ${describeValue(rl)}`,
    );
  }
  for (const [key, value] of Object.entries(rl)) {
    if (!(RESOURCE_LIMITS as readonly string[]).includes(key)) {
      throw new TypeError(
        `ThreadPoolExecutor: resourceLimits has no field ${JSON.stringify(key)} (Node's fields: ${RESOURCE_LIMITS.join(', ')})`,
      );
    }
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new TypeError(
        `ThreadPoolExecutor: resourceLimits.${key} must be a number of megabytes: received ${describeValue(value)}`,
      );
    }
    if (value < 0 || (value === 0 && key === 'maxOldGenerationSizeMb')) {
      throw new RangeError(
        key === 'maxOldGenerationSizeMb'
          ? `ThreadPoolExecutor: resourceLimits.maxOldGenerationSizeMb must be greater than 0 (a worker with no old generation runs out of memory at once): received ${value}`
          : `ThreadPoolExecutor: resourceLimits.${key} must be 0 (Node's default) or more: received ${value}`,
      );
    }
    // Node 20 ends the whole process (a fatal "Maximum call stack size exceeded", exit code 6)
    // when a worker's stack is too small for its own start-up: 0.2 MB did so, 0.25 failed the
    // worker alone. The floor is threading.stackSize()'s, for one rule for every weft thread.
    if (key === 'stackSizeMb' && value > 0 && value < MIN_STACK_SIZE / MiB) {
      throw new RangeError(
        `ThreadPoolExecutor: resourceLimits.stackSizeMb must be 0 (Node's default) or at least ${MIN_STACK_SIZE / MiB} (threading.MIN_STACK_SIZE, 512 KiB: Node's and weft's start-up code runs on that stack): received ${value}`,
      );
    }
  }
}

/**
 * Python's `ThreadPoolExecutor` on worker threads — real parallelism, no GIL. Workers start on
 * demand (a call that finds none free starts one, up to `maxWorkers`) and are reused; calls
 * travel in batches, so many small calls cost few messages.
 *
 * Each worker has its own module instances: a call reaches it as a marked function
 * (`task(import.meta, fn)`) or a self-contained one, with structured-cloned arguments; weft's
 * shared primitives (`weft/threading`, `weft/queue`) in the arguments arrive connected.
 *
 * ```ts
 * await using ex = new ThreadPoolExecutor({ maxWorkers: 2 });
 * const f = ex.submit(square, 7);
 * console.log(await f.result());
 * ```
 */
export class ThreadPoolExecutor<
  F extends AnyFn = AnyFn,
  const A extends ArgList = [],
> extends PoolExecutor {
  /** Its place among the executors the thread's end shuts down (thread-executors.ts). */
  readonly #finish = (): Promise<void> => {
    // The exit: a map still submitting stops (an endless one would never end); its calls run.
    this._settleMaps(true, () => () => {});
    return this.shutdown();
  };
  #untracks = false;

  /** `initializer` must accept `initargs`; `F` and `A` serve only that check. */
  constructor(options: ThreadPoolExecutorOptions<F, A> = {}) {
    const maxWorkers = checkCommon(
      'ThreadPoolExecutor',
      options,
      Math.min(32, availableParallelism() + 4),
    );
    const prefix = options.threadNamePrefix ?? `ThreadPoolExecutor-${counter++}`;
    if (typeof prefix !== 'string') {
      throw new TypeError(
        `ThreadPoolExecutor: threadNamePrefix must be a string: received ${describeValue(prefix)}`,
      );
    }
    checkInitargs('ThreadPoolExecutor', 'thread', options.initargs ?? []);
    checkResourceLimits(options.resourceLimits);
    super({
      kind: 'thread',
      maxWorkers,
      namePrefix: prefix,
      initializer: options.initializer ?? null,
      initargs: options.initargs ?? [],
      maxTasksPerWorker: 0,
      // A copy: the limits checked here are the ones every later worker gets.
      ...(options.resourceLimits ? { resourceLimits: { ...options.resourceLimits } } : {}),
      broken: (message, cause) => new BrokenThreadPool(message, { cause }),
    });
    armExit();
    trackExecutor(this.#finish);
  }

  override shutdown(options: ShutdownOptions = {}): Promise<void> {
    const done = super.shutdown(options);
    if (!this.#untracks) {
      // Until its workers have exited: Python's exit joins them after shutdown(wait=False) too.
      this.#untracks = true;
      void super.shutdown().then(() => untrackExecutor(this.#finish));
    }
    return done;
  }

  /** The maximum number of worker threads. */
  get maxWorkers(): number {
    return this.engine.o.maxWorkers;
  }
}
