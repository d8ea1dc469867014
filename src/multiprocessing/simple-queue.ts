import { kShared, type SharedState } from '../internal/serialize.js';
import { Queue } from './queue.js';
import { registerKind } from './shared-object.js';

/** Python's `multiprocessing.SimpleQueue`: an unbounded queue with `put`, `get`, `empty`, `close`. */
export class SimpleQueue<T = unknown> {
  readonly #q: Queue<T>;
  constructor(queue?: Queue<T>) {
    this.#q = queue ?? new Queue<T>(0);
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

registerKind('mp:SimpleQueue', (s) => new SimpleQueue(Queue._revive(s)), import.meta.url);
