import { KIND_LIFO } from './core.js';
import { Queue, registerQueueKind } from './queue.js';

/** Python's `queue.LifoQueue` across threads: the last item put is the first got (a stack). */
export class LifoQueue<T = unknown> extends Queue<T> {
  /** @internal */ protected static override readonly kind: number = KIND_LIFO;
}

registerQueueKind(KIND_LIFO, 'LifoQueue', LifoQueue, import.meta.url);
