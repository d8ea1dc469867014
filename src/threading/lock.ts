import { registerSharedKind } from '../internal/serialize.js';
import { LockBase } from './lock-base.js';

export type { AcquireOptions } from './lock-base.js';

/**
 * Python's `threading.Lock` across worker threads: mutual exclusion in shared memory, usable
 * from the main thread and from every thread it is passed to (in args, queue items, results).
 *
 * Not reentrant: a thread that waits (untimed) for a Lock it holds gets a `DeadlockError` instead
 * of hanging; use `RLock` to re-enter. Any thread may release it, as in Python. No fairness
 * order is promised. An uncontended acquire+release is two compare-and-swaps.
 *
 * @example
 * const lock = new Lock();
 * await lock.run(() => { counter.value += 1; });
 * // in a worker, blocking for real:
 * { using _ = lock.holdSync(); counter.value += 1; }
 */
export class Lock extends LockBase {
  constructor() {
    super('Lock');
  }
}

// Revived without running the constructor: the state names the existing shared memory.
registerSharedKind(
  'threading.Lock',
  (s) => Reflect.construct(LockBase as unknown as Function, ['Lock', s], Lock) as Lock,
  import.meta.url,
);
