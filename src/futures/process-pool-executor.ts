import type { ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import type { Accepting, AnyFn, ArgList } from '../internal/call-args.js';
import { describeValue } from '../internal/errors.js';
import { checkInitargs } from '../internal/pool/engine.js';
import { Process } from '../multiprocessing/process.js';
import { identity, nextChild } from '../multiprocessing/process-identity.js';
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

/**
 * Python's workers take the next numbers of this process's children, and name their own children
 * from them (`Process-3:1`): so do these, whatever their name. As Python's, they are listed by
 * activeChildren() while they run (a Process object for each, as a Pool's workers have), with
 * `daemon` false.
 */
function listedWorkers(): Pick<PoolWorkerHooks, 'onWorkerProcess'> & {
  workerIdent(): number[] | null;
} {
  // The engine asks for a worker's identity, then forks it and reports it (engine.ts).
  let ident: number[] | null = null;
  return {
    workerIdent: () => {
      ident = nextChild().ident;
      return ident;
    },
    onWorkerProcess: (name, child) => {
      // Python 3.11's are not daemonic (its executor joins them at shutdown, and at exit
      // through its own hook): `daemon` says so, and the executor still ends them itself.
      Process._poolWorker(name, ident, child, false);
    },
  };
}

/**
 * @internal Set by multiprocessing's Pool, which runs on this executor: how it names its workers
 * (`SpawnPoolWorker-N`, numbered with its Processes) and learns of them (its activeChildren()).
 */
export const kPoolNames = Symbol('weft.pool-names');

/** @internal The value of `kPoolNames`. */
export interface PoolWorkerHooks {
  workerName(): string;
  onWorkerProcess(name: string, child: ChildProcess): void;
}

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
  constructor(options: ProcessPoolExecutorOptions<F, A> & { [kPoolNames]?: PoolWorkerHooks } = {}) {
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
      // A worker's name is also its currentProcess().name: `ProcessPoolExecutor-0_0` (counted
      // from 0, as ThreadPoolExecutor-0_0 is in Python and here, where Python says
      // SpawnProcess-N); a Pool's are Python's `SpawnPoolWorker-N` (its hooks name them), and
      // `Pool-0` names the pool in messages.
      namePrefix: options[kPoolNames]
        ? `Pool-${poolCounter++}`
        : `ProcessPoolExecutor-${counter++}`,
      ...(options[kPoolNames]
        ? {
            workerName: options[kPoolNames].workerName,
            workerDaemon: true,
            onWorkerProcess: options[kPoolNames].onWorkerProcess,
          }
        : listedWorkers()),
      initializer: options.initializer ?? null,
      initargs: options.initargs ?? [],
      maxTasksPerWorker: mtpc,
      broken: (message, cause) => new BrokenProcessPool(message, { cause }),
    });
  }

  /**
   * Python 3.11's `submit()` starts the workers it lacks, and their `start()` asserts that this
   * process is no daemon: every call submitted in a daemon process (a Pool's worker, a Process
   * started with `daemon` true) fails so (`ERR_WEFT_DAEMON_CHILDREN`), the executor itself
   * unharmed, and `map()` at its first call — after the checks Python makes first (broken, shut
   * down) and weft's of `fn`. A ProcessPoolExecutor's own worker is no daemon: an executor there
   * works, as Python's.
   */
  protected override _admit(): void {
    if (identity().daemon)
      Process._refuseInDaemon(`Cannot submit a call to ${this.constructor.name}`);
  }

  get maxWorkers(): number {
    return this.engine.o.maxWorkers;
  }

  /** @internal The pids of the live children (lessons and tests show they stay the same). */
  _pids(): number[] {
    return this.engine.workerIds().filter((x): x is number => typeof x === 'number');
  }
}
