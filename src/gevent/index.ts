export { sleepDirect as sleep } from '../asyncio/sleep.js';
export { BoundedSemaphore } from './bounded-semaphore.js';
export { Channel } from './channel.js';
export { DummySemaphore } from './dummy-semaphore.js';
export { Empty, type ErrorOrClass, Full, GreenletExit, LoopExit, PoolFull } from './errors.js';
export {
  AsyncResult,
  type AsyncResultGetOptions,
  Event,
  type OutcomeSource,
  type RawLinkCallback,
} from './event.js';
export {
  type GetOptions,
  Greenlet,
  getcurrent,
  type KillOptions,
  type LinkCallback,
  spawn,
  spawnLater,
} from './greenlet.js';
export {
  type ApplyAsyncOptions,
  Group,
  GroupBase,
  type GroupJoinOptions,
} from './group.js';
export { JoinableQueue, type JoinableQueueOptions } from './joinable-queue.js';
export { type JoinallOptions, joinall } from './joinall.js';
export { killall } from './killall.js';
export { LifoQueue } from './lifo-queue.js';
export { Pool, type PoolAddOptions, type PoolJoinOptions } from './pool.js';
export { PriorityQueue, type PriorityQueueOptions } from './priority-queue.js';
export { Queue, type QueueOptions, type QueueWaitOptions, StopIteration } from './queue.js';
export { RLock } from './rlock.js';
export {
  type AcquireOptions,
  Semaphore,
  type SemaphoreLinkCallback,
} from './semaphore.js';
export { Timeout, type TimeoutOptions } from './timeout.js';
export { iwait, type Waitable, type WaitObjectsOptions, wait } from './wait.js';
