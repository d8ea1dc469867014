/**
 * `weft/futures` — Python's concurrent.futures: executors on worker threads and child processes.
 */

export { registerUserErrorClass as registerErrorClass } from '../internal/serialize.js';
export { TaskReferenceError, task } from '../internal/task-ref.js';
export { asCompleted, type CompletedFuture } from './as-completed.js';
export { ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION, type ReturnWhen } from './constants.js';
export {
  BrokenExecutor,
  BrokenProcessPool,
  BrokenThreadPool,
  CancelledError,
  InvalidStateError,
  RuntimeError,
  TimeoutError,
} from './errors.js';
export { Executor, type MapOptions, type ShutdownOptions } from './executor.js';
export { type CancelOptions, Future, type FutureState } from './future.js';
export { ProcessPoolExecutor, type ProcessPoolExecutorOptions } from './process-pool-executor.js';
export type { ProgressOptions, ProgressStream } from './progress-bar.js';
export { taskSignal } from './task-signal.js';
export { ThreadPoolExecutor, type ThreadPoolExecutorOptions } from './thread-pool-executor.js';
export { type WaitResult, wait } from './wait.js';
