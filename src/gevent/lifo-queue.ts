import { Queue, type QueueOptions } from './queue.js';

/**
 * gevent's `LifoQueue`: a `Queue` that returns the item put last first (a stack); `peek` shows
 * that item. The waiting greenlets are still served in the order they began to wait.
 */
export class LifoQueue<T = unknown> extends Queue<T> {
  // Set by `_init`, which Queue's constructor calls before this class's field initializers run.
  declare private stack: T[];

  protected override _init(items: T[], _options: QueueOptions<T>): void {
    this.stack = items;
  }
  protected override _put(item: T): void {
    this.stack.push(item);
  }
  protected override _get(): T {
    return this.stack.pop() as T;
  }
  protected override _peek(): T {
    return this.stack[this.stack.length - 1] as T;
  }
  protected override _size(): number {
    return this.stack.length;
  }
  protected override _snapshot(): T[] {
    return this.stack.slice();
  }
}
