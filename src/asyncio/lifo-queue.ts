import { Queue } from './queue.js';

/** A Queue that returns the most recently added item first (a stack). */
export class LifoQueue<T = unknown> extends Queue<T> {
  // Takes from the tail of Queue's own deque. A stack field of this subclass, set in `_init`
  // (called from Queue's constructor), was reset to undefined by the field's initializer, which
  // runs after `super()` returns under ES2022 class fields: every LifoQueue threw on first use.
  protected override _get(): T {
    return this.items.pop() as T;
  }
}
