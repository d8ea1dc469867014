import { currentTaskSignal } from '../internal/context.js';
import { describeValue } from '../internal/errors.js';
import { checkMaxsize } from '../internal/maxsize.js';
import { beforeBrokerSend, broker, type Withdrawable } from '../internal/process/broker-client.js';
import {
  fromWire,
  fromWireAsBytes,
  toWire,
  toWireForMessage,
} from '../internal/process/broker-item.js';
import { brokerSync } from '../internal/process/broker-sync.js';
import { dropTransfers } from '../internal/process/transfers.js';
import { Empty, Full, valueError } from './errors.js';
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

/**
 * @internal A get option of `Connection.recvBytes`: the item as its bytes in V8's format
 * (broker-item.ts `fromWireAsBytes`), not revived.
 */
export const kAsBytes = Symbol('weft.queue.asBytes');
/** @internal */
export type InternalGetOptions = GetOptions & { [kAsBytes]?: boolean };

let flushHooked = false;
/** Queues holding prefetched items in this process: a child hands them back before it exits. */
const holding = new Set<Queue<unknown>>();

/**
 * A batch the broker lent this thread (more than one item): `b` names it to the broker, which
 * keeps its items until told they were taken, so a process killed outright does not take them
 * with it. Numbered per thread: two handles on one queue in a thread never share a number.
 */
interface Batch {
  b: number;
  items: unknown[];
  at: number;
}
let batchSeq = 0;
/** Set by `Queue._pipeDirection` for the constructor it calls. */
let pipeNext = false;

/**
 * This thread's handle of each queue. A queue revived again in a thread where it has a live,
 * open handle is that handle: every pool task gets its own copy of its arguments, and a second
 * handle would not see what the first one prefetched — those items would wait, stranded, until
 * the worker ended (Python's copies share one pipe and have no such buffer).
 */
const handles = new Map<string, WeakRef<Queue<unknown>>>();
const forgetHandle = new FinalizationRegistry<string>((id) => {
  if (handles.get(id)?.deref() === undefined) handles.delete(id);
});

/** @internal */
export function reviveShared<Q extends Queue<unknown>>(
  init: SharedInit,
  cls: abstract new (...a: never[]) => Q,
  make: () => Q,
): Q {
  const h = handles.get(init.id)?.deref();
  if (h !== undefined && !h._closed && h.constructor === cls) return h as Q;
  return make();
}

/** A get waiting at the broker that another get's batch may serve first (then it withdraws). */
interface LocalWaiter extends Withdrawable {
  served: boolean;
  /** The get wants the item's bytes (kAsBytes). */
  asBytes: boolean;
  value: unknown;
  /** The item it was handed failed to revive (`#take` threw): its get throws that. */
  failure: { error: unknown } | null;
}

/** The answer of a get served from this thread's batch by another get (`#serveWaiting`). */
function servedValue(w: LocalWaiter): unknown {
  if (w.failure !== null) throw w.failure.error;
  return w.value;
}
const noWithdraw = (): void => {};
/** The abort reason of a get served from a batch this thread already had. */
const kServed = Symbol('weft.queue.served');
/** The withdrawal reason of a poll answered by items a get of this thread brought. */
const kHeldHere = Symbol('weft.queue.heldHere');

/** Queues that took items from a lent batch since the broker last heard: it hears how far at the
 * end of the turn, or sooner with whatever this thread sends first. */
const unreported = new Set<Queue<unknown>>();
let reportScheduled = false;
function reportTakes(): void {
  reportScheduled = false;
  if (unreported.size === 0) return;
  for (const q of unreported) q._reportTaken();
  unreported.clear();
}
// Also with every frame and blocking call: a consumer that only makes blocking calls never
// reaches setImmediate, and a taskDone must never reach the broker before the take it follows.
beforeBrokerSend(reportTakes);

/**
 * Python's `multiprocessing.Queue`: a FIFO shared by every process it is passed to (in `args`,
 * or inside another queue's item). Items are copied by structured clone's rules: serialized by
 * the thread that puts them, which the broker keeps as bytes it never reads, and read by the
 * thread that gets them. So an item that cannot be sent fails its put at the call
 * (NotCloneableError), and one the getter cannot read (nested deeper than its stack can read)
 * fails that get alone (RuntimeError `ERR_WEFT_UNREADABLE_MESSAGE`): it is consumed, as Python's
 * get loses an item it cannot unpickle.
 *
 * `put` on an unbounded queue does not wait for the broker (Python's feeder thread does the
 * same): items are sent in batches (the first of a turn at once, the rest at its end;
 * `joinThread()` sends them within the call); a child flushes them before it exits. `qsize`, `empty`,
 * `full`, `getNowait` and `putNowait` on a bounded queue ask the broker synchronously (a few
 * tens of microseconds, this thread parked meanwhile); as in Python, sizes are snapshots.
 *
 * **Cancellation:** an aborted `signal` rejects a waiting `get`/`put` and leaves no waiter; an
 * item granted in the same instant is put back at the front of the queue, and the next `get` of
 * this thread on this handle waits until it is (so it gets that item, not the one after).
 */
export class Queue<T = unknown> extends SharedObject {
  readonly maxsize: number;
  /** The batch being handed out: its items, the next index, its lease number (0: not lent). */
  #buffer: unknown[] = [];
  #at = 0;
  #b = 0;
  #reported = 0;
  /** Batches that arrived while #buffer still had items (concurrent gets), in arrival order. */
  #later: Batch[] = [];
  /** This thread's gets waiting at the broker (prefetch > 1), in the order they were made. */
  #waiting: Set<LocalWaiter> | null = null;
  /** Settles once this thread's aborted gets are settled at the broker (see `get`); or null. */
  #unsettled: Promise<void> | null = null;
  /** This thread's polls of a Pipe direction waiting at the broker (`_pipePoll`). */
  #polls: Set<Withdrawable> | null = null;
  #closed = false;
  readonly #prefetch: number;
  readonly #joinable: boolean;
  /** What an item's errors name (a Pipe direction's: its Connection's methods). */
  readonly #putWhat: string;
  readonly #getWhat: string;
  /**
   * @internal JoinableQueue: items this handle's gets returned and its `taskDone` has not marked
   * done yet (counted here, in the get itself: a subclass wrapping each get in an async function
   * of its own paid a second promise per item).
   */
  _taken = 0;

  constructor(maxsize = 0, options: QueueOptions = {}, init?: SharedInit) {
    // Negative: no limit, as Python's.
    if (init === undefined) checkMaxsize(new.target.name || 'Queue', maxsize, 'unbounded');
    const joinable = (new.target as unknown as { _joinable?: boolean })._joinable === true;
    // A bounded queue's room is what the broker holds: items prefetched would leave it early
    // (a producer could then put maxsize + prefetch), so it takes one at a time by default.
    const prefetch = options.prefetch ?? (joinable || maxsize > 0 ? 1 : 1024);
    if (!Number.isInteger(prefetch) || prefetch < 1) {
      throw new RangeError(
        `Queue prefetch must be an integer >= 1: received ${describeValue(prefetch)}`,
      );
    }
    const params: Record<string, unknown> = { maxsize: Math.max(0, maxsize), joinable, prefetch };
    if (pipeNext) {
      params.pipe = true;
      params.creator = broker().owner;
    }
    super('queue', params, init);
    this.maxsize = this._params.maxsize as number;
    this.#prefetch = this._params.prefetch as number;
    this.#joinable = joinable;
    const name = new.target.name || 'Queue';
    const pipe = this._params.pipe === true;
    this.#putWhat = pipe ? 'Connection.send' : `${name}.put`;
    this.#getWhat = pipe ? 'Connection.recv' : `${name}.get`;
    handles.set(this._id, new WeakRef(this as Queue<unknown>));
    forgetHandle.register(this, this._id);
    if (!flushHooked) {
      flushHooked = true;
      onBeforeExit(() => {
        for (const q of holding) q._returnHeld();
        return broker().drain();
      });
      // `process.exit()` or an uncaught error skips the hook above: hand the items back from
      // 'exit', ahead of the broker client's own 'exit' listener that sends what is queued.
      process.prependOnceListener('exit', () => {
        for (const q of holding) q._returnHeld();
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
    const signal = checkSignal('Queue.put', options.signal) ?? currentTaskSignal();
    const tokens: string[] = [];
    // A put the broker took just before an abort reached it is in the queue all the same: the
    // Pipe ends in it still count (the abort rejects once the broker has answered it).
    let taken = false;
    try {
      const value = toWire(item, tokens, this.#putWhat);
      if (this.maxsize === 0) {
        broker().postPut(this._id, value);
        return;
      }
      const a = [value, block, timeout];
      if (tokens.length === 0) await broker().request('put', this._id, a, signal);
      else {
        await broker().requestSettled('put', this._id, a, signal, () => {
          taken = true;
        });
      }
    } catch (e) {
      if (!taken) dropTransfers(tokens);
      throw e;
    }
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
    this.#putNow(item, block, timeout);
  }

  /**
   * Puts `item` if there is room now. On an unbounded queue it never waits for the broker (the
   * stream path of `put`); on a bounded one it asks the broker, synchronously.
   * @throws Full when the queue is full.
   */
  putNowait(item: T): void {
    this.#checkOpen();
    this.#putNow(item, false, 0);
  }

  /**
   * Puts without awaiting: posted on an unbounded queue, asked synchronously on a bounded one.
   * A Pipe end inside an item that is refused or finds no room stops counting as in transit
   * (transfers.ts): else the other end would never see EOF once its own copies close.
   */
  #putNow(item: T, block: boolean, timeout: number | null): void {
    const tokens: string[] = [];
    try {
      const value = toWire(item, tokens, this.#putWhat, this.maxsize === 0);
      if (this.maxsize === 0) broker().postPut(this._id, value);
      else this.#putSync(value, block, timeout);
    } catch (e) {
      dropTransfers(tokens);
      throw e;
    }
  }

  #putSync(value: unknown, block: boolean, timeout: number | null): void {
    try {
      brokerSync().request('put', this._id, [toWireForMessage(value), block, timeout]);
    } catch (e) {
      if ((e as Error)?.name === 'Full') throw new Full();
      throw e;
    }
  }

  /**
   * Removes and returns the next item; waits while the queue is empty (up to `timeout` ms).
   * @throws Empty when none arrives in time (or at once with `block: false`); RuntimeError
   *   `ERR_WEFT_UNREADABLE_MESSAGE` when this thread cannot read the item (it is consumed).
   */
  async get(options: GetOptions = {}): Promise<T> {
    const asBytes = (options as InternalGetOptions)[kAsBytes] === true;
    const block = options.block ?? true;
    const timeout = checkTimeout('Queue.get', options.timeout);
    const signal = checkSignal('Queue.get', options.signal) ?? currentTaskSignal();
    if (signal?.aborted) throw signal.reason;
    this.#checkOpen();
    if (this.#at < this.#buffer.length) return this.#take(asBytes);
    // A get of this thread aborted while its answer may be on its way: that answer goes back to
    // the front of the queue ('unget'), so this get asks once the broker has settled it — asked
    // sooner, it was served the next item, and the aborted one came after it (a recv with a
    // timeout signal in a loop got hundreds of a Pipe's messages out of order).
    while (this.#unsettled !== null) {
      await this.#unsettled;
      if (signal?.aborted) throw signal.reason;
      this.#checkOpen();
      if (this.#at < this.#buffer.length) return this.#take(asBytes);
    }
    const b = ++batchSeq;
    // With prefetch, another get of this thread may bring a batch first: this one is then served
    // from it and withdraws its own request (else it would wait at the broker while items sit
    // here). With prefetch 1 a batch is one item: nothing to share.
    let w: LocalWaiter | null = null;
    if (this.#prefetch > 1) {
      w = { withdraw: noWithdraw, served: false, asBytes, value: undefined, failure: null };
      (this.#waiting ??= new Set()).add(w);
    }
    // Only a get with a signal can be aborted by its caller (a served one is answered here).
    const control: Withdrawable | undefined =
      signal === null ? (w ?? undefined) : (w ?? { withdraw: noWithdraw });
    try {
      const items = (await broker().request(
        'get',
        this._id,
        [block, timeout, this.#prefetch, b],
        signal,
        (late) => {
          const got = late as unknown[];
          // Served here meanwhile: keep the batch for this thread's next gets. Aborted by the
          // caller: it goes back to the front of the queue, for any consumer.
          if (w?.served) {
            this.#receive(b, got);
            this.#serveWaiting();
          } else broker().post('unget', this._id, [got, got.length > 1 ? [b] : []]);
        },
        control,
      )) as unknown[];
      this.#receive(b, items);
      if (w !== null) {
        this.#waiting?.delete(w);
        // Its batch and a local hand-out crossed: the item it was handed is its answer.
        if (w.served) {
          this.#serveWaiting();
          return servedValue(w) as T;
        }
      }
      // The other waiting gets are served whatever this one's item does (a failure to revive
      // it is this get's answer alone).
      try {
        return this.#take(asBytes);
      } finally {
        this.#serveWaiting();
      }
    } catch (e) {
      if (w !== null) {
        this.#waiting?.delete(w);
        if (w.served) return servedValue(w) as T;
      }
      if (control !== undefined && signal?.aborted && e === signal.reason && !control.settled)
        this.#awaitSettled(control);
      if ((e as Error)?.name === 'Empty') throw new Empty();
      throw e;
    }
  }

  /** Makes this thread's next gets wait until the aborted get of `control` is settled. */
  #awaitSettled(control: Withdrawable): void {
    const p = new Promise<void>((resolve) => {
      control.onSettled = resolve;
    });
    const all = this.#unsettled === null ? p : Promise.all([this.#unsettled, p]).then(() => {});
    this.#unsettled = all;
    all.then(() => {
      if (this.#unsettled === all) this.#unsettled = null;
    });
  }

  /** Hands what this thread holds to its other gets still waiting at the broker, oldest first. */
  #serveWaiting(): void {
    const ws = this.#waiting;
    if (ws === null) return;
    for (const w of ws) {
      if (this.#at >= this.#buffer.length) return;
      ws.delete(w);
      // An item that fails to revive is that waiter's answer, as it would be from its own batch:
      // it must not fail the get that is serving it (nor leave the waiter unserved).
      try {
        w.value = this.#take(w.asBytes);
      } catch (error) {
        w.failure = { error };
      }
      w.served = true;
      w.withdraw(kServed);
    }
  }

  /**
   * A batch arrived. It is handed out after what this thread already holds: another `get` of
   * this thread may have fetched one meanwhile, and both batches' items are still owed, in order.
   */
  #receive(b: number, items: unknown[]): void {
    if (this.#closed && items.length > 1) {
      // A get that was waiting when the queue was closed here takes its item; no more is kept.
      broker().post('unget', this._id, [items.slice(1), [b]]);
      items = items.slice(0, 1);
    }
    const lent = items.length > 1 ? b : 0;
    if (this.#at < this.#buffer.length) this.#later.push({ b: lent, items, at: 0 });
    else {
      this.#buffer = items;
      this.#at = 0;
      this.#b = lent;
      this.#reported = 0;
    }
    if (items.length > 1) holding.add(this as Queue<unknown>);
    // After the get that brought the batch has taken its own item (it does so in this turn): a
    // poll is answered only if something is left for a recv.
    if (this.#polls !== null && this.#polls.size > 0) queueMicrotask(() => this.#wakePolls());
  }

  #take(asBytes = false): T {
    const v = this.#buffer[this.#at];
    this.#buffer[this.#at++] = undefined;
    if (this.#at === this.#buffer.length) this.#nextBatch();
    else if (this.#b !== 0 && this.#at === this.#reported + 1) {
      // The first take since the broker last heard: tell it at the end of this turn.
      unreported.add(this as Queue<unknown>);
      if (!reportScheduled) {
        reportScheduled = true;
        setImmediate(reportTakes);
      }
    }
    // All or nothing: an item that fails to revive halfway gives its Pipe ends back (serialize.ts);
    // one this thread cannot read is consumed (broker-item.ts).
    const item = (asBytes ? fromWireAsBytes(v, this.#getWhat) : fromWire(v, this.#getWhat)) as T;
    // Every item a get returns (its own, or one it served another get of this thread) passes here.
    if (this.#joinable) this._taken++;
    return item;
  }

  /** The current batch is used up: the broker forgets its lease; the next one (if any) starts. */
  #nextBatch(): void {
    if (this.#b !== 0) broker().post('took', this._id, [this.#b, this.#buffer.length]);
    const next = this.#later.shift();
    if (next === undefined) {
      this.#buffer = [];
      this.#at = 0;
      this.#b = 0;
      holding.delete(this as Queue<unknown>);
    } else {
      this.#buffer = next.items;
      this.#at = next.at;
      this.#b = next.b;
    }
    this.#reported = this.#at;
  }

  /** @internal Tells the broker how many items of the current lent batch were taken. */
  _reportTaken(): void {
    if (this.#b !== 0 && this.#at > this.#reported) {
      this.#reported = this.#at;
      broker().post('took', this._id, [this.#b, this.#at]);
    }
  }

  /** Items fetched and not handed out yet, across batches. */
  #held(): number {
    let n = this.#buffer.length - this.#at;
    for (const x of this.#later) n += x.items.length - x.at;
    return n;
  }

  /**
   * Blocking twin of `get`: parks this thread until an item comes or `timeout` ms pass.
   *
   * **Blocking:** it stops the whole thread, event loop included — worker or child CPU code,
   * never the main thread of a server. A `signal` counts only if already aborted.
   * @throws Empty when none arrives in time (at once with `block: false`); RuntimeError
   *   `ERR_WEFT_UNREADABLE_MESSAGE` as `get`.
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
    this.#checkOpen();
    if (this.#at < this.#buffer.length) return this.#take();
    const b = ++batchSeq;
    let items: unknown[];
    try {
      items = brokerSync().request('get', this._id, [
        block,
        timeout,
        this.#prefetch,
        b,
      ]) as unknown[];
    } catch (e) {
      if ((e as Error)?.name === 'Empty') throw new Empty();
      throw e;
    }
    this.#receive(b, items);
    try {
      return this.#take();
    } finally {
      this.#serveWaiting();
    }
  }

  /**
   * Approximate number of items: the broker's count plus the items this process fetched and
   * has not handed out yet. A snapshot — other processes change it at any time (Python's "not
   * reliable!"); this thread's own earlier puts are counted.
   */
  qsize(): number {
    return (brokerSync().request('qsize', this._id, []) as number) + this.#held();
  }

  /**
   * @internal Connection.poll on a Pipe direction: true once a get would not wait (an item here
   * or in the broker, or EOFError), false once `timeout` ms pass. One request, parked at the
   * broker with the gets and answered by what wakes them; an abort of `signal` withdraws it.
   * A batch that a get of this thread brings meanwhile answers it here (`#wakePolls`): the
   * broker, which lent those items, does not know they are still to be received.
   */
  async _pipePoll(timeout: number | null, signal: AbortSignal | null): Promise<boolean> {
    // As for a get (see there): an item an aborted get of this thread gives back is one to
    // receive. Asked sooner, poll(0) answered false while it was on its way back to the broker.
    while (this.#unsettled !== null) {
      await this.#unsettled;
      if (signal?.aborted) throw signal.reason;
    }
    if (this.#held() > 0) return true;
    const control: Withdrawable = { withdraw: noWithdraw };
    const polls = (this.#polls ??= new Set());
    polls.add(control);
    try {
      return (await broker().request(
        'pipePoll',
        this._id,
        [timeout],
        signal,
        undefined,
        control,
      )) as boolean;
    } catch (e) {
      if (e === kHeldHere) return true;
      throw e;
    } finally {
      polls.delete(control);
    }
  }

  /** Items are held here after a batch arrived: the polls waiting at the broker answer true. */
  #wakePolls(): void {
    const polls = this.#polls;
    if (polls === null || polls.size === 0 || this.#held() === 0) return;
    for (const p of polls) p.withdraw(kHeldHere);
    polls.clear();
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
    const items = this.#buffer.slice(this.#at);
    const leases = this.#b !== 0 ? [this.#b] : [];
    for (const x of this.#later) {
      for (let i = x.at; i < x.items.length; i++) items.push(x.items[i]);
      if (x.b !== 0) leases.push(x.b);
    }
    if (items.length > 0 || leases.length > 0) broker().post('unget', this._id, [items, leases]);
    this.#buffer = [];
    this.#at = 0;
    this.#b = 0;
    this.#reported = 0;
    this.#later = [];
    holding.delete(this as Queue<unknown>);
  }

  /**
   * Resolves once this process's puts have reached the broker (Python's join_thread). It writes
   * what is queued within the call, so a producer about to compute synchronously can call it
   * (without awaiting) to have its items sent before the computation, as Python's feeder thread
   * would send them during it.
   */
  joinThread(): Promise<void> {
    return broker().drain();
  }

  /** Python's cancel_join_thread: a no-op here (a child always flushes before it exits). */
  cancelJoinThread(): void {}

  /** Python's ValueError "Queue … is closed": a RangeError, as weft spells ValueError. */
  #checkOpen(): void {
    if (this.#closed) throw valueError('Queue is closed', 'ERR_WEFT_QUEUE_CLOSED');
  }

  /**
   * @internal One direction of a Pipe: the broker counts the handles of the end writing into
   * it and of the end reading it — from its creation, the one of each this thread makes now. A
   * `get` on it answers EOFError once the writers are all closed and it is empty; once the
   * readers are all closed, it drops what it holds and what is put later (see connection.ts).
   */
  static _pipeDirection(): Queue {
    pipeNext = true;
    try {
      return new Queue(0, { prefetch: 64 });
    } finally {
      pipeNext = false;
    }
  }

  /** @internal Whether `close()` was called on this handle. */
  get _closed(): boolean {
    return this.#closed;
  }

  /** @internal This thread's open handle of the queue, or a new one (see `handles`). */
  static _revive(init: SharedInit): Queue {
    return reviveShared(init, Queue, () => new Queue(0, {}, init));
  }
}

registerKind('mp:Queue', (s) => Queue._revive(s), import.meta.url);
