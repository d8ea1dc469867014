import { describeValue } from '../internal/errors.js';
import { KIND_PRIORITY } from './core.js';
import { Queue, type QueueOptions, registerQueueKind } from './queue.js';

/**
 * Python's `queue.PriorityQueue` across threads: the lowest priority first. An item is a number
 * (its own priority) or an array whose first element is the number (`[priority, data]`, as
 * Python's tuples). Equal priorities leave in the order they came (Python would compare the next
 * elements; weft does not need them comparable).
 */
export class PriorityQueue<T = Prioritized> extends Queue<T> {
  /** @internal */ protected static override readonly kind: number = KIND_PRIORITY;

  /** Items of other types than `Prioritized` (or `unknown`) do not compile: there is no compare. */
  constructor(maxsize?: number, ...rest: PriorityOptions<T>) {
    super(maxsize, rest[0]);
  }

  /** @internal */
  protected override _init(): void {
    this._core.keyOf = priorityOf;
  }
}

/**
 * What a thread-safe PriorityQueue orders: a number, or an array with a number first. It has no
 * `compare` (a function cannot cross to the other threads that put), so no other type compiles.
 * A `number[]` too, which compiled before and has its priority first unless empty (an empty one
 * is refused when put, as any item without a priority).
 */
export type Prioritized = number | readonly [number, ...unknown[]] | readonly number[];

/** The options parameter: for items that are not `Prioritized`, one no argument satisfies. */
export type PriorityOptions<T> = [unknown] extends [T]
  ? [options?: QueueOptions]
  : [T] extends [Prioritized]
    ? [options?: QueueOptions]
    : [itemsMustBeNumbersOrArraysWithANumberFirst: never];

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
