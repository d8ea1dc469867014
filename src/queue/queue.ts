import { describeValue } from '../internal/errors.js';
import { checkMaxsize } from '../internal/maxsize.js';
import { kShared, registerSharedKind, type SharedState } from '../internal/serialize.js';
import { parseBlocking, parseWait, type WaitOptions } from '../internal/wait-options.js';
import { DEFAULT_MAXBYTES, KIND_FIFO, QueueCore } from './core.js';
import { Empty, Full } from './errors.js';

export interface QueueOptions {
  /**
   * Bytes of shared memory for the items (64 to 2^30, default 1 MiB). The queue is full when
   * either `maxsize` items are in it or these bytes have no room for the next one. A FIFO queue
   * rounds them up to a power of two and takes an item of at most half of that less 4 bytes;
   * in a LIFO or priority queue each item also takes 24 bytes of them for its index entry, and
   * the largest is all of them less 24 (docs/queue.md, Bounds).
   */
  maxbytes?: number;
}

export interface QueueWaitOptions extends WaitOptions {
  /** `false`: do not wait — `Full`/`Empty` at once (as `putNowait`/`getNowait`). */
  block?: boolean;
}

const DONE = Promise.resolve();
const KINDS = new Map<number, string>();

/** @internal Subclasses name their kind so that a revived queue keeps its class. */
export function registerQueueKind(
  kind: number,
  name: string,
  cls: { prototype: Queue<any> },
  url: string,
): void {
  KINDS.set(kind, name);
  registerSharedKind(`queue.${name}`, (s) => Queue._revive(cls, s.sab as SharedArrayBuffer), url);
}

/**
 * Python's `queue.Queue` across threads: a FIFO queue in shared memory that any thread holding
 * it can put to and get from, in parallel, without a message per item. Items are any
 * structured-cloneable value but `Blob`/`File` (read only asynchronously); numbers, strings,
 * booleans, null and undefined skip structured clone; weft's shared objects inside items
 * arrive connected. `maxsize` may be any integer ≥ 0; one the buffer could never reach bounds
 * nothing.
 *
 * `put`/`get` return Promises and never block the event loop; `putSync`/`getSync` park the
 * thread. `taskDone`/`join` count finished work, as in Python. Many producers and consumers may
 * use one queue; no item is lost or delivered twice. Producers (and consumers) are not served in
 * any promised order.
 *
 * Not guaranteed: `qsize()`, `empty()` and `full()` are snapshots — another thread may change
 * the queue the next instant (CPython: "not reliable!").
 *
 * @example
 * const q = new Queue<number>(1024);
 * new Thread({ target: consume, args: [q] }).start();
 * for (let i = 0; i < 10; i++) await q.put(i);
 */
export class Queue<T = unknown> {
  /** @internal */ readonly _core: QueueCore;
  /** @internal */ protected static readonly kind: number = KIND_FIFO;

  constructor(maxsize = 0, options: QueueOptions = {}) {
    const name = new.target.name || 'Queue';
    checkMaxsize(name, maxsize);
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`${name} options must be an object: received ${describeValue(options)}`);
    }
    const maxbytes = options.maxbytes ?? DEFAULT_MAXBYTES;
    if (typeof maxbytes !== 'number' || !Number.isInteger(maxbytes)) {
      throw new TypeError(
        `${name} maxbytes must be an integer: received ${describeValue(maxbytes)}`,
      );
    }
    if (maxbytes < 64 || maxbytes > 2 ** 30) {
      throw new RangeError(`${name} maxbytes must be between 64 and 2^30: received ${maxbytes}`);
    }
    this._core = new QueueCore({ kind: (new.target as typeof Queue).kind, maxsize, maxbytes });
    this._init();
  }

  /** @internal Hook for subclasses (CPython's `_init`). */
  protected _init(): void {}

  /** @internal */
  static _revive<Q extends Queue<any>>(cls: { prototype: Q }, sab: SharedArrayBuffer): Q {
    const q = Object.create(cls.prototype) as Q;
    (q as { _core: QueueCore })._core = new QueueCore(sab);
    q._init();
    return q;
  }

  get maxsize(): number {
    return this._core.maxsize;
  }

  /** Items in the queue — a snapshot. */
  qsize(): number {
    return this._core.qsize();
  }

  /** Whether the queue is empty — a snapshot. */
  empty(): boolean {
    return this._core.qsize() <= 0;
  }

  /** Whether `maxsize` items are in the queue — a snapshot (a queue may also be full by bytes). */
  full(): boolean {
    // qsize() first, whatever maxsize: a queue broken by a dead holder throws OwnerDiedError.
    const n = this._core.qsize();
    return this._core.maxsize > 0 && n >= this._core.maxsize;
  }

  /**
   * Puts `item`, waiting while the queue is full. With `block: false` or a `timeout` that passes,
   * rejects with `Full`.
   *
   * **Cancellation:** an aborted `signal` rejects with its reason; the item is not put.
   * @throws ShutDown after `shutdown()`; NotCloneableError for an item structured clone cannot
   *   carry (or a Blob/File); ItemTooLargeError for an item that could never fit;
   *   OwnerDiedError, from this and every later call, once a thread was found to have died
   *   inside a put or get on this queue (docs/queue.md).
   */
  put(item: T, options?: QueueWaitOptions): Promise<void> {
    try {
      const core = this._core;
      const m = core.prepare(item, `${this.constructor.name}.put`);
      if (options === undefined) {
        if (core.tryPut(m)) return DONE;
        return core.waitAsync(core.putParkable({ ...m }), null, null);
      }
      const { block, timeout, signal } = parseQueueWait(`${this.constructor.name}.put`, options);
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (core.tryPut(m)) return DONE;
      if (!block) throw new Full();
      return core.waitAsync(core.putParkable({ ...m }), timeout, signal);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Blocking twin of `put`. **Blocking:** parks the thread, event loop included — worker code,
   * never a server's main thread. A `signal` counts only if already aborted.
   */
  putSync(item: T, options?: QueueWaitOptions): void {
    const core = this._core;
    const m = core.prepare(item, `${this.constructor.name}.putSync`);
    if (options === undefined) {
      if (!core.tryPut(m)) core.waitSync(core.putParkable(m), null, null);
      return;
    }
    const { block, timeout, signal } = parseQueueWait(`${this.constructor.name}.putSync`, options);
    if (signal?.aborted) throw signal.reason;
    if (core.tryPut(m)) return;
    if (!block) throw new Full();
    core.waitSync(core.putParkable(m), timeout, signal);
  }

  /** Puts `item` if there is room now; otherwise throws `Full`. */
  putNowait(item: T): void {
    const core = this._core;
    if (!core.tryPut(core.prepare(item, `${this.constructor.name}.putNowait`))) throw new Full();
  }

  /**
   * Removes and resolves to the next item, waiting while the queue is empty. With `block: false`
   * or a `timeout` that passes, rejects with `Empty`.
   *
   * **Cancellation:** an aborted `signal` rejects with its reason and takes no item.
   * @throws ShutDown when the queue is shut down and empty; OwnerDiedError as `put`.
   */
  get(options?: QueueWaitOptions): Promise<T> {
    try {
      const core = this._core;
      if (options === undefined) {
        if (core.tryGet()) return Promise.resolve(core.take() as T);
        return core.waitAsync(core.getParkable(), null, null) as Promise<T>;
      }
      const { block, timeout, signal } = parseQueueWait(`${this.constructor.name}.get`, options);
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (core.tryGet()) return Promise.resolve(core.take() as T);
      if (!block) throw new Empty();
      return core.waitAsync(core.getParkable(), timeout, signal) as Promise<T>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Blocking twin of `get`. **Blocking:** parks the thread; never a server's main thread. */
  getSync(options?: QueueWaitOptions): T {
    const core = this._core;
    if (options === undefined) {
      if (core.tryGet()) return core.take() as T;
      return core.waitSync(core.getParkable(), null, null) as T;
    }
    const { block, timeout, signal } = parseQueueWait(`${this.constructor.name}.getSync`, options);
    if (signal?.aborted) throw signal.reason;
    if (core.tryGet()) return core.take() as T;
    if (!block) throw new Empty();
    return core.waitSync(core.getParkable(), timeout, signal) as T;
  }

  /** Removes and returns the next item if there is one now; otherwise throws `Empty`. */
  getNowait(): T {
    const core = this._core;
    if (!core.tryGet()) throw new Empty();
    return core.take() as T;
  }

  /**
   * Marks one item taken with `get` as processed (Python's `task_done`).
   * @throws RangeError (Python's ValueError) when called more times than items were put.
   */
  taskDone(): void {
    this._core.taskDone();
  }

  /**
   * Resolves once every item put has been marked done with `taskDone`; with `timeout`, rejects
   * with `TimeoutError` if some are still unfinished then.
   * **Cancellation:** an aborted `signal` rejects with its reason.
   */
  join(options?: WaitOptions): Promise<void> {
    try {
      const { timeout, signal } = parseWait(`${this.constructor.name}.join`, options);
      return this._core.waitAsync(this._core.joinParkable(), timeout, signal);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Blocking twin of `join`. **Blocking:** parks the thread; never a server's main thread. */
  joinSync(options?: WaitOptions): void {
    const { timeout, signal } = parseWait(`${this.constructor.name}.joinSync`, options);
    this._core.waitSync(this._core.joinParkable(), timeout, signal);
  }

  /**
   * Shuts the queue down (Python 3.13): `put` throws `ShutDown`; `get` throws it once the queue
   * is empty. With `immediate`, the items left are dropped (and count as done) and every `get`
   * throws at once. Waiters notice within 50 ms.
   */
  shutdown(immediate = false): void {
    if (typeof immediate !== 'boolean') {
      throw new TypeError(
        `shutdown(immediate): immediate must be a boolean: received ${describeValue(immediate)}`,
      );
    }
    this._core.shutdown(immediate);
  }

  /** @internal */
  [kShared](): SharedState {
    return {
      kind: `queue.${KINDS.get(this._core.kind) ?? 'Queue'}`,
      state: { sab: this._core.sab },
    };
  }
}

function parseQueueWait(what: string, options: QueueWaitOptions | undefined) {
  const block = parseBlocking(what, options?.block, 'block');
  // Python's queue raises ValueError for a negative timeout, and ignores it when not blocking.
  const { timeout, signal } = parseWait(what, options, block ? 'reject' : 'zero');
  return { block, timeout, signal };
}

registerQueueKind(KIND_FIFO, 'Queue', Queue, import.meta.url);
