import { Queue } from './queue.js';

/** A Queue that returns the most recently added item first (a stack). */
export class LifoQueue<T = unknown> extends Queue<T> {
  private stack!: T[];
  protected override _init(): void {
    this.stack = [];
  }
  protected override _put(item: T): void {
    this.stack.push(item);
  }
  protected override _get(): T {
    return this.stack.pop() as T;
  }
  protected override _size(): number {
    return this.stack.length;
  }
}
