import { describeValue } from '../internal/errors.js';
import { type Compare, Heap, pythonCompare } from '../internal/heap.js';
import type { Orderable, OrderOptions } from '../internal/orderable.js';
import { Queue } from './queue.js';

export interface PriorityQueueOptions<T> {
  /** Orders items (negative: `a` first). Default: Python's ordering of numbers, strings and
   * `[priority, item]` arrays. Equal items come out in insertion order. */
  compare?: Compare<T>;
}

/** A Queue that returns the smallest item first (`[priority, item]` pairs, or any order given
 * by `compare`, which items of other types than `Orderable` must give to compile). */
export class PriorityQueue<T = Orderable> extends Queue<T> {
  private heap!: Heap<T>;

  constructor(maxsize = 0, ...rest: OrderOptions<T, PriorityQueueOptions<T>>) {
    super(maxsize);
    const options: PriorityQueueOptions<T> = rest[0] === undefined ? {} : rest[0];
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(
        `PriorityQueue options must be an object: received ${describeValue(options)}`,
      );
    }
    if (options.compare !== undefined && typeof options.compare !== 'function') {
      throw new TypeError(
        `PriorityQueue compare must be a function: received ${describeValue(options.compare)}`,
      );
    }
    this.heap = new Heap<T>(options.compare ?? (pythonCompare as Compare<T>));
  }

  protected override _init(): void {}
  protected override _put(item: T): void {
    this.heap.push(item);
  }
  protected override _get(): T {
    return this.heap.pop() as T;
  }
  protected override _size(): number {
    return this.heap?.length ?? 0;
  }
}
