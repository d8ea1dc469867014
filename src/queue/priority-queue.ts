import { describeValue } from '../internal/errors.js';
import { KIND_PRIORITY } from './core.js';
import { Queue, registerQueueKind } from './queue.js';

/**
 * Python's `queue.PriorityQueue` across threads: the lowest priority first. An item is a number
 * (its own priority) or an array whose first element is the number (`[priority, data]`, as
 * Python's tuples). Equal priorities leave in the order they came (Python would compare the next
 * elements; weft does not need them comparable).
 */
export class PriorityQueue<T = unknown> extends Queue<T> {
  /** @internal */ protected static override readonly kind: number = KIND_PRIORITY;

  /** @internal */
  protected override _init(): void {
    this._core.keyOf = priorityOf;
  }
}

function priorityOf(item: unknown): number {
  const p = typeof item === 'number' ? item : Array.isArray(item) ? item[0] : undefined;
  if (typeof p !== 'number' || Number.isNaN(p)) {
    throw new TypeError(
      `PriorityQueue items must be numbers or [priority, …] arrays with a number first: received ${describeValue(item)}`,
    );
  }
  return p;
}

registerQueueKind(KIND_PRIORITY, 'PriorityQueue', PriorityQueue, import.meta.url);
