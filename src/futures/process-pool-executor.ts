import { availableParallelism } from 'node:os';
import type { Accepting, AnyFn, ArgList } from '../internal/call-args.js';
import { describeValue } from '../internal/errors.js';
import { checkInitargs } from '../internal/pool/engine.js';
import { BrokenProcessPool } from './errors.js';
import { PoolExecutor } from './pool-executor.js';
import { checkCommon } from './thread-pool-executor.js';

/**
 * `F` and `A`, the types of `initializer` and `initargs`, are inferred by
 * `new ProcessPoolExecutor({ … })`, which checks that `initializer` accepts `initargs`; the
 * defaults leave them unchecked.
 */
export interface ProcessPoolExecutorOptions<F extends AnyFn = AnyFn, A extends ArgList = any[]> {
  /** Default `cpuCount`. */
  maxWorkers?: number;
  /** Called in each child with `initargs` before its first task. */
  initializer?: Accepting<F, A> | null;
  initargs?: A;
  /** Calls a child runs before it is replaced by a fresh one (default: no limit). */
  maxTasksPerChild?: number | null;
}

let counter = 0;
let poolCounter = 0;

/** @internal Set by multiprocessing's Pool, which runs on this executor. */
export const kPoolNames = Symbol('weft.pool-names');

/**
 * Python's `ProcessPoolExecutor` on child processes (`child_process.fork`, v8 serialization on
 * the IPC channel). Children start on demand and are reused (the same pids serve many calls);
 * calls travel in batches. A child is a daemon: it ends when the parent ends, however the parent
 * ends. A call sent to a child counts as running (it can no longer be cancelled without
 * `{ interrupt }` or `{ force }`), as in CPython.
 */
export class ProcessPoolExecutor<
  F extends AnyFn = AnyFn,
  const A extends ArgList = [],
> extends PoolExecutor {
  /** `initializer` must accept `initargs`; `F` and `A` serve only that check. */
  constructor(options: ProcessPoolExecutorOptions<F, A> & { [kPoolNames]?: true } = {}) {
    const maxWorkers = checkCommon('ProcessPoolExecutor', options, availableParallelism());
    checkInitargs(
      options[kPoolNames] ? 'Pool' : 'ProcessPoolExecutor',
      'process',
      options.initargs ?? [],
    );
    const mtpc = options.maxTasksPerChild ?? 0;
    if (
      typeof mtpc !== 'number' ||
      !Number.isInteger(mtpc) ||
      mtpc < 0 ||
      (options.maxTasksPerChild != null && mtpc < 1)
    ) {
      throw new RangeError(
        `ProcessPoolExecutor: maxTasksPerChild must be a positive integer: received ${describeValue(options.maxTasksPerChild)}`,
      );
    }
    super({
      kind: 'process',
      maxWorkers,
      // A worker's name is also its currentProcess().name (`ProcessPoolExecutor-0_0`,
      // `Pool-0_0`: counted from 0, as ThreadPoolExecutor-0_0 is in Python and here), where
      // Python says SpawnProcess-N and SpawnPoolWorker-N.
      namePrefix: options[kPoolNames]
        ? `Pool-${poolCounter++}`
        : `ProcessPoolExecutor-${counter++}`,
      initializer: options.initializer ?? null,
      initargs: options.initargs ?? [],
      maxTasksPerWorker: mtpc,
      broken: (message, cause) => new BrokenProcessPool(message, { cause }),
    });
  }

  get maxWorkers(): number {
    return this.engine.o.maxWorkers;
  }

  /** @internal The pids of the live children (lessons and tests show they stay the same). */
  _pids(): number[] {
    return this.engine.workerIds().filter((x): x is number => typeof x === 'number');
  }
}
