/**
 * `weft/queue`: Python's queue module across worker threads — FIFO, LIFO, priority, simple and
 * joinable queues in shared memory, usable from every thread they are passed to.
 */
export {
  Empty,
  Full,
  ItemTooLargeError,
  NotCloneableError,
  OwnerDiedError,
  ShutDown,
} from './errors.js';
export { JoinableQueue } from './joinable-queue.js';
export { LifoQueue } from './lifo-queue.js';
export { PriorityQueue } from './priority-queue.js';
export { Queue, type QueueOptions, type QueueWaitOptions } from './queue.js';
export { SimpleQueue } from './simple-queue.js';
