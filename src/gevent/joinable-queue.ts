import { describeValue } from '../internal/errors.js';
import type { WaitOptions } from '../internal/wait-options.js';
import { Event } from './event.js';
import { Queue, type QueueOptions } from './queue.js';

export interface JoinableQueueOptions<T> extends QueueOptions<T> {
  /** How many items count as not yet done at the start (default: as many as `items`). */
  unfinishedTasks?: number;
}

/** The Event `join()` waits on, named after its queue in a LoopExit's message. */
class TasksDone extends Event {
  constructor(private readonly queue: JoinableQueue<any>) {
    super();
  }
  override describe(): string {
    return `the unfinished tasks of ${this.queue.describe()}`;
  }
  /** `wait`, with its errors naming `join`. */
  join(options: WaitOptions | undefined): Promise<boolean> {
    return this.waitReady('JoinableQueue.join', options);
  }
}

/**
 * gevent's `JoinableQueue`: a `Queue` that counts the items put and not yet marked done. A
 * consumer calls `taskDone()` once per item it got, when it has finished with it; `join()`
 * waits until every item put was marked done.
 *
 * **Cancellation:** a cancelled (killed, aborted) `join` leaves no waiter; the count is untouched.
 */
export class JoinableQueue<T = unknown> extends Queue<T> {
  // Set by `_init` (see LifoQueue).
  declare private unfinished: number;
  declare private done: TasksDone;

  /**
   * @throws TypeError, RangeError for an `unfinishedTasks` that is not an integer >= 0 (and as
   *   Queue's constructor).
   */
  constructor(maxsize?: number | null, options?: JoinableQueueOptions<T>) {
    super(maxsize, options);
  }

  protected override _init(items: T[], options: JoinableQueueOptions<T>): void {
    super._init(items, options);
    const n = options.unfinishedTasks;
    if (n !== undefined && (typeof n !== 'number' || !Number.isInteger(n))) {
      throw new TypeError(
        `JoinableQueue unfinishedTasks must be an integer: received ${describeValue(n)}`,
      );
    }
    if (n !== undefined && n < 0) {
      throw new RangeError(`JoinableQueue unfinishedTasks must be >= 0: received ${n}`);
    }
    // As gevent's: 0 (or none given) counts the items.
    this.unfinished = n || items.length;
    this.done = new TasksDone(this);
    if (this.unfinished === 0) this.done.set();
  }

  protected override _put(item: T): void {
    super._put(item);
    this.unfinished++;
    this.done.clear();
  }

  protected override _copyOptions(): JoinableQueueOptions<T> {
    return { items: this._snapshot(), unfinishedTasks: this.unfinished };
  }

  /** Items put and not yet marked done (gevent's `unfinished_tasks`). */
  get unfinishedTasks(): number {
    return this.unfinished;
  }

  /**
   * Marks one item got earlier as done; the last one wakes every `join()`.
   * @throws RangeError (Python's ValueError) when no item is left unfinished.
   */
  taskDone(): void {
    if (this.unfinished <= 0) {
      throw new RangeError('taskDone() called too many times: no unfinished task is left');
    }
    if (--this.unfinished === 0) this.done.set();
  }

  /**
   * Waits until every item put was marked done: true then, false when `timeout` passes first
   * (gevent's `join(timeout)`, which does not raise).
   * @throws LoopExit when the main program waits and nothing is left that could finish the tasks.
   */
  join(options?: WaitOptions): Promise<boolean> {
    return this.done.join(options);
  }
}
