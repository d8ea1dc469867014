/**
 * gevent's `gevent.event`: `Event` and `AsyncResult`, on the link protocol that `wait`/`iwait`
 * (wait.ts) and `Group` use (`rawlink`, `unlink`, `ready`).
 *
 * Implementation notes
 * --------------------
 * gevent's AbstractLinkable keeps one list of links: `rawlink` callbacks and the greenlets
 * blocked in `wait()`/`get()` (each a `switch`). When the object becomes ready, a hub callback
 * (the *notifier*) pops each link in registration order and calls it: a callback runs there, a
 * waiting greenlet is switched to and runs until it blocks again, then the notifier goes on.
 *
 * Here the pass is laid out on weft's ready queue at the moment the object becomes ready, in
 * link order: a waiter is woken (its resume queued), a callback is queued. So the woken waiters
 * and the callbacks run in registration order, each woken greenlet until its next suspension
 * before the next link, and all of them before what the setter queues afterwards (a
 * `sleep(0)`), as in gevent:
 *
 *   set() ──► [ begin | resume A | callback C | resume B | end ]   ready queue
 *
 * `begin` and `end` mark the pass, for gevent's two rules about waits that come during one: a
 * `wait()` that finds the object ready while a pass is under way waits for its end (gevent ≥
 * 20.5.1, "callers that find the event already set run after the waiters that had to block");
 * and an Event's `wait()` made after the `set()` but before the pass began is served by it even
 * if the Event was cleared in between (gevent's notifier serves every link made before it ran).
 * Links are one-shot, as gevent's: each is unlinked before it is called.
 */
import { describeValue } from '../internal/errors.js';
import { callSoon, reportException } from '../internal/scheduler.js';
import { parseBlocking, parseWait, type WaitOptions } from '../internal/wait-options.js';
import { Waiter, WaiterList } from '../internal/waiter.js';
import { watchMainWait } from './loop-exit.js';
import { type RawLink, unlinkFirst } from './raw-link.js';
import { Timeout } from './timeout.js';

/** A `rawlink` callback: called with the object once it is ready. */
export type RawLinkCallback<O> = (source: O) => void;

const TRUE: Promise<boolean> = Promise.resolve(true);

/** A wait on a linkable, with its place among the links. */
class LinkWaiter extends Waiter<boolean> {
  seq = 0;
}

/**
 * @internal The wait of `task` that an Event or AsyncResult has woken and that has not resumed
 * yet, or null. A throw into the task (a kill, a Timeout's expiry) that cancels it runs the task
 * at once, inside the thrower's switch (`resumeAgain`), not at its wake-up's place: a `set()`
 * here queues its wake-ups at once, where gevent queues one notifier that switches to each
 * waiter when its turn comes, so a throw whose turn comes first finds the greenlet still
 * waiting there, and it runs at once.
 */
export function wokenLinkWait(task: { _blocker: object | null }): Waiter<boolean> | null {
  const b = task._blocker;
  return b instanceof LinkWaiter && !b.pending ? b : null;
}

/**
 * What `Event` and `AsyncResult` share (gevent's AbstractLinkable): links called once the
 * object is ready, in registration order, each one once.
 */
export abstract class Linkable {
  private readonly waiters = new WaiterList();
  /** Callbacks not notified yet, in registration order. */
  private rawlinks: RawLink[] = [];
  /** Callbacks queued by a pass that have not run yet (an `unlink` still stops them). */
  private readonly queued: RawLink[] = [];
  private seq = 0;
  /** Passes queued whose first link has not run yet. */
  private unbegun = 0;
  /** Passes queued whose last link has not run yet. */
  private open = 0;

  /** True once the object is ready (set); what its links wait for. */
  abstract ready(): boolean;

  /** How a LoopExit names the object. */
  abstract describe(): string;

  /**
   * Calls `cb(this)` once the object is ready: on the ready queue, after what is queued already
   * (at once on the queue if it is ready now). One call per registration: the link is removed
   * before it is called, as gevent's (link again to hear of the next `set()` of an Event).
   * @throws TypeError for something that is not a function.
   */
  rawlink(cb: RawLinkCallback<this>): void {
    if (typeof cb !== 'function') {
      throw new TypeError(
        `${this.kind()}.rawlink expects a function: received ${describeValue(cb)}`,
      );
    }
    this.rawlinks.push({ cb, seq: ++this.seq, dead: false });
    this._checkAndNotify();
  }

  /**
   * Removes the first registration of `cb` that has not been called yet (also one a pass has
   * queued); does nothing if there is none.
   */
  unlink(cb: RawLinkCallback<this>): void {
    unlinkFirst(this.rawlinks, this.queued, cb);
  }

  /** How many links (callbacks and waiting greenlets) wait for the object (gevent's `linkcount`). */
  linkcount(): number {
    return this.rawlinks.length + this.waiters.size;
  }

  /** Whether a wait made now, on the object not ready, is served by a pass not begun yet. */
  protected joinsUnbegunPass(): boolean {
    return false;
  }

  /** @internal Queues the links, in order, when the object is ready and has some. */
  _checkAndNotify(): void {
    if (!this.ready()) return;
    const raw = this.rawlinks;
    if (this.waiters.empty && raw.length === 0) return;
    this.unbegun++;
    this.open++;
    callSoon(passBegun, this);
    if (raw.length === 0) {
      for (let w = this.waiters.shift(); w !== null; w = this.waiters.shift()) w.wake(true);
    } else {
      this.rawlinks = [];
      let i = 0;
      for (;;) {
        const w = this.waiters.head as LinkWaiter | null;
        const r = raw[i];
        if (w !== null && (r === undefined || w.seq < r.seq)) {
          this.waiters.shift();
          w.wake(true);
        } else if (r !== undefined) {
          i++;
          this.queued.push(r);
          callSoon(runRawlink, this, r);
        } else break;
      }
    }
    callSoon(passEnded, this);
  }

  /** @internal */
  _passBegun(): void {
    this.unbegun--;
  }

  /** @internal */
  _passEnded(): void {
    this.open--;
  }

  /** @internal */
  _runRawlink(r: RawLink): void {
    if (r.dead) return;
    const i = this.queued.indexOf(r);
    if (i >= 0) this.queued.splice(i, 1);
    try {
      r.cb(this);
    } catch (e) {
      reportException(`Exception in a rawlink callback of ${this.describe()}`, e);
    }
  }

  /**
   * Waits until the object is ready (gevent's `_wait`): resolves true once notified, false when
   * `timeout` passes first. Ready already: true at once, or, while a pass is under way, at its
   * end.
   */
  protected waitReady(what: string, options: WaitOptions | undefined): Promise<boolean> {
    let timeout: number | null;
    let signal: AbortSignal | null;
    try {
      ({ timeout, signal } = parseWait(what, options));
    } catch (e) {
      return Promise.reject(e);
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.ready() ? this.open > 0 : this.unbegun > 0 && this.joinsUnbegunPass()) {
      // Behind the links of the pass under way (or served by the pass not begun yet).
      const w = new Waiter<boolean>(this);
      w.wake(true);
      return w.block();
    }
    if (this.ready()) return TRUE;
    const w = new LinkWaiter(this);
    w.seq = ++this.seq;
    this.waiters.push(w);
    // A timeout of 0 still goes through the loop, as gevent's: the caller yields.
    if (timeout !== null) w.setTimeout(timeout, (x) => x.withdraw(true, false));
    if (signal !== null) w.setSignal(signal);
    watchMainWait(w, () => `the main program waits for ${this.describe()}, which nothing sets`);
    return w.block();
  }

  private kind(): string {
    return this.constructor.name;
  }
}

function passBegun(l: Linkable): void {
  l._passBegun();
}

function passEnded(l: Linkable): void {
  l._passEnded();
}

function runRawlink(l: Linkable, r: RawLink): void {
  l._runRawlink(r);
}

let eventCounter = 0;

/**
 * gevent's `Event`: a flag greenlets wait on. `set()` wakes every waiter, in the order they
 * began waiting, each running until its next suspension before the next; `clear()` lowers the
 * flag. A waiter woken by a `set()` gets true even if the flag was cleared again before it ran
 * ("set at least once while it waited", gevent ≥ 1.1).
 *
 * The asyncio `Event` of weft/asyncio wakes its waiters the same way; this one adds what gevent
 * code uses: `rawlink`/`unlink`, `ready()`, use with `wait`/`iwait`, `wait({ timeout: 0 })`
 * yielding to the loop, a wait begun after a `set()` (even with the flag cleared again) served by
 * the wake-up that `set()` started, and LoopExit for the main program's wait.
 *
 * **Cancellation:** a cancelled (killed) or aborted `wait` leaves no waiter behind.
 */
export class Event extends Linkable {
  private flag = false;
  private readonly id = ++eventCounter;

  /** True while the flag is set. */
  isSet(): boolean {
    return this.flag;
  }

  /** The same as `isSet()` (gevent's, for `wait`/`iwait`). */
  ready(): boolean {
    return this.flag;
  }

  /** Sets the flag and wakes every waiter (on the ready queue, in the order they waited). */
  set(): void {
    this.flag = true;
    this._checkAndNotify();
  }

  /** Lowers the flag: `wait()` blocks again until the next `set()`. */
  clear(): void {
    this.flag = false;
  }

  /**
   * Waits until the flag is set, at most `timeout` ms: resolves true if it was set (before or
   * during the wait), false when the timeout passed first (gevent's `Event.wait`).
   * @throws LoopExit when the main program (outside every greenlet and task) waits and nothing is
   * left that could set it.
   */
  wait(options?: WaitOptions): Promise<boolean> {
    return this.waitReady('Event.wait', options);
  }

  protected override joinsUnbegunPass(): boolean {
    return true;
  }

  describe(): string {
    return `Event-${this.id}`;
  }

  get [Symbol.toStringTag](): string {
    return 'Event';
  }
}

const UNSET: unique symbol = Symbol('unset');
let resultCounter = 0;

/** What `AsyncResult.setFrom` reads: a greenlet, or anything with its outcome. */
export interface OutcomeSource {
  successful(): boolean;
  readonly value: unknown;
  readonly exception: unknown;
}

export interface AsyncResultGetOptions extends WaitOptions {
  /** `false`: answer now; not ready raises `Timeout` at once (default true). */
  block?: boolean;
}

/**
 * gevent's `AsyncResult`: a one-time hand-off of a value or an error between greenlets. `set(v)`
 * or `setException(e)` wakes every waiter; `get()` returns the value or raises the error, and
 * once it is ready, answers at once.
 *
 * As gevent's, a later `set`/`setException` replaces what is stored (the value wins when both
 * were given), and it cannot be cleared. `value` and `exception` are null until set.
 *
 * **Cancellation:** a cancelled (killed) or aborted `get`/`wait` leaves no waiter behind.
 */
export class AsyncResult<T = unknown> extends Linkable {
  private _value: T | typeof UNSET = UNSET;
  private _exception: unknown = UNSET;
  private readonly id = ++resultCounter;

  /**
   * gevent's `__call__`, the link protocol: stores the outcome of `source` (a greenlet, or
   * another AsyncResult) — its value if it was successful, else its error. A bound function, so
   * `greenlet.link(result.setFrom)` is gevent's `greenlet.link(result)`.
   */
  readonly setFrom = (source: OutcomeSource): void => {
    if (source.successful()) this.set(source.value as T);
    else this.setException(source.exception);
  };

  /** True once a value or an error was stored. */
  ready(): boolean {
    return this._value !== UNSET || this._exception !== UNSET;
  }

  /** True once a value was stored (an error alone is not successful). */
  successful(): boolean {
    return this._value !== UNSET;
  }

  /** The value given to `set`, or null. */
  get value(): T | null {
    return this._value === UNSET ? null : this._value;
  }

  /** The error given to `setException`, or null. */
  get exception(): unknown {
    return this._exception === UNSET ? null : this._exception;
  }

  /** Stores `value` and wakes every waiter. */
  set(value?: T): void {
    this._value = value as T;
    this._checkAndNotify();
  }

  /** The same as `set` (concurrent.futures' name, as gevent's `set_result`). */
  setResult(value?: T): void {
    this.set(value);
  }

  /** Stores `error`, raised by every `get`, and wakes every waiter. */
  setException(error: unknown): void {
    this._exception = error;
    this._checkAndNotify();
  }

  /**
   * Resolves to the value, or raises the error, once one is stored; at once if it is.
   * @throws Timeout when `timeout` passes first, or at once with `block: false` while not ready;
   *   LoopExit when the main program waits and nothing is left that could set it.
   */
  async get(options?: AsyncResultGetOptions): Promise<T> {
    // Checked even when ready: a bad option is a TypeError, an aborted signal rejects, whether
    // or not the value is there already (weft-wide, as Greenlet.get).
    const block = parseBlocking('AsyncResult.get', options?.block, 'block');
    const { timeout, signal } = parseWait('AsyncResult.get', options);
    if (signal?.aborted) throw signal.reason;
    if (this._value !== UNSET) return this._value;
    if (this._exception !== UNSET) throw this._exception;
    if (!block) throw new Timeout(0);
    if (!(await this.waitReady('AsyncResult.get', options))) throw new Timeout(timeout);
    return this.getNowait();
  }

  /** `get({ block: false })`, synchronously. @throws Timeout while not ready. */
  getNowait(): T {
    if (this._value !== UNSET) return this._value;
    if (this._exception !== UNSET) throw this._exception;
    throw new Timeout(0);
  }

  /** `get({ timeout })` (concurrent.futures' name, as gevent's). */
  result(options?: WaitOptions): Promise<T> {
    return this.get(options);
  }

  /**
   * Waits until it is ready, at most `timeout` ms, and resolves to the value — null when it holds
   * an error or the timeout passed (gevent's `AsyncResult.wait`: it never raises the error).
   */
  async wait(options?: WaitOptions): Promise<T | null> {
    await this.waitReady('AsyncResult.wait', options);
    return this.value;
  }

  /** The same as `ready()` (concurrent.futures' name). */
  done(): boolean {
    return this.ready();
  }

  /** An AsyncResult cannot be cancelled: false, as gevent's. */
  cancel(): boolean {
    return false;
  }

  /** Always false, as gevent's. */
  cancelled(): boolean {
    return false;
  }

  describe(): string {
    return `AsyncResult-${this.id}`;
  }

  get [Symbol.toStringTag](): string {
    return 'AsyncResult';
  }
}
