import { KIND_SIMPLE } from './core.js';
import { Queue, type QueueOptions, registerQueueKind } from './queue.js';

/**
 * Python's `queue.SimpleQueue` across threads: an unbounded (by count) FIFO queue, bounded only
 * by its buffer's bytes (`maxbytes`).
 */
export class SimpleQueue<T = unknown> extends Queue<T> {
  /** @internal */ protected static override readonly kind: number = KIND_SIMPLE;

  constructor(options: QueueOptions = {}) {
    super(0, options);
  }
}

registerQueueKind(KIND_SIMPLE, 'SimpleQueue', SimpleQueue, import.meta.url);
