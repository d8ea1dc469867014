import { describeValue } from '../internal/errors.js';
import { broker } from '../internal/process/broker-client.js';
import { brokerSync } from '../internal/process/broker-sync.js';
import { decode, encode } from '../internal/serialize.js';
import { Empty, Full, RuntimeError } from './errors.js';
import { onBeforeExit } from './exit-hooks.js';
import {
  checkSignal,
  checkTimeout,
  registerKind,
  type SharedInit,
  SharedObject,
} from './shared-object.js';

export interface QueueOptions {
  /**
   * Items a `get` may take from the broker at once and keep for the next `get`s of this process
   * (default 1024; 1 for JoinableQueue). Larger streams faster; 1 hands every item to whichever
   * consumer asks first — what a work queue of slow tasks wants.
   */
  prefetch?: number;
}

export interface PutOptions {
  block?: boolean;
  timeout?: number | null;
  signal?: AbortSignal;
}

export type GetOptions = PutOptions;

let flushHooked = false;
/** Queues holding prefetched items in this process: a child hands them back before it exits. */
const holding = new Set<Queue<unknown>>();

/**
 * Python's `multiprocessing.Queue`: a FIFO shared by every process it is passed to (in `args`,
 * or inside another queue's item). Items are structured-cloned.
 *
 * `put` on an unbounded queue does not wait for the broker (Python's feeder thread does the
 * same): items are sent in batches; a child flushes them before it exits. `qsize`, `empty`,
 * `full`, `getNowait` and `putNowait` on a bounded queue ask the broker synchronously (a few
 * tens of microseconds, this thread parked meanwhile); as in Python, sizes are snapshots.
 *
 * **Cancellation:** an aborted `signal` rejects a waiting `get`/`put` and leaves no waiter; an
 * item granted in the same instant is put back at the front of the queue.
 */
export class Queue<T = unknown> extends SharedObject {
  readonly maxsize: number;
  #buffer: unknown[] = [];
  #at = 0;
  #closed = false;
  readonly #prefetch: number;

  constructor(maxsize = 0, options: QueueOptions = {}, init?: SharedInit) {
    if (init === undefined && (typeof maxsize !== 'number' || !Number.isInteger(maxsize))) {
      throw new TypeError(`Queue maxsize must be an integer: received ${describeValue(maxsize)}`);
    }
    const joinable = (new.target as unknown as { _joinable?: boolean })._joinable === true;
    const prefetch = options.prefetch ?? (joinable ? 1 : 1024);
    if (!Number.isInteger(prefetch) || prefetch < 1) {
      throw new RangeError(
        `Queue prefetch must be an integer >= 1: received ${describeValue(prefetch)}`,
      );
    }
    super('queue', { maxsize: Math.max(0, maxsize), joinable, prefetch }, init);
    this.maxsize = this._params.maxsize as number;
    this.#prefetch = this._params.prefetch as number;
    if (!flushHooked) {
      flushHooked = true;
      onBeforeExit(() => {
        for (const q of holding) q._returnHeld();
        return broker().drain();
      });
    }
  }

  protected _kind(): string {
    return 'mp:Queue';
  }

  /** Puts `item`; waits for room when the queue is bounded and full. @throws Full (no room in time). */
  async put(item: T, options: PutOptions = {}): Promise<void> {
    this.#checkOpen();
    const block = options.block ?? true;
    const timeout = checkTimeout('Queue.put', options.timeout);
    const signal = checkSignal('Queue.put', options.signal);
    const value = encode(item, 'message');
    if (this.maxsize === 0) {
      broker().postPut(this._id, value);
      return;
    }
    await broker().request('put', this._id, [value, block, timeout], signal);
  }

  /**
   * Blocking twin of `put`: parks this thread until there is room (bounded queues) or `timeout`
   * ms pass. On an unbounded queue it returns at once, as `put` does.
   *
   * **Blocking:** it stops the whole thread, event loop included — worker or child CPU code,
   * never the main thread of a server. A `signal` counts only if already aborted.
   * @throws Full when there is no room in time (at once with `block: false`).
   */
  putSync(item: T, options: PutOptions = {}): void {
    this.#checkOpen();
    const block = options.block ?? true;
    const timeout = checkTimeout('Queue.putSync', options.timeout);
    const signal = checkSignal('Queue.putSync', options.signal);
    if (signal?.aborted) throw signal.reason;
    const value = encode(item, 'message');
    if (this.maxsize === 0) {
      broker().postPut(this._id, value);
      return;
    }
    this.#putSync(value, block, timeout);
  }

  /**
   * Puts `item` if there is room now. On an unbounded queue it never waits for the broker (the
   * stream path of `put`); on a bounded one it asks the broker, synchronously.
   * @throws Full when the queue is full.
   */
  putNowait(item: T): void {
    this.#checkOpen();
    const value = encode(item, 'message');
    if (this.maxsize === 0) {
      broker().postPut(this._id, value);
      return;
    }
    this.#putSync(value, false, 0);
  }

  #putSync(value: unknown, block: boolean, timeout: number | null): void {
    try {
      brokerSync().request('put', this._id, [value, block, timeout]);
    } catch (e) {
      if ((e as Error)?.name === 'Full') throw new Full();
      throw e;
    }
  }

  /**
   * Removes and returns the next item; waits while the queue is empty (up to `timeout` ms).
   * @throws Empty when none arrives in time (or at once with `block: false`).
   */
  async get(options: GetOptions = {}): Promise<T> {
    const block = options.block ?? true;
    const timeout = checkTimeout('Queue.get', options.timeout);
    const signal = checkSignal('Queue.get', options.signal);
    if (signal?.aborted) throw signal.reason;
    if (this.#at < this.#buffer.length) return this.#take();
    try {
      const items = (await broker().request(
        'get',
        this._id,
        [block, timeout, this.#prefetch],
        signal,
        (late) => broker().post('unget', this._id, [late]),
      )) as unknown[];
      this.#buffer = items;
      this.#at = 0;
      if (items.length > 1) holding.add(this as Queue<unknown>);
      return this.#take();
    } catch (e) {
      if ((e as Error)?.name === 'Empty') throw new Empty();
      throw e;
    }
  }

  #take(): T {
    const v = this.#buffer[this.#at];
    this.#buffer[this.#at++] = undefined;
    if (this.#at === this.#buffer.length) {
      this.#buffer = [];
      this.#at = 0;
      holding.delete(this as Queue<unknown>);
    }
    return decode(v) as T;
  }

  /**
   * Blocking twin of `get`: parks this thread until an item comes or `timeout` ms pass.
   *
   * **Blocking:** it stops the whole thread, event loop included — worker or child CPU code,
   * never the main thread of a server. A `signal` counts only if already aborted.
   * @throws Empty when none arrives in time (at once with `block: false`).
   */
  getSync(options: GetOptions = {}): T {
    const block = options.block ?? true;
    const timeout = checkTimeout('Queue.getSync', options.timeout);
    const signal = checkSignal('Queue.getSync', options.signal);
    if (signal?.aborted) throw signal.reason;
    return this.#getSync(block, timeout);
  }

  /**
   * Removes and returns the next item if the queue has one now (an item this process already
   * fetched, else one from the broker).
   * @throws Empty when the queue is empty.
   */
  getNowait(): T {
    return this.#getSync(false, 0);
  }

  #getSync(block: boolean, timeout: number | null): T {
    if (this.#at < this.#buffer.length) return this.#take();
    let items: unknown[];
    try {
      items = brokerSync().request('get', this._id, [block, timeout, this.#prefetch]) as unknown[];
    } catch (e) {
      if ((e as Error)?.name === 'Empty') throw new Empty();
      throw e;
    }
    this.#buffer = items;
    this.#at = 0;
    if (items.length > 1) holding.add(this as Queue<unknown>);
    return this.#take();
  }

  /**
   * Approximate number of items: the broker's count plus the items this process fetched and
   * has not handed out yet. A snapshot — other processes change it at any time (Python's "not
   * reliable!"); this thread's own earlier puts are counted.
   */
  qsize(): number {
    return (
      (brokerSync().request('qsize', this._id, []) as number) + (this.#buffer.length - this.#at)
    );
  }

  /** @internal `qsize` without parking this thread (Connection.poll). */
  async _qsizeAsync(): Promise<number> {
    return (
      ((await broker().request('qsize', this._id, [])) as number) + (this.#buffer.length - this.#at)
    );
  }

  /** Whether the queue is empty (a snapshot, as `qsize`). */
  empty(): boolean {
    return this.#at >= this.#buffer.length && this.qsize() === 0;
  }

  /** Whether a bounded queue is full (a snapshot, as `qsize`); never for an unbounded one. */
  full(): boolean {
    return this.maxsize > 0 && this.qsize() >= this.maxsize;
  }

  /** No more puts from this process; items already put are still delivered. */
  close(): void {
    this.#closed = true;
    this._returnHeld();
  }

  /** @internal Hands prefetched items back to the front of the queue (close, exit). */
  _returnHeld(): void {
    if (this.#at < this.#buffer.length) {
      broker().post('unget', this._id, [this.#buffer.slice(this.#at)]);
    }
    this.#buffer = [];
    this.#at = 0;
    holding.delete(this as Queue<unknown>);
  }

  /** Resolves once this process's puts have reached the broker (Python's join_thread). */
  joinThread(): Promise<void> {
    return broker().drain();
  }

  /** Python's cancel_join_thread: a no-op here (a child always flushes before it exits). */
  cancelJoinThread(): void {}

  #checkOpen(): void {
    if (this.#closed) throw new RuntimeError('Queue is closed', 'ERR_WEFT_QUEUE_CLOSED');
  }

  /** @internal */
  static _revive(init: SharedInit): Queue {
    return new Queue(0, {}, init);
  }
}

registerKind('mp:Queue', (s) => Queue._revive(s), import.meta.url);
