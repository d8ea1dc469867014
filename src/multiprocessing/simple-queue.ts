import { describeValue } from '../internal/errors.js';
import { kShared, type SharedState } from '../internal/serialize.js';
import { OSError } from './errors.js';
import { Queue, type QueueOptions } from './queue.js';
import { registerKind } from './shared-object.js';

/**
 * Python's `multiprocessing.SimpleQueue`: an unbounded queue with `put`, `get`, `empty`, `close`.
 * `prefetch` is a `Queue`'s (1,024 by default): 1 hands every item to whichever consumer process
 * asks first, what a work queue of slow tasks wants.
 */
export class SimpleQueue<T = unknown> {
  readonly #q: Queue<T>;
  #closed = false;
  constructor(options: QueueOptions = {}) {
    if (options instanceof Queue || typeof options !== 'object' || options === null)
      throw new TypeError(
        `SimpleQueue options must be an object such as { prefetch: 1 }: received ${describeValue(options)}`,
      );
    this.#q = (options as Revived<T>)[kQueue] ?? new Queue<T>(0, options);
    openHandles.set(this.#q, (openHandles.get(this.#q) ?? 0) + 1);
  }
  /** @throws OSError once this handle is closed (Python's "handle is closed"). */
  put(item: T): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    return this.#q.put(item);
  }
  /**
   * Removes and returns the next item, waiting while there is none.
   *
   * **Cancellation:** as `Queue.get`: an aborted `signal` (by default, inside a `weft/asyncio`
   * task, the task's) rejects with its reason and leaves no waiter.
   * @throws OSError once this handle is closed.
   */
  get(options: { signal?: AbortSignal } = {}): Promise<T> {
    if (this.#closed) return Promise.reject(closedError());
    return this.#q.get({ signal: options.signal });
  }
  /**
   * Whether the queue is empty (a snapshot; asks the broker synchronously).
   * @throws OSError once this handle is closed.
   */
  empty(): boolean {
    if (this.#closed) throw closedError();
    return this.#q.empty();
  }
  /**
   * Closes this handle: `put`, `get` and `empty` then raise OSError, as Python's do once its
   * SimpleQueue's pipe is closed, and it can no longer be sent to another process. Items put
   * already are still delivered to the other handles, which stay open — another handle of the
   * queue in this thread too (each of Python's has pipe ends of its own).
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // The handles of one queue in one thread share its Queue: the last to close closes it.
    const left = (openHandles.get(this.#q) ?? 1) - 1;
    if (left > 0) {
      openHandles.set(this.#q, left);
      return;
    }
    openHandles.delete(this.#q);
    this.#q.close();
  }
  /** @throws OSError for a closed handle, as Python's pickling of its closed pipe raises. */
  [kShared](): SharedState {
    if (this.#closed)
      throw new OSError(
        'A closed SimpleQueue cannot be sent to another process: send an open handle of the queue',
        '',
        'ERR_WEFT_QUEUE_CLOSED',
      );
    return { kind: 'mp:SimpleQueue', state: this.#q[kShared]().state };
  }
}

/** Python's OSError "handle is closed" (a Queue's closed handle is a RangeError, its ValueError). */
function closedError(): OSError {
  return new OSError(
    'SimpleQueue is closed: this handle was closed with close(); use another handle of the queue',
    '',
    'ERR_WEFT_QUEUE_CLOSED',
  );
}

/** The open SimpleQueue handles of each queue in this thread (a revived one shares its Queue). */
const openHandles = new WeakMap<object, number>();

/** A revived handle's queue, passed to the constructor under a key of this module's own. */
const kQueue = Symbol('weft.SimpleQueue.queue');
type Revived<T> = { [kQueue]?: Queue<T> };

registerKind(
  'mp:SimpleQueue',
  (s) => new SimpleQueue({ [kQueue]: Queue._revive(s) } as QueueOptions),
  import.meta.url,
);
