/**
 * gevent.lock's `Semaphore`: a counter of permits greenlets acquire and release, with gevent's
 * link protocol (`rawlink`, `unlink`, `ready`), so that `wait`/`iwait` take it as gevent's do.
 *
 * Implementation notes
 * --------------------
 * gevent's Semaphore is an AbstractLinkable that notifies its links "while ready": a `release()`
 * schedules a notifier, which calls the links in the order they were made — a waiting greenlet
 * is switched to, takes its permit there and runs until it blocks, before the next link — and
 * stops as soon as no permit is left. Until it runs, a permit released is free for anyone: the
 * releasing greenlet that acquires again before it blocks keeps it (checked against gevent
 * 22.10.2: `with sem: sleep(0)` twice in a loop runs each greenlet's two turns back to back).
 *
 * Here the links — acquirers, `wait()`ers and rawlink callbacks — share one order (a waiter's
 * place in the WaitingLine, a callback's `seq`). A `release()` (or a `rawlink`) queues one pass
 * (`_notify`, one at a time per semaphore) when a permit is free and some link waits. The pass
 * serves the links made before it began, in that order, while a permit is free: an acquirer or
 * `wait()`er is woken to resume next (it takes its permit then) and the pass goes on once it
 * blocks (scheduler.ts, `beginSwitch`), so a permit the woken greenlet releases goes to the next
 * waiter in the same pass, as in gevent; a callback is called by the pass itself, with no task
 * current. Links made during the pass wait for the next one, queued at its end if a permit is
 * still free (gevent's `_check_and_notify`).
 */
import { describeValue, notAFunction } from '../internal/errors.js';
import { releaser } from '../internal/releaser.js';
import { callFirst, queuePass, reportException } from '../internal/scheduler.js';
import {
  type ParsedAcquire,
  parseAcquire,
  parseWait,
  type WaitOptions,
} from '../internal/wait-options.js';
import { CallWaits, tieCall, type Waiter } from '../internal/waiter.js';
import { watchMainWait } from './loop-exit.js';
import { type RawLink, unlinkFirst } from './raw-link.js';
import { switchInto } from './switch.js';
import { Timeout } from './timeout.js';
import { LineWaiter, WaitingLine } from './waiting-line.js';

export interface AcquireOptions extends WaitOptions {
  /** `false`: take a permit only if one is free now; resolves false otherwise (default true). */
  blocking?: boolean;
}

/** A `rawlink` callback: called with the semaphore while a permit is free. */
export type SemaphoreLinkCallback<S> = (semaphore: S) => void;

const TRUE: Promise<boolean> = Promise.resolve(true);
let semaphoreCounter = 0;

function timedOut(w: Waiter<boolean>): void {
  w.withdraw(true, false);
}

function runNotify(s: Semaphore): void {
  s._notify(false);
}

function runNotifyPlain(s: Semaphore): void {
  s._notify(true);
}

function passFailed(s: Semaphore): void {
  s._passFailed();
}

/**
 * gevent's `Semaphore(value=1)`: `acquire()` takes a permit, waiting while none is free;
 * `release()` gives one back (and may give more than were ever taken: use `BoundedSemaphore` to
 * refuse that). No greenlet owns a permit: any may release.
 *
 * Waiting greenlets are woken in the order they began to wait, each taking its permit when it
 * resumes and running until it blocks before the next is served (one pass of gevent's
 * notifier); a greenlet that acquires before that pass runs — the releasing one, say, acquiring
 * again before it blocks — takes the permit first, as in gevent, and the waiter keeps its place.
 * `acquire({ blocking: false })` answers at once; with `timeout` (ms) it resolves false when the
 * time passes first (a timeout of 0 lets the loop turn once first, as gevent's). `wait()` waits
 * for a free permit without taking it. `locked()` and `counter` are snapshots.
 *
 * `using _ = await sem.hold()` or `await sem.run(fn)` hold a permit around a block (gevent's
 * `with sem:`).
 *
 * **Cancellation:** a greenlet killed (or a task cancelled, a `signal` aborted, a `Timeout`
 * expired) while it waits in `acquire` or `wait` gets that error there and holds no permit. A
 * kill takes its turn on the ready queue: a greenlet woken before then takes its permit first,
 * as gevent's.
 *
 * @throws LoopExit from a wait of the main program (outside every greenlet and task) that
 *   nothing is left to end.
 *
 * @example
 * const sem = new Semaphore(2);
 * await Promise.all([1, 2, 3].map((n) => spawn(() => sem.run(() => sleep(10, n))).get()));
 */
export class Semaphore {
  /** @internal Free permits. */
  protected _counter: number;
  private readonly line = new WaitingLine(() => this.checkAndNotify());
  /** Callbacks linked and not yet called, in `seq` order. */
  private rawlinks: RawLink[] = [];
  /** gevent's `_notifier`: a pass over the links (`_notify`) is queued or under way. */
  private notifying = false;
  /** The pass under way serves the links up to this place, those made before it began. */
  private lastServed = -1;
  private readonly id = ++semaphoreCounter;
  private readonly mainAcquire = (): string =>
    `the main program waits to acquire ${this.describe()}, which nothing releases`;

  /** @throws TypeError for a value that is not an integer; RangeError for a negative one. */
  constructor(value = 1) {
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      throw new TypeError(
        `${this.kind} value must be an integer: received ${describeValue(value)}`,
      );
    }
    if (value < 0) throw new RangeError(`${this.kind} value must be >= 0: received ${value}`);
    this._counter = value;
  }

  /** Free permits now (gevent's `counter`; a snapshot). */
  get counter(): number {
    return this._counter;
  }

  /** True when no permit is free (a snapshot). */
  locked(): boolean {
    return this._counter <= 0;
  }

  /** True when a permit is free (a snapshot): what its links wait for. */
  ready(): boolean {
    return this._counter > 0;
  }

  /**
   * Takes a permit: resolves true once it has one; false with `blocking: false` when none is
   * free, or when `timeout` passes first.
   * @throws LoopExit (see the class).
   */
  acquire(options?: AcquireOptions): Promise<boolean> {
    if (options === undefined && this._counter > 0) {
      this._counter--;
      return TRUE;
    }
    const call = new CallWaits();
    return tieCall(this._acquireIn(options, call), call);
  }

  /**
   * @internal `acquire`, as waits of `call` (RLock's acquire is one call with this as its wait).
   */
  async _acquireIn(options: AcquireOptions | undefined, call: CallWaits): Promise<boolean> {
    const { timeout, signal, blocking } = this.parseAcquire(options);
    signal?.throwIfAborted();
    if (this._counter > 0) {
      this._counter--;
      return true;
    }
    if (!blocking) return false;
    const deadline = timeout === null ? null : performance.now() + timeout;
    let seq = 0;
    for (;;) {
      const w = new LineWaiter(this);
      if (!this.waitIn(w, seq, deadline, signal, call)) return false;
      if (!(await w.block())) return false;
      this.line.resumed();
      const late = call.takeCancel();
      if (late !== null) {
        this.checkAndNotify();
        throw late;
      }
      if (this._counter > 0) {
        this._counter--;
        return true;
      }
      seq = w.seq; // a newcomer took the permit: back to this wait's place
    }
  }

  /**
   * Gives a permit back and queues a pass that serves the waiters, in order, while a permit is
   * free; returns the free permits (gevent's return value).
   */
  release(): number {
    this._counter++;
    this.checkAndNotify();
    return this._counter;
  }

  /**
   * Waits until a permit is free, without taking it, at most `timeout` ms, and resolves to the
   * free permits then — 0 if the timeout passed, or if the greenlets woken before it took them
   * (gevent's `wait`). At once when one is free now.
   * @throws LoopExit (see the class).
   */
  wait(options?: WaitOptions): Promise<number> {
    const call = new CallWaits();
    return tieCall(this.waitSlow(options, call), call);
  }

  private async waitSlow(options: WaitOptions | undefined, call: CallWaits): Promise<number> {
    const { timeout, signal } = parseWait(`${this.kind}.wait`, options);
    signal?.throwIfAborted();
    if (this._counter > 0) return this._counter;
    const deadline = timeout === null ? null : performance.now() + timeout;
    let seq = 0;
    for (;;) {
      const w = new LineWaiter(this);
      w.consumes = false;
      if (!this.waitIn(w, seq, deadline, signal, call)) return this._counter;
      if (!(await w.block())) return this._counter;
      call.raiseLate();
      if (this._counter > 0) return this._counter;
      seq = w.seq; // taken before it resumed: gevent's notifier would not have called it
    }
  }

  /**
   * Calls `cb(this)` once a permit is free — on the ready queue, in line with the waiting
   * greenlets, and only if a permit is still free when its turn comes (else it stays linked for
   * the next release). One call per registration, as gevent's (link again to hear of the next).
   * @throws TypeError for something that is not a function.
   */
  rawlink(cb: SemaphoreLinkCallback<this>): void {
    if (typeof cb !== 'function') {
      throw new TypeError(`${this.kind}.rawlink expects a function: received ${describeValue(cb)}`);
    }
    this.rawlinks.push({ cb, seq: this.line.nextSeq(), dead: false });
    this.checkAndNotify();
  }

  /** Removes the first registration of `cb` not called yet; does nothing if there is none. */
  unlink(cb: SemaphoreLinkCallback<this>): void {
    // A pass calls a callback as soon as it takes it: none is ever queued here.
    unlinkFirst(this.rawlinks, null, cb);
  }

  /** How many links (callbacks and waiting greenlets) wait for a permit (gevent's `linkcount`). */
  linkcount(): number {
    return this.rawlinks.length + this.line.size;
  }

  /** Holds a permit around `fn` (gevent's `with sem:`); returns what `fn` returns. */
  async run<R>(fn: () => R | PromiseLike<R>, options?: AcquireOptions): Promise<Awaited<R>> {
    if (typeof fn !== 'function') throw notAFunction(fn, `${this.kind}.run`);
    if (!(await this.acquire(options))) throw this.notAcquired(options);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /**
   * Takes a permit and returns a handle whose disposal gives it back: `using _ = await
   * sem.hold()` (gevent's `with sem:`).
   * @throws Timeout when `timeout` passes first (or, with `blocking: false`, none is free).
   */
  async hold(options?: AcquireOptions): Promise<Disposable & AsyncDisposable> {
    if (!(await this.acquire(options))) throw this.notAcquired(options);
    return releaser(() => this.release());
  }

  /**
   * @internal What a LoopExit says of the main program's wait (an `acquire` or a `wait`): a
   * subclass that stands for something else (a Pool's slots) names it.
   */
  protected mainWait(): () => string {
    return this.mainAcquire;
  }

  /** `Semaphore-3`, for messages. */
  describe(): string {
    return `${this.kind}-${this.id}`;
  }

  get [Symbol.toStringTag](): string {
    return this.kind;
  }

  /** The class name messages use. */
  protected get kind(): string {
    return this.constructor.name;
  }

  /**
   * gevent's `_check_and_notify`: queues a pass over the links when a permit is free and some
   * link waits, unless a pass is queued or under way.
   */
  private checkAndNotify(): void {
    if (this.notifying || this._counter <= 0) return;
    if (this.line.size === 0 && this.rawlinks.length === 0) return;
    this.notifying = true;
    this.lastServed = -1;
    queuePass(runNotify, this);
  }

  /**
   * @internal gevent's `_notify_links`: serves the links made before the pass began, in their
   * order, while a permit is free — a waiting greenlet is woken to run next (an acquirer takes
   * its permit then) and the pass goes on once it blocks again (scheduler.ts, `endSwitch`); a
   * callback is called here. Then, as gevent's, another pass is queued if a permit is still
   * free for links made meanwhile.
   */
  _notify(plain: boolean): void {
    const line = this.line;
    if (this.lastServed < 0) this.lastServed = line.lastSeq();
    for (;;) {
      if (this._counter - line.woken <= 0) break;
      const w = line.head as LineWaiter | null;
      const r = this.rawlinks[0];
      if (w !== null && (r === undefined || w.seq < r.seq)) {
        if (w.seq > this.lastServed) break;
        if (switchInto(WaitingLine.wakeInLine, this, w, runNotify, true, passFailed) > 0) return;
      } else if (r !== undefined) {
        if (r.seq > this.lastServed) break;
        if (!plain) {
          // The user's code, with no task current: the pass goes on from a plain callback, next.
          callFirst(runNotifyPlain, this);
          return;
        }
        this.rawlinks.shift();
        try {
          r.cb(this);
        } catch (e) {
          try {
            reportException(`Exception in a rawlink callback of ${this.describe()}`, e);
          } catch (e2) {
            this._passFailed();
            throw e2;
          }
        }
      } else break;
    }
    this.notifying = false;
    this.checkAndNotify();
  }

  /**
   * @internal The pass threw (only weft's own reporting can: a `describe` that throws; its
   * switch, if one was open, is closed by then): another pass serves the links left, so no
   * waiter is lost.
   */
  _passFailed(): void {
    this.notifying = false;
    this.checkAndNotify();
  }

  private parseAcquire(options: AcquireOptions | undefined): ParsedAcquire {
    return parseAcquire(`${this.kind}.acquire`, options);
  }

  /** What `run` and `hold` raise when no permit came: gevent's `Timeout`, as `AsyncResult.get`. */
  private notAcquired(options: AcquireOptions | undefined): Timeout {
    const t = options?.timeout;
    return new Timeout(typeof t === 'number' && t > 0 ? t : 0);
  }

  /**
   * Puts `w` in line (at `seq`, for a wait that lost its turn) with what ends it. False when a
   * wait back in line has no time left.
   */
  private waitIn(
    w: LineWaiter,
    seq: number,
    deadline: number | null,
    signal: AbortSignal | null,
    call: CallWaits,
  ): boolean {
    let left: number | null = null;
    if (deadline !== null) {
      left = Math.max(0, deadline - performance.now());
      // A first wait of 0 ms still lets the loop turn once, as gevent's Timeout(0).
      if (left === 0 && seq !== 0) return false;
    }
    this.line.enter(w, seq);
    this.checkAndNotify(); // a wait back in line after a newcomer took its permit
    if (left !== null) w.setTimeout(left, timedOut);
    if (signal !== null) w.setSignal(signal);
    call.add(w);
    watchMainWait(w, this.mainWait());
    return true;
  }
}
