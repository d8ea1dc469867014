import { describeValue } from '../internal/errors.js';
import { kShared, type SharedState } from '../internal/serialize.js';
import { Queue, type QueueOptions } from './queue.js';
import { registerKind } from './shared-object.js';

/**
 * Python's `multiprocessing.SimpleQueue`: an unbounded queue with `put`, `get`, `empty`, `close`.
 * `prefetch` is a `Queue`'s (1,024 by default): 1 hands every item to whichever consumer process
 * asks first, what a work queue of slow tasks wants.
 */
export class SimpleQueue<T = unknown> {
  readonly #q: Queue<T>;
  constructor(options: QueueOptions = {}) {
    if (options instanceof Queue || typeof options !== 'object' || options === null)
      throw new TypeError(
        `SimpleQueue options must be an object such as { prefetch: 1 }: received ${describeValue(options)}`,
      );
    this.#q = (options as Revived<T>)[kQueue] ?? new Queue<T>(0, options);
  }
  put(item: T): Promise<void> {
    return this.#q.put(item);
  }
  /**
   * Removes and returns the next item, waiting while there is none.
   *
   * **Cancellation:** as `Queue.get`: an aborted `signal` (by default, inside a `weft/asyncio`
   * task, the task's) rejects with its reason and leaves no waiter.
   */
  get(options: { signal?: AbortSignal } = {}): Promise<T> {
    return this.#q.get({ signal: options.signal });
  }
  /** Whether the queue is empty (a snapshot; asks the broker synchronously). */
  empty(): boolean {
    return this.#q.empty();
  }
  close(): void {
    this.#q.close();
  }
  [kShared](): SharedState {
    return { kind: 'mp:SimpleQueue', state: this.#q[kShared]().state };
  }
}

/** A revived handle's queue, passed to the constructor under a key of this module's own. */
const kQueue = Symbol('weft.SimpleQueue.queue');
type Revived<T> = { [kQueue]?: Queue<T> };

registerKind(
  'mp:SimpleQueue',
  (s) => new SimpleQueue({ [kQueue]: Queue._revive(s) } as QueueOptions),
  import.meta.url,
);
