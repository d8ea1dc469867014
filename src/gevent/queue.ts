/**
 * gevent.queue's `Queue`: a FIFO between greenlets, bounded or not, with the template hooks
 * (`_init`, `_put`, `_get`, `_peek`, `_size`) that keep `LifoQueue`, `PriorityQueue` and
 * `JoinableQueue` short, as gevent's and CPython's do.
 *
 * Implementation notes
 * --------------------
 * Getters (and `peek`s) wait in one line, putters in another (waiting-line.ts). As gevent's, a
 * `put` or `get` that may let a waiter of the other line go on queues one pass over the lines
 * (`_unlock`, one at a time per queue) instead of waking anyone itself. The pass runs in rounds
 * — the first putter if there is room, then the first getter if there is an item — and each
 * greenlet it wakes resumes next and runs until it blocks, the pass going on right behind it
 * (scheduler.ts, `beginSwitch`): so a chain (a getter's get frees a slot for the waiting putter,
 * whose item serves the next getter) is served before any other greenlet runs, as gevent's hub
 * serves it in one callback. A woken greenlet takes the item, or puts its own, when it resumes;
 * a `get()` or `put()` made before the pass ran found the queue as it was and did not wait
 * (checked against gevent 22.10.2), and the waiter it overtook stays first in line. A kill is a
 * callback of its own, queued where it was made (greenlet.ts): a greenlet the pass wakes before
 * its turn takes its item first, and gets the kill at its next wait.
 */
import { Deque } from '../internal/deque.js';
import { describeValue } from '../internal/errors.js';
import { checkMaxsize } from '../internal/maxsize.js';
import { queuePass } from '../internal/scheduler.js';
import { parseBlocking, parseWait, type WaitOptions } from '../internal/wait-options.js';
import { CallWaits, tieCall, type Waiter } from '../internal/waiter.js';
import { Empty, Full } from './errors.js';
import { watchMainWait } from './loop-exit.js';
import { switchInto } from './switch.js';
import { LineWaiter, WaitingLine } from './waiting-line.js';

/**
 * gevent's iteration sentinel: `for await (const x of queue)` ends when it gets this item, as
 * Python's `for x in queue` ends at `StopIteration` (the class itself, put as an item). Put it
 * once per consumer; the items after it stay in the queue. A registered symbol, so two copies
 * of weft agree on it. Give the queue a type that admits it: `Queue<Job | typeof StopIteration>`
 * (the loop's variable is then a `Job`).
 */
export const StopIteration: unique symbol = Symbol.for('weft.gevent.StopIteration');

export interface QueueWaitOptions extends WaitOptions {
  /** `false`: do not wait; `Full`/`Empty` at once if it cannot be done now (default true). */
  block?: boolean;
}

export interface QueueOptions<T> {
  /** The queue's first items, in order (gevent's `items`). */
  items?: Iterable<T>;
}

const VOID: Promise<void> = Promise.resolve();
let queueCounter = 0;

function timedOut(w: Waiter<boolean>): void {
  w.withdraw(true, false);
}

function runUnlock(q: Queue<unknown>): void {
  q._unlock();
}

function unlockFailed(q: Queue<unknown>): void {
  q._unlockFailed();
}

/**
 * gevent's `Queue(maxsize=None, items=())`: a FIFO queue between greenlets (and asyncio tasks,
 * which share its ready queue). `maxsize` null, 0 or left out: no limit; `maxsize` n: `put`
 * waits while n items are in it.
 *
 * `get` waits while it is empty and `put` while it is full; the waiting greenlets are served in
 * the order they began to wait, each running until it blocks before the next is served (one
 * pass of gevent's `_unlock`) — a greenlet that calls `get`/`put` before that pass runs finds
 * the queue as it is, as in gevent. `peek` waits like `get` and
 * leaves the item. With `block: false` they answer at once (`Empty`, `Full`); with `timeout`
 * (ms) they raise `Empty`/`Full` when it passes (a timeout of 0 still lets the loop turn once
 * first, as gevent's `Timeout(0)`). `qsize()`, `empty()` and `full()` are snapshots.
 *
 * `for await (const item of queue)` gets items until it gets `StopIteration`.
 *
 * **Cancellation:** a greenlet killed (or a task cancelled, a `signal` aborted, a `Timeout`
 * expired) while it waits in `get`, `put` or `peek` gets that error there and loses no item: a
 * put's item is not in the queue, a get took none. A kill takes its turn on the ready queue: a
 * greenlet woken before then takes its item (or puts its own) first, as gevent's.
 *
 * @throws LoopExit from a wait of the main program (outside every greenlet and task) that
 *   nothing is left to end: an empty queue nobody can put to.
 *
 * @example
 * const q = new Queue<number>(2);
 * const consumer = spawn(async () => { let sum = 0; for (let i = 0; i < 5; i++) sum += await q.get(); return sum; });
 * for (let i = 1; i <= 5; i++) await q.put(i); // waits while 2 are queued
 * await consumer.get(); // 15
 */
export class Queue<T = unknown> implements AsyncIterable<Exclude<T, typeof StopIteration>> {
  /** The most items it holds: Infinity for no limit. */
  private limit: number;
  private readonly getters = new WaitingLine(() => this.scheduleUnlock());
  private readonly putters = new WaitingLine(() => this.scheduleUnlock());
  /** gevent's `_event_unlock`: a pass over the lines (`unlock`) is queued or under way. */
  private unlocking = false;
  /** Where the pass is: 0 a round begins (a putter's turn), 1 a getter's turn, 2 the round ends. */
  private phase = 0;
  /** Someone was served in this round of the pass: another round follows. */
  private served = false;
  private readonly id = ++queueCounter;
  /** For LoopExit's message; made once, not per wait. */
  private readonly mainGet = (): string =>
    `the main program waits for an item of ${this.describe()}, which nothing puts`;
  private readonly mainPut = (): string =>
    `the main program waits for room in ${this.describe()} (maxsize ${this.limit}), which nothing gets from`;

  /**
   * @throws TypeError for a `maxsize` that is not an integer (or null), or `items` that are not
   *   iterable; RangeError for a negative `maxsize` (gevent takes it as no limit).
   */
  constructor(maxsize?: number | null, options?: QueueOptions<T>) {
    this.limit = limitOf(this.constructor.name, maxsize);
    if (options !== undefined && (typeof options !== 'object' || options === null)) {
      throw new TypeError(
        `${this.constructor.name} options must be an object: received ${describeValue(options)}`,
      );
    }
    const items = options?.items;
    if (
      items !== undefined &&
      (items === null || typeof (items as Iterable<T>)[Symbol.iterator] !== 'function')
    ) {
      throw new TypeError(
        `${this.constructor.name} items must be iterable: received ${describeValue(items)}`,
      );
    }
    this._init(items === undefined ? [] : [...items], options ?? {});
  }

  // --- gevent's (and CPython's) template hooks ------------------------------------------------
  // `_init` runs inside this constructor, before a subclass's own field initializers, which
  // would then overwrite what it set: a subclass declares such fields with `declare`.
  protected items!: Deque<T>;
  /** Makes the store, holding `items` (in the order given). */
  protected _init(items: T[], _options: QueueOptions<T>): void {
    this.items = new Deque<T>();
    for (const x of items) this.items.push(x);
  }
  protected _put(item: T): void {
    this.items.push(item);
  }
  protected _get(): T {
    return this.items.shift() as T;
  }
  /** The item `_get` would return, left in place. */
  protected _peek(): T {
    return this.items.peek() as T;
  }
  protected _size(): number {
    return this.items.length;
  }
  /** The items in the store's own order (for `copy`). */
  protected _snapshot(): T[] {
    return [...this.items];
  }
  /** What `copy` passes to the new queue's constructor besides `maxsize`. */
  protected _copyOptions(): QueueOptions<T> {
    return { items: this._snapshot() };
  }
  // ---------------------------------------------------------------------------------------------

  /** The limit: null when there is none (gevent's `maxsize` property). */
  get maxsize(): number | null {
    return this.limit === Number.POSITIVE_INFINITY ? null : this.limit;
  }

  /**
   * Changes the limit (null or 0: none). Putters that now fit are woken (gevent's waits for the
   * next `get`).
   * @throws TypeError, RangeError as the constructor.
   */
  set maxsize(value: number | null) {
    this.limit = limitOf(this.constructor.name, value);
    if (this.putters.size > 0) this.scheduleUnlock();
  }

  /** Items in the queue now (a snapshot). */
  qsize(): number {
    return this._size();
  }

  /** The same as `qsize()` (Python's `len(queue)`). */
  get length(): number {
    return this._size();
  }

  /** True when it holds no item (a snapshot). */
  empty(): boolean {
    return this._size() === 0;
  }

  /** True when it holds `maxsize` items; never for a queue without a limit (a snapshot). */
  full(): boolean {
    return this._size() >= this.limit;
  }

  /** A new queue of the same class, limit and items (gevent's `copy()`); no waiter is copied. */
  copy(): this {
    const C = this.constructor as new (maxsize: number | null, options: QueueOptions<T>) => this;
    return new C(this.maxsize, this._copyOptions());
  }

  /**
   * Puts `item`, waiting while the queue is full.
   * @throws Full with `block: false`, or when `timeout` passes first; LoopExit (see the class).
   */
  put(item: T, options?: QueueWaitOptions): Promise<void> {
    if (options === undefined && this._size() < this.limit) {
      // A `_put` that throws (items a PriorityQueue cannot order) rejects: a waiting call never
      // throws synchronously.
      try {
        this.add(item);
      } catch (e) {
        return Promise.reject(e);
      }
      return VOID;
    }
    const call = new CallWaits();
    return tieCall(this.putSlow(item, options, call), call);
  }

  /** Puts `item` if there is room now. @throws Full otherwise. */
  putNowait(item: T): void {
    if (this._size() >= this.limit) throw new Full();
    this.add(item);
  }

  /**
   * Removes and returns the first item, waiting while the queue is empty.
   * @throws Empty with `block: false`, or when `timeout` passes first; LoopExit (see the class).
   */
  get(options?: QueueWaitOptions): Promise<T> {
    if (options === undefined && this._size() > 0) {
      try {
        return Promise.resolve(this.take());
      } catch (e) {
        return Promise.reject(e);
      }
    }
    const call = new CallWaits();
    return tieCall(this.itemSlow(false, options, call), call);
  }

  /** Removes and returns the first item if there is one now. @throws Empty otherwise. */
  getNowait(): T {
    if (this._size() === 0) throw new Empty();
    return this.take();
  }

  /**
   * Returns the first item without removing it, waiting while the queue is empty. A waiting
   * `peek` is served in line with the getters, and does not use up the item.
   * @throws Empty with `block: false`, or when `timeout` passes first; LoopExit (see the class).
   */
  peek(options?: QueueWaitOptions): Promise<T> {
    if (options === undefined && this._size() > 0) return Promise.resolve(this._peek());
    const call = new CallWaits();
    return tieCall(this.itemSlow(true, options, call), call);
  }

  /** The first item, left in the queue, if there is one now. @throws Empty otherwise. */
  peekNowait(): T {
    if (this._size() === 0) throw new Empty();
    return this._peek();
  }

  /**
   * Gets items until it gets `StopIteration` (gevent's `for x in queue`). Leaving the loop early
   * takes no more items.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<Exclude<T, typeof StopIteration>> {
    for (;;) {
      const item = await this.get();
      if (item === StopIteration) return;
      yield item as Exclude<T, typeof StopIteration>;
    }
  }

  /** `Queue-3`, for messages. */
  describe(): string {
    return `${this.constructor.name}-${this.id}`;
  }

  get [Symbol.toStringTag](): string {
    return this.constructor.name;
  }

  private add(item: T): void {
    this._put(item);
    if (this.getters.size > 0) this.scheduleUnlock();
  }

  private take(): T {
    const item = this._get();
    if (this.putters.size > 0) this.scheduleUnlock();
    return item;
  }

  /** Queues a pass over the waiting lines, unless one is queued or under way (gevent's). */
  private scheduleUnlock(): void {
    if (this.unlocking) return;
    this.unlocking = true;
    this.phase = 0;
    queuePass(runUnlock, this);
  }

  /**
   * @internal gevent's `_unlock`, one switch at a time: in rounds, the first putter if there is
   * room, then the first getter (or peek) if there is an item, until a round serves nobody. The
   * greenlet served runs next, until it blocks; then this goes on (scheduler.ts, `endSwitch`).
   */
  _unlock(): void {
    for (;;) {
      if (this.phase === 0) {
        this.phase = 1;
        this.served = false;
        const p = this.putters.head as LineWaiter | null;
        if (p !== null && this._size() + this.putters.woken < this.limit && this.switchTo(p))
          return;
      }
      if (this.phase === 1) {
        this.phase = 2;
        const g = this.getters.head as LineWaiter | null;
        if (g !== null && this._size() > this.getters.woken && this.switchTo(g)) return;
      }
      this.phase = 0;
      if (!this.served) {
        this.unlocking = false;
        return;
      }
    }
  }

  /** Wakes `w` to run next, this pass going on once it blocks; false if nothing was woken. */
  private switchTo(w: LineWaiter): boolean {
    if (switchInto(WaitingLine.wakeInLine, this, w, runUnlock, true, unlockFailed) === 0) {
      return false;
    }
    this.served = true;
    return true;
  }

  /**
   * @internal A wake-up threw (not expected: it runs no code of the user's): a new pass serves
   * the lines.
   */
  _unlockFailed(): void {
    this.unlocking = false;
    this.scheduleUnlock();
  }

  private async putSlow(
    item: T,
    options: QueueWaitOptions | undefined,
    call: CallWaits,
  ): Promise<void> {
    const { timeout, signal } = parseWait('Queue.put', options);
    const block = parseBlocking('Queue.put', options?.block, 'block');
    // An aborted signal refuses the call even when it could complete at once (weft-wide).
    signal?.throwIfAborted();
    if (this._size() < this.limit) return this.add(item);
    if (!block) throw new Full();
    const deadline = timeout === null ? null : performance.now() + timeout;
    let seq = 0;
    for (;;) {
      const w = new LineWaiter(this);
      if (!this.waitIn(this.putters, w, seq, deadline, signal, call, this.mainPut))
        throw new Full();
      if (!(await w.block())) throw new Full();
      this.putters.resumed();
      const late = call.takeCancel();
      if (late !== null) {
        this.scheduleUnlock(); // the slot it was woken for is free for the next
        throw late;
      }
      if (this._size() < this.limit) {
        try {
          return this.add(item);
        } catch (e) {
          this.scheduleUnlock(); // the slot it was woken for is still free
          throw e;
        }
      }
      seq = w.seq; // a newcomer took the slot: back to this wait's place
    }
  }

  private async itemSlow(
    peek: boolean,
    options: QueueWaitOptions | undefined,
    call: CallWaits,
  ): Promise<T> {
    const what = peek ? 'Queue.peek' : 'Queue.get';
    const { timeout, signal } = parseWait(what, options);
    const block = parseBlocking(what, options?.block, 'block');
    signal?.throwIfAborted();
    if (this._size() > 0) return peek ? this._peek() : this.take();
    if (!block) throw new Empty();
    const deadline = timeout === null ? null : performance.now() + timeout;
    let seq = 0;
    for (;;) {
      const w = new LineWaiter(this);
      w.consumes = !peek;
      if (!this.waitIn(this.getters, w, seq, deadline, signal, call, this.mainGet))
        throw new Empty();
      if (!(await w.block())) throw new Empty();
      if (!peek) this.getters.resumed();
      const late = call.takeCancel();
      if (late !== null) {
        if (!peek) this.scheduleUnlock();
        throw late;
      }
      if (this._size() > 0) return peek ? this._peek() : this.take();
      seq = w.seq;
    }
  }

  /**
   * Puts `w` in `line` (at `seq`, for a wait that lost its turn) with what ends it. False when a
   * wait back in line has no time left.
   */
  private waitIn(
    line: WaitingLine,
    w: LineWaiter,
    seq: number,
    deadline: number | null,
    signal: AbortSignal | null,
    call: CallWaits,
    what: () => string,
  ): boolean {
    let left: number | null = null;
    if (deadline !== null) {
      left = Math.max(0, deadline - performance.now());
      // A first wait of 0 ms still lets the loop turn once, as gevent's Timeout(0).
      if (left === 0 && seq !== 0) return false;
    }
    line.enter(w, seq);
    // gevent's put and get queue a pass when the other side waits (a newcomer that waits while
    // the other line could serve it: a putter of an empty queue whose getters are waking).
    if ((line === this.getters ? this.putters : this.getters).size > 0) this.scheduleUnlock();
    if (left !== null) w.setTimeout(left, timedOut);
    if (signal !== null) w.setSignal(signal);
    call.add(w);
    watchMainWait(w, what);
    return true;
  }
}

/**
 * Infinity for no limit: null (or left out) and 0 are gevent's "no limit"; any other value is
 * checked by the shared rule of every queue's maxsize (../internal/maxsize.ts).
 */
function limitOf(kind: string, value: unknown): number {
  if (value === undefined || value === null || value === Number.POSITIVE_INFINITY)
    return Number.POSITIVE_INFINITY;
  const n = checkMaxsize(kind, value);
  return n === 0 ? Number.POSITIVE_INFINITY : n;
}
