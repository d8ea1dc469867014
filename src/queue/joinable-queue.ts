import { KIND_JOINABLE } from './core.js';
import { Queue, registerQueueKind } from './queue.js';

/**
 * multiprocessing's `JoinableQueue`, for threads: a `Queue` whose consumers call `taskDone()`
 * for each item and whose producer awaits `join()` until all are done. (Python's `queue.Queue`
 * already has both; the class exists so code written for multiprocessing reads the same.)
 */
export class JoinableQueue<T = unknown> extends Queue<T> {
  /** @internal */ protected static override readonly kind: number = KIND_JOINABLE;
}

registerQueueKind(KIND_JOINABLE, 'JoinableQueue', JoinableQueue, import.meta.url);
