/**
 * `weft/asyncio`: Python's asyncio for one thread — tasks, cancellation, structured
 * concurrency, and the synchronisation primitives, scheduled as CPython schedules them.
 */
export { type AsCompleted, asCompleted } from './as-completed.js';
export { Barrier, type BarrierOptions } from './barrier.js';
export { BoundedSemaphore } from './bounded-semaphore.js';
export { Condition } from './condition.js';
export { ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION, type ReturnWhen } from './constants.js';
export { iscoroutine, iscoroutinefunction } from './coroutines.js';
export { type Awaitable, ensureFuture } from './ensure-future.js';
export {
  BrokenBarrierError,
  CancelledError,
  DeadlockError,
  ExceptionGroup,
  InvalidStateError,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  RuntimeError,
  TimeoutError,
  WeftError,
} from './errors.js';
export { Event } from './event.js';
export {
  EventLoop,
  type ExceptionContext,
  type ExecutorLike,
  getRunningLoop,
  Handle,
  TimerHandle,
} from './event-loop.js';
export { type DoneCallback, Future, isFuture } from './future.js';
export { GatheringFuture, type GatherOptions, gather } from './gather.js';
export { KeyboardInterrupt } from './keyboard-interrupt.js';
export { LifoQueue } from './lifo-queue.js';
export { type AcquireOptions, Lock, type LockOptions, setDeadlockDetection } from './lock.js';
export { PriorityQueue, type PriorityQueueOptions } from './priority-queue.js';
export { Queue, type QueueWaitOptions } from './queue.js';
export { run } from './run.js';
export { Runner, type RunnerRunOptions } from './runner.js';
export { Semaphore } from './semaphore.js';
export { shield } from './shield.js';
export { sleep } from './sleep.js';
export {
  type CommunicateOptions,
  createSubprocessExec,
  createSubprocessShell,
  DEVNULL,
  PIPE,
  Process,
  STDOUT,
  type StdioTarget,
  type SubprocessOptions,
  subprocess,
} from './subprocess.js';
export {
  FileNotFoundError,
  KeyError,
  NotADirectoryError,
  OSError,
  PermissionError,
  ProcessLookupError,
} from './subprocess-errors.js';
export {
  allTasks,
  createTask,
  currentTask,
  Task,
  type TaskBody,
  type TaskOptions,
} from './task.js';
export { TaskGroup } from './task-group.js';
export { Timeout, timeout, timeoutAt } from './timeout.js';
export { toThread } from './to-thread.js';
export { type Waited, type WaitOptions, wait } from './wait.js';
export { waitFor } from './wait-for.js';
export { type ConcurrentFutureLike, wrapFuture } from './wrap-future.js';
