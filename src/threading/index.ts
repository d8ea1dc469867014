/**
 * `weft/threading`: Python's threading on Node worker threads — threads that run in parallel,
 * and locks, semaphores, events, conditions, barriers and shared values in shared memory, usable
 * from the main thread and from every thread they are passed to.
 */

export { registerUserErrorClass as registerErrorClass } from '../internal/serialize.js';
export { TaskReferenceError, task } from '../internal/task-ref.js';
export { Array, SharedArray } from './array.js';
export { Barrier, type BarrierOptions } from './barrier.js';
export { BoundedSemaphore } from './bounded-semaphore.js';
export { Condition } from './condition.js';
export { currentThread, getIdent, getNativeId, mainThread } from './current-thread.js';
export { activeCount, enumerate } from './enumerate.js';
export {
  BrokenBarrierError,
  DeadlockError,
  OwnerDiedError,
  RuntimeError,
  TimeoutError,
} from './errors.js';
export { Event } from './event.js';
export {
  __excepthook__,
  type ExceptHook,
  type ExceptHookArgs,
  excepthook,
  getExcepthook,
  setExcepthook,
} from './excepthook.js';
export { local } from './local.js';
export { type AcquireOptions, Lock } from './lock.js';
export { RLock } from './rlock.js';
export { Semaphore } from './semaphore.js';
export { MAX_STACK_SIZE, MIN_STACK_SIZE, stackSize } from './stack-size.js';
export { Thread, type ThreadOptions } from './thread.js';
export { TIMEOUT_MAX } from './timeout-max.js';
export { Timer } from './timer.js';
export type { TypeCode } from './typecodes.js';
export { type SharedOptions, SharedValue, Value } from './value.js';
