import { describeValue } from '../internal/errors.js';
import { type Compare, Heap, pythonCompare } from '../internal/heap.js';
import type { Orderable, OrderOptions } from '../internal/orderable.js';
import { Queue, type QueueOptions } from './queue.js';

export interface PriorityQueueOptions<T> extends QueueOptions<T> {
  /**
   * Orders items (negative: `a` first). Default: Python's ordering of numbers, strings and
   * `[priority, item]` arrays. Equal items come out in the order they were put.
   */
  compare?: Compare<T>;
}

/**
 * gevent's `PriorityQueue`: a `Queue` that returns its smallest item first — `[priority, data]`
 * pairs, or any order `compare` gives; `peek` shows that item. An item that cannot be ordered
 * against the others (a string among numbers) makes its `put` fail with the comparison's
 * `TypeError`, as Python's does, and leaves the queue as it was.
 */
export class PriorityQueue<T = Orderable> extends Queue<T> {
  // Set by `_init` (see LifoQueue).
  declare private heap: Heap<T>;
  declare private compare: Compare<T>;

  /**
   * Items of other types than `Orderable` must give `compare` to compile.
   * @throws TypeError for a `compare` that is not a function (and as Queue's constructor).
   */
  constructor(maxsize?: number | null, ...rest: OrderOptions<T, PriorityQueueOptions<T>>) {
    super(maxsize, rest[0]);
  }

  protected override _init(items: T[], options: PriorityQueueOptions<T>): void {
    const compare = options.compare;
    if (compare !== undefined && typeof compare !== 'function') {
      throw new TypeError(
        `PriorityQueue compare must be a function: received ${describeValue(compare)}`,
      );
    }
    this.compare = compare ?? (pythonCompare as Compare<T>);
    this.heap = new Heap<T>(this.compare);
    for (const x of items) this.heap.push(x);
  }
  protected override _put(item: T): void {
    this.heap.push(item);
  }
  protected override _get(): T {
    return this.heap.pop() as T;
  }
  protected override _peek(): T {
    return this.heap.peek() as T;
  }
  protected override _size(): number {
    return this.heap.length;
  }
  /** In priority order: the heap is emptied and refilled in that order, which keeps ties FIFO. */
  protected override _snapshot(): T[] {
    const out: T[] = [];
    while (this.heap.length > 0) out.push(this.heap.pop() as T);
    for (const x of out) this.heap.push(x);
    return out;
  }
  protected override _copyOptions(): PriorityQueueOptions<T> {
    return { items: this._snapshot(), compare: this.compare };
  }
}
