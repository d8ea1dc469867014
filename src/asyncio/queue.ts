import { Deque } from '../internal/deque.js';
import { checkMaxsize } from '../internal/maxsize.js';
import { parseBlocking, parseWait, type WaitOptions } from '../internal/wait-options.js';
import { CallWaits, tieCall, tieInnerWait, Waiter, WaiterList } from '../internal/waiter.js';
import { QueueEmpty, QueueFull, QueueShutDown, TimeoutError } from './errors.js';
import { Event } from './event.js';

export interface QueueWaitOptions extends WaitOptions {
  /** `false`: do not wait; behave like `putNowait`/`getNowait` (but still return a Promise). */
  block?: boolean;
}

const VOID = Promise.resolve();

/**
 * An asyncio Queue: FIFO between tasks, bounded by `maxsize` items (0: unbounded).
 *
 * `put` waits while the queue is full, `get` while it is empty; waiters are served FIFO. A woken
 * getter re-checks the queue (as in CPython), so an item is never handed to a task that was
 * cancelled meanwhile: it stays in the queue for the next getter. `taskDone`/`join` count
 * unfinished items; `shutdown` (Python 3.13) makes `put` raise `QueueShutDown`, and `get` raise
 * it once the queue is empty (at once with `immediate`, which also drops the items).
 *
 * A queue is an async iterable: `for await (const item of q)` gets items until the queue is
 * shut down and empty (it does not call `taskDone`).
 *
 * Subclasses change the order through `_init`, `_put`, `_get` and `_size` (CPython's hooks):
 * see LifoQueue and PriorityQueue. `_init` runs inside Queue's constructor, before a subclass's
 * own field initializers, which then overwrite what it set: declare such fields with `declare`
 * (or assign them in the subclass constructor, as PriorityQueue does).
 *
 * **Cancellation:** a cancelled or aborted `put`/`get` leaves no waiter and loses no item; the
 * wake-up it was given passes to the next waiter.
 */
export class Queue<T = unknown> implements AsyncIterable<T> {
  readonly maxsize: number;
  private readonly getters = new WaiterList();
  private readonly putters = new WaiterList();
  private unfinished = 0;
  private readonly finished = new Event();
  private isShutdown = false;

  constructor(maxsize = 0) {
    checkMaxsize(new.target.name || 'Queue', maxsize);
    this.maxsize = maxsize;
    this.finished.set();
    this._init(maxsize);
  }

  // --- CPython's template hooks -------------------------------------------------------------
  protected items!: Deque<T>;
  protected _init(_maxsize: number): void {
    this.items = new Deque<T>();
  }
  protected _put(item: T): void {
    this.items.push(item);
  }
  protected _get(): T {
    return this.items.shift() as T;
  }
  protected _size(): number {
    return this.items.length;
  }
  // -------------------------------------------------------------------------------------------

  /** Items in the queue now. */
  qsize(): number {
    return this._size();
  }

  empty(): boolean {
    return this._size() === 0;
  }

  full(): boolean {
    return this.maxsize > 0 && this._size() >= this.maxsize;
  }

  /**
   * Puts `item`, waiting while the queue is full.
   * @throws QueueShutDown if the queue is shut down; QueueFull with `block: false` or on `timeout`.
   */
  put(item: T, options?: QueueWaitOptions): Promise<void> {
    if (options === undefined && !this.isShutdown && !this.full()) {
      // A `_put` that throws (a PriorityQueue item that cannot be ordered) rejects the Promise,
      // as on the slow path: a waiting call never throws synchronously for its item.
      try {
        this.putNowait(item);
      } catch (e) {
        return Promise.reject(e);
      }
      return VOID;
    }
    const call = new CallWaits();
    return tieCall(this.putSlow(item, options, call), call);
  }

  private async putSlow(
    item: T,
    options: QueueWaitOptions | undefined,
    call: CallWaits,
  ): Promise<void> {
    const { timeout, signal } = parseWait('Queue.put', options);
    const block = parseBlocking('Queue.put', options?.block, 'block');
    // An already aborted signal refuses the call even when it could complete at once, as
    // Lock.acquire and Semaphore.acquire do.
    signal?.throwIfAborted();
    const deadline = timeout === null ? null : performance.now() + timeout;
    const notFull = (): boolean => !this.full();
    for (;;) {
      if (this.isShutdown) throw new QueueShutDown();
      if (!this.full()) break;
      signal?.throwIfAborted();
      const left = deadline === null ? null : deadline - performance.now();
      if (!block || (left !== null && left <= 0)) throw new QueueFull();
      await this.waitIn(this.putters, left, signal, notFull, call);
      raiseLateCancel(call, this.putters, notFull);
    }
    this.putNowait(item);
  }

  /**
   * Puts `item` without waiting.
   * @throws QueueFull if the queue is full; QueueShutDown if it is shut down.
   */
  putNowait(item: T): void {
    if (this.isShutdown) throw new QueueShutDown();
    if (this.full()) throw new QueueFull();
    this._put(item);
    this.unfinished++;
    this.finished.clear();
    this.getters.shift()?.wake(true);
  }

  /**
   * Removes and returns an item, waiting while the queue is empty.
   * @throws QueueShutDown once the queue is shut down and empty; QueueEmpty with `block: false`
   * or on `timeout`.
   */
  get(options?: QueueWaitOptions): Promise<T> {
    if (options === undefined && this._size() > 0) {
      // A `_get` that throws (a PriorityQueue whose items cannot be ordered) rejects the
      // Promise, as on the slow path and as `put` does: never a synchronous throw.
      try {
        return Promise.resolve(this.getNowait());
      } catch (e) {
        return Promise.reject(e);
      }
    }
    const call = new CallWaits();
    return tieCall(this.getSlow(options, call), call);
  }

  private async getSlow(options: QueueWaitOptions | undefined, call: CallWaits): Promise<T> {
    const { timeout, signal } = parseWait('Queue.get', options);
    const block = parseBlocking('Queue.get', options?.block, 'block');
    signal?.throwIfAborted(); // even with items ready: see putSlow
    const notEmpty = (): boolean => this._size() > 0;
    const deadline = timeout === null ? null : performance.now() + timeout;
    while (this._size() === 0) {
      if (this.isShutdown) throw new QueueShutDown();
      signal?.throwIfAborted();
      const left = deadline === null ? null : deadline - performance.now();
      if (!block || (left !== null && left <= 0)) throw new QueueEmpty();
      await this.waitIn(this.getters, left, signal, notEmpty, call);
      raiseLateCancel(call, this.getters, notEmpty);
    }
    return this.getNowait();
  }

  /**
   * Removes and returns an item without waiting.
   * @throws QueueEmpty if the queue is empty; QueueShutDown if it is also shut down.
   */
  getNowait(): T {
    if (this._size() === 0) {
      if (this.isShutdown) throw new QueueShutDown();
      throw new QueueEmpty();
    }
    const item = this._get();
    this.putters.shift()?.wake(true);
    return item;
  }

  /**
   * Marks one item got earlier as processed (for `join`).
   * @throws RangeError (Python's ValueError) if called more times than items were put.
   */
  taskDone(): void {
    if (this.unfinished <= 0)
      throw new RangeError('taskDone() called too many times: no unfinished items are left');
    this.unfinished--;
    if (this.unfinished === 0) this.finished.set();
  }

  /** Waits until every item put has been marked done with `taskDone()`. */
  join(options?: WaitOptions): Promise<void> {
    // Its wait is the Event's: tied to this promise, for a combinator given it (waiter.ts).
    return tieInnerWait((call) => this.joinSlow(options, call));
  }

  private async joinSlow(options: WaitOptions | undefined, call: CallWaits): Promise<void> {
    // Checked even when nothing is unfinished, as every waiting call does: bad options throw
    // (naming Queue.join), an already aborted signal refuses the call.
    const { timeout, signal } = parseWait('Queue.join', options);
    signal?.throwIfAborted();
    if (this.unfinished === 0) return;
    const ok = await this.finished.wait(
      options === undefined ? undefined : { timeout, ...(signal === null ? {} : { signal }) },
    );
    call.raiseLate();
    if (!ok) throw new TimeoutError(`join() timed out with ${this.unfinished} unfinished items`);
  }

  /**
   * Shuts the queue down: `put` raises QueueShutDown from now on, `get` once the queue is
   * empty. With `immediate`, the items left are dropped (and counted done for `join`).
   */
  shutdown(immediate = false): void {
    this.isShutdown = true;
    if (immediate) {
      while (this._size() > 0) {
        this._get();
        if (this.unfinished > 0) this.unfinished--;
      }
      if (this.unfinished === 0) this.finished.set();
    }
    for (let w = this.getters.shift(); w !== null; w = this.getters.shift()) w.wake(true);
    for (let w = this.putters.shift(); w !== null; w = this.putters.shift()) w.wake(true);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      try {
        yield await this.get();
      } catch (e) {
        if (e instanceof QueueShutDown) return;
        throw e;
      }
    }
  }

  describe(): string {
    return `a ${this.constructor.name}`;
  }

  /**
   * Waits for a wake-up in `list`, as one more wait of `call`; a wake-up refused by cancellation
   * passes to the next waiter if `stillReady()` says the condition it signalled still holds —
   * as does one taken by a wait a combinator took over, when the cancel came after the wake-up
   * had resumed the wait and before the method went on (`CallWaits.takeCancel`).
   */
  private waitIn(
    list: WaiterList,
    timeout: number | null,
    signal: AbortSignal | null,
    stillReady: () => boolean,
    call: CallWaits,
  ): Promise<boolean> {
    const w = new Waiter<boolean>(this);
    w.onRevoke = () => passOn(list, stillReady);
    list.push(w);
    if (timeout !== null) w.setTimeout(timeout, (x) => x.withdraw(true, false));
    if (signal !== null) w.setSignal(signal);
    call.add(w);
    return w.block();
  }
}

/** A wake-up refused (or taken by a wait that was then cancelled) goes to the next waiter. */
function passOn(list: WaiterList, stillReady: () => boolean): void {
  if (stillReady()) list.shift()?.wake(true);
}

/**
 * Raises a cancel that reached `call` after its wait had resumed, before the method went on (a
 * wait a combinator took over begins no step: see `CallWaits.takeCancel`), passing on the
 * wake-up the wait took, as a revoked one is.
 */
function raiseLateCancel(call: CallWaits, list: WaiterList, stillReady: () => boolean): void {
  // Not `call.raiseLate(undo)`: a closure per wait on the queue's slow path, for a rare cancel.
  const late = call.takeCancel();
  if (late === null) return;
  passOn(list, stillReady);
  throw late;
}
