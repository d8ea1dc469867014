/**
 * The cancellation-aware waiter queue under every async primitive (tokio's `batch_semaphore`
 * plays this part for its Mutex, RwLock and Semaphore).
 *
 * Implementation notes
 * --------------------
 * A `Waiter` is one blocked call: a native promise the caller awaits, the task that awaits it,
 * and the primitive it waits on. Its life:
 *
 *   PENDING ──wake/withdraw──► SCHEDULED ──(ready queue runs it)──► DONE
 *      │                          │
 *      └── cancel: unlink,        └── cancel: outcome = error; when the ready queue resumes it,
 *          outcome = error            the primitive's `onRevoke` takes the grant back first
 *          (a Lock's waiter           (passes it to the next waiter), as CPython's except does
 *          stays linked until it
 *          resumes: keepsCancelled)
 *
 * A wake-up is not delivered on the spot: it goes through the ready queue
 * (src/internal/scheduler.ts), so that woken tasks resume one step at a time, in FIFO order. In
 * between, the waiting task may be cancelled; when the wait then resumes (with the error) the
 * primitive gets its grant back through `onRevoke` and hands it on, so no wake-up is lost and no
 * permit leaks (the bug class that both
 * CPython — bpo-45390, gh-90155 — and Effect had to fix).
 *
 * `WaiterList` is an intrusive doubly linked FIFO: O(1) push, shift and removal of a cancelled
 * waiter from the middle, no allocation beyond the waiter itself.
 *
 * Blocking: `block()` records the waiter on its task (so `task.cancel()` finds it) and ends the
 * task's step in the scheduler. A cancellation requested while the task was not blocked on a
 * weft waiter is delivered here, at its next blocking call, as CPython delivers it at the next
 * suspension.
 *
 * Reuse: a finished waiter that nothing but its primitive can reach any more (`reusable()`) may
 * serve that primitive's next wait (`reuse`), with a fresh promise. A contended Lock does so
 * (lock.ts, `spare`): two tasks passing it back and forth then make no waiter per hand-over.
 * The object is long-lived, so a hand-over stores no young object into the lock's list, the
 * ready queue or the task (each such store is a slow write barrier); only the new promise and
 * its resolving functions are. Anything that may still act on a waiter after it has resumed —
 * a combinator that took it over (`detach`), the `displaced` map, a `CallWaits` — rules it out.
 * The measurements by hand that led to it are in the message of the commit that made it.
 */
import { currentContext, resolveUntagged, untaggedPromise } from './context.js';
import { CancelledError } from './errors.js';
import { beginStep, callSoon, callSoonResumeOf, stepEnded } from './scheduler.js';
import { startTimerAt, stopTimerEntry, type TimerEntry } from './timer-heap.js';

/** What the waiter machinery needs from a task (implemented by asyncio's Task). */
export interface WaitingTask {
  /** What the task is blocked on: a Waiter (set here), or a future it awaits. */
  _blocker: object | null;
  /** Keeps a future in `_blocker` where a cancel still finds it, as a Waiter takes the field. */
  _setAside(): void;
  /** An error to deliver at the task's next blocking call (a cancel that found no waiter). */
  _pendingCancel: Error | null;
  /** A label for deadlock reports: "Task 'worker-1'". */
  describe(): string;
  /**
   * The task has ended: a wait it made and did not await (`void lock.acquire()`, `void
   * sleep(0)`) resumes no step of it, or the ready queue would wait behind a step that never
   * ends until the watchdog's immediate.
   */
  done(): boolean;
}

/**
 * A deadline of the timer heap (timer-heap.ts): every timer of weft/asyncio and weft/gevent is
 * armed through `startTimer`/`startTimerAt`, so none of them runs before `performance.now()`
 * (the clock of `EventLoop.time()`) has reached its deadline, and deadlines run in their order,
 * ties in arming order, as CPython's heap runs them. The callback runs through the scheduler's
 * `runTimer`, so that timers due together make their tasks ready in one batch.
 */
export type Timer = TimerEntry;

/**
 * Calls `fn(a)` once `ms` milliseconds have passed, however long, never before; returns null,
 * arming nothing, when `ms` is infinite. Stop it with `stopTimer`.
 */
export function startTimer<A>(ms: number, fn: (a: A) => void, a: A): Timer | null {
  return startTimerAt(performance.now() + ms, fn, a);
}

// `startTimerAt(when, fn, a)`: the same for a deadline in `performance.now()` milliseconds.
export { startTimerAt };

export const stopTimer = stopTimerEntry;

/**
 * CPython's TimerHandle: once `when` (`performance.now()` milliseconds) has come, `fn(a, b)` is
 * queued on the ready queue instead of being called from the timer. So what it wakes resumes one
 * loop iteration after the timer fired, behind the callbacks that were due with it, as a
 * `call_later` callback that sets a future does in CPython. Every asyncio timer that stands for
 * one of CPython's handles (`callLater`/`callAt`, `timeout()` scopes, the timeouts of `wait()`
 * and `asCompleted()`, a `sleep(ms)` through `Waiter.setTimeoutHandle`) is armed here. Stop it
 * with `stopTimer`, also after it fired: `fn` has not run yet then, and whoever it was for
 * checks that itself (a cancelled handle, a re-armed scope). A `when` already past is due as the
 * next iteration of the ready queue begins, as CPython's `call_later(0)` (timer-heap.ts).
 */
export function startTimerHandleAt<A, B>(
  when: number,
  fn: (a: A, b: B) => void,
  a: A,
  b: B,
): Timer | null {
  return startTimerAt(when, queueDue, new DueCall(fn, a, b), true);
}

/** `startTimerHandleAt` for a delay of `ms` milliseconds from now. */
export function startTimerHandle<A, B>(
  ms: number,
  fn: (a: A, b: B) => void,
  a: A,
  b: B,
): Timer | null {
  return startTimerHandleAt(performance.now() + ms, fn, a, b);
}

/** The call a handle's timer queues when it fires. */
class DueCall {
  constructor(
    readonly fn: (a: any, b: any) => void,
    readonly a: unknown,
    readonly b: unknown,
  ) {}
}

function queueDue(c: DueCall): void {
  callSoon(c.fn, c.a, c.b);
}

const PENDING = 0;
const SCHEDULED = 1;
const DONE = 2;

/** The waiter whose promise `new Promise(captureInto)` is making (see the constructor). */
let capturing: Waiter<any> | null = null;

/**
 * The one executor of every waiter's promise: it stores the resolving functions straight into
 * the waiter being made. Through capture.ts's shared record (an old object) they would cost two
 * slow write barriers more per wait, and for a reused waiter (itself old) two stores more.
 */
function captureInto(resolve: (value: any) => void, reject: (error: unknown) => void): void {
  const w = capturing as Waiter<any>;
  w.resolve = resolve;
  w.reject = reject;
}

export class Waiter<V> {
  /** The task blocked here (null when the caller runs outside every task, or after `detach`). */
  task: WaitingTask | null;
  /** The primitive waited on (for deadlock walks and reports). */
  readonly owner: object | null;
  state: 0 | 1 | 2 = PENDING;
  promise: Promise<V>;
  /** Set by the promise's executor (`captureInto`). */
  resolve!: (value: V) => void;
  reject!: (error: unknown) => void;
  ok = true;
  outcome: unknown = undefined;
  /** Called when a granted wake-up is refused (the task was cancelled before it resumed). */
  onRevoke: ((w: Waiter<V>) => void) | null = null;
  /** Cancelled after its wake-up was granted: `onRevoke` runs when the wait resumes. */
  revoked = false;
  /**
   * Cancelled after it was woken (granted or not): a later cancel's error replaces this one's,
   * as CPython's `cancel()` overwrites the message of a task whose awaited future is done.
   */
  cancelledWoken = false;
  /** The waiting call this wait is part of, when an async method made it (see `CallWaits`). */
  call: CallWaits | null = null;
  list: WaiterList | null = null;
  prev: Waiter<any> | null = null;
  next: Waiter<any> | null = null;
  private timer: Timer | null = null;
  private signal: AbortSignal | null = null;
  private onAbort: (() => void) | null = null;

  constructor(owner: object | null) {
    this.owner = owner;
    this.task = currentContext() as WaitingTask | null;
    // One shared executor instead of a closure per waiter (contended paths make one per wait).
    capturing = this;
    this.promise = untaggedPromise<V>(captureInto);
    capturing = null;
  }

  /**
   * @internal Whether the wait is over and nothing but its primitive can reach this object any
   * more, so that the primitive may `reuse` it for a later wait: it has resumed, no combinator
   * took it over and no later call displaced it (`detach` and `displace` clear `task`, and a
   * displaced waiter stays in the `displaced` map), no waiting call recorded it (`call`: a
   * `CallWaits` may cancel it later), and it was made in a task (its record there is cleared
   * when it resumes). Its timer and signal, if any, were let go when it resumed (`cleanup`).
   */
  reusable(): boolean {
    return this.state === DONE && this.task !== null && this.call === null;
  }

  /**
   * @internal Makes this finished wait (`reusable()`) a new pending wait of `task` on the same
   * primitive, with a fresh promise, as `new Waiter(owner)` would (see "Reuse" above).
   */
  reuse(task: WaitingTask | null, onRevoke: ((w: Waiter<V>) => void) | null): void {
    this.task = task;
    this.state = PENDING;
    this.revoked = false;
    this.cancelledWoken = false;
    this.ok = true;
    this.outcome = undefined;
    this.onRevoke = onRevoke;
    capturing = this;
    this.promise = untaggedPromise<V>(captureInto);
    capturing = null;
  }

  get pending(): boolean {
    return this.state === PENDING;
  }

  /**
   * The task does not wait on this after all: its promise went to a combinator (`gather`,
   * `shield`, `waitFor`), whose future the task awaits instead. The task's record of it goes, so
   * that a cancel of the task reaches that future; the wake-up begins no step of the task.
   */
  detach(): void {
    const t = this.task;
    if (t !== null && t._blocker === this) t._blocker = null;
    this.task = null;
  }

  /**
   * The task made another waiting call before awaiting this one (`gather(sleep(a), sleep(b))`):
   * it does not wait on this one directly. Its wake-up must begin no step of the task (the task
   * is blocked elsewhere: a step begun for it would hold up the ready queue until the
   * watchdog), and a combinator given its promise takes it over, as `detach` does for the last.
   * @internal Also when the task goes on to await a task instead (task.ts, `_fut`).
   */
  displace(): void {
    this.task = null;
    if (this.state === DONE) return;
    displaced.set(this.promise, this);
    const p = this.call?.promise;
    if (p != null) displaced.set(p, this);
  }

  /**
   * The caller is about to await `promise`: record the wait on the task and end its step. A
   * cancellation already requested for the task is delivered now.
   */
  block(): Promise<V> {
    const t = this.task;
    if (t !== null) {
      const prev = t._blocker;
      if (prev instanceof Waiter) prev.displace();
      else if (prev !== null) t._setAside();
      t._blocker = this;
      const pending = t._pendingCancel;
      if (pending !== null) {
        t._pendingCancel = null;
        this.cancel(pending);
      }
      stepEnded(t);
    }
    return this.promise;
  }

  /** Grants the wait: the caller's promise will resolve with `value`, in ready-queue order. */
  wake(value: V): boolean {
    if (this.state !== PENDING) return false;
    this.settle(true, value);
    return true;
  }

  /**
   * @internal Queues the resume of this woken, not yet resumed wait once more, for a gevent
   * switch that must run its task now: a kill (or a Timeout's expiry) reaching a greenlet that
   * an Event woke before the throw's turn came — gevent's notifier had not switched to it yet,
   * so the throw comes first. The resume queued before finds the wait over and does nothing,
   * so only a waiter its primitive never reuses may be given this.
   */
  resumeAgain(): void {
    if (this.state === SCHEDULED) callSoonResumeOf(this.task, resumeWaiter, this);
  }

  /** Ends the wait with an error (a broken barrier, a shut-down queue). */
  fail(error: unknown): boolean {
    if (this.state !== PENDING) return false;
    this.settle(false, error);
    return true;
  }

  /**
   * Ends the wait without a grant: a timeout or abort. Unlike `cancel` it does nothing to a
   * waiter already woken (the grant stands).
   */
  withdraw(ok: boolean, outcome: unknown): boolean {
    if (this.state !== PENDING) return false;
    // Nothing was granted, so a cancel that comes before the resume has nothing to give back.
    this.onRevoke = null;
    this.settle(ok, outcome);
    return true;
  }

  /**
   * Cancels the wait with `error`. A waiter already woken but not yet resumed gives its grant
   * back through `onRevoke` first. Returns false when the wait is over already.
   */
  cancel(error: unknown): boolean {
    if (this.state === DONE) return false;
    if (this.state === SCHEDULED) {
      if (this.ok) {
        // The grant goes back when this wait resumes (with the error), not now: CPython's
        // cancelled waiter passes its wake-up on in its own except clause, when its task runs.
        // Until then the primitive stays granted to it, so a newcomer queues behind, as there.
        this.ok = false;
        this.outcome = error;
        this.revoked = this.onRevoke !== null;
        this.cancelledWoken = true;
      } else if (
        this.cancelledWoken ||
        !(this.outcome instanceof CancelledError && error instanceof CancelledError)
      ) {
        // A wait that ended in failure (not a CancelledError) was over too: a cancel after
        // this one replaces it, as after a wake.
        if (!(this.outcome instanceof CancelledError)) this.cancelledWoken = true;
        // A second cancel before the resume keeps the first one's error (its message) when the
        // first one ended the wait, as in CPython, where the task's step raises the
        // CancelledError its awaited future got; when the wait had been woken already, the
        // task raises a CancelledError of its own there, with the last message given.
        this.outcome = error;
      }
      return true;
    }
    if (this.list?.keepsCancelled && this.onRevoke !== null) {
      // Keeps its place in the queue until it resumes, as CPython's cancelled future stays in
      // the waiters until its task runs (see `WaiterList.keepsCancelled`): `onRevoke` takes it
      // out then.
      this.state = SCHEDULED;
      this.ok = false;
      this.outcome = error;
      this.revoked = true;
      callSoonResumeOf(this.task, resumeWaiter, this);
      return true;
    }
    this.settle(false, error);
    return true;
  }

  /**
   * Ends the wait after `ms` with `onTimeout()` (which usually calls `withdraw`); an infinite
   * `ms` never ends it.
   */
  setTimeout(ms: number, onTimeout: (w: Waiter<V>) => void): void {
    // A wait already ended (a cancel pending on the task is raised by block()) arms nothing: its
    // timer would keep the process alive for `ms` with nothing to wake.
    if (this.state !== PENDING) return;
    this.timer = startTimer(ms, onTimeout, this);
  }

  /**
   * `setTimeout` as CPython's TimerHandle (`startTimerHandle`): after `ms`, `onTimeout(this, b)`
   * is queued on the ready queue rather than called from the timer.
   */
  setTimeoutHandle<B>(ms: number, onTimeout: (w: Waiter<V>, b: B) => void, b: B): void {
    if (this.state !== PENDING) return;
    this.timer = startTimerHandle(ms, onTimeout, this, b);
  }

  /** An aborted `signal` cancels the wait with `signal.reason`. */
  setSignal(signal: AbortSignal): void {
    this.signal = signal;
    this.onAbort = () => this.cancel(signal.reason);
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  private settle(ok: boolean, outcome: unknown): void {
    this.list?.remove(this);
    this.state = SCHEDULED;
    this.ok = ok;
    this.outcome = outcome;
    callSoonResumeOf(this.task, resumeWaiter, this);
  }

  cleanup(): void {
    if (this.timer !== null) {
      stopTimer(this.timer);
      this.timer = null;
    }
    if (this.onAbort !== null) {
      this.signal!.removeEventListener('abort', this.onAbort);
      this.onAbort = null;
      this.signal = null;
    }
  }
}

/** Waiters displaced from their task (see `displace`), by promise, for `takeDisplaced`. */
const displaced = new WeakMap<Promise<unknown>, Waiter<any>>();

/**
 * The displaced waiter whose promise `p` is, taken out of the map (a combinator now owns it:
 * ensure-future.ts), or null.
 */
export function takeDisplaced(p: object): Waiter<unknown> | null {
  const w = displaced.get(p as Promise<unknown>);
  if (w === undefined) return null;
  displaced.delete(p as Promise<unknown>);
  return w.state === DONE ? null : w;
}

/**
 * The waits of one waiting call made by an async method (`Queue.get`, `Condition.wait`), whose
 * promise is the method's, not a waiter's. `tieCall` ties that promise to this record, and each
 * wait to the record (`Waiter.call`), so that a combinator given the promise
 * (`gather(q.get(), t)`, `waitFor(cond.wait(), ms)`) can take the call over as it takes over a
 * waiter's own promise; its cancel then reaches whichever wait the call is in by then
 * (`Queue.get` waits again when its item went to another task first; a `Condition.wait`
 * re-acquires its lock). The tie runs from the wait to the promise, not back through a WeakMap:
 * a WeakMap entry per wait halved the rate of a Condition ping-pong.
 */
export class CallWaits {
  /** The call's current (latest) waiter. */
  w: Waiter<any> | null = null;
  /** The promise the call returned, once tied. */
  promise: Promise<unknown> | null = null;
  /** A cancel that came between two waits of the call: the next wait raises it. */
  private cancelWith: unknown = null;

  /**
   * `w` is the call's next wait: called once `w` is queued (before `w.block()`, or after it for a
   * first wait made inside another primitive's call, see `tieInnerWait`). A later
   * wait waits for the task the first waited for, or for none once a combinator took the call
   * over (`detach`) or a later call displaced it: the context current when the method goes on
   * is not evidence (it is still the task that made the call, which now awaits the combinator).
   */
  add(w: Waiter<any>): void {
    const prev = this.w;
    if (prev !== null) w.task = prev.task;
    w.call = this;
    this.w = w;
    const e = this.cancelWith;
    if (e !== null) {
      this.cancelWith = null;
      w.cancel(e);
    }
  }

  /**
   * Ends the call's current wait with `error`; if that wait has just ended (resumed, the method
   * not yet gone on), the method raises it where it goes on (`takeCancel`) or at its next wait.
   */
  cancel(error: unknown): void {
    if (this.w?.cancel(error)) return;
    this.cancelWith ??= error;
  }

  /**
   * A cancel that came after the call's last wait had resumed, before the method went on (a
   * taken-over call's wake-up begins no step, so other ready callbacks can run in between):
   * the method raises it there, as CPython raises it at the await of a task cancelled between
   * its wake-up and its step. Null when none came.
   */
  takeCancel(): unknown {
    const e = this.cancelWith;
    this.cancelWith = null;
    return e;
  }

  /**
   * Raises the cancel `takeCancel` finds, if one came, after `undo()` has given back what the
   * wait took (a hold its lock, a queue wait its wake-up): the method goes on only when none came.
   */
  raiseLate(undo?: () => void): void {
    const e = this.takeCancel();
    if (e === null) return;
    undo?.();
    throw e;
  }
}

/** Ties `p`, the promise a waiting call returned, to its waits (see `CallWaits`). */
export function tieCall<R>(p: Promise<R>, call: CallWaits): Promise<R> {
  call.promise = p;
  return p;
}

/**
 * Runs `start`, an async method that waits at most once, in another primitive's waiting call
 * (`Queue.join` waits on an Event, `Lock.hold` in `acquire`), and ties its promise to the wait
 * it made before returning, if it made one in the current task (see `CallWaits`). `start` gets
 * the call's record: once its wait has resumed it must raise a cancel that came too late to end
 * that wait (`call.takeCancel()`), undoing what the wait took (a hold gives its lock back).
 */
export function tieInnerWait<R>(start: (call: CallWaits) => Promise<R>): Promise<R> {
  const call = new CallWaits();
  const t = currentContext() as WaitingTask | null;
  if (t === null) return start(call);
  const before = t._blocker;
  const p = start(call);
  const w = t._blocker;
  if (w !== before && w instanceof Waiter && w.state === PENDING) {
    call.add(w);
    tieCall(p, call);
  }
  return p;
}

function resumeWaiter(w: Waiter<any>): void {
  if (w.state !== SCHEDULED) return;
  if (w.revoked) {
    // Before DONE: the primitive must not take this waiter for reuse while it hands on.
    w.revoked = false;
    const revoke = w.onRevoke as (w: Waiter<any>) => void;
    w.onRevoke = null;
    revoke(w);
  }
  w.state = DONE;
  w.cleanup();
  const t = w.task;
  if (t !== null) {
    if (t._blocker === w) t._blocker = null;
    if (!t.done()) beginStep(t);
  }
  if (w.ok) resolveUntagged(w.resolve, w.outcome);
  else w.reject(w.outcome);
}

/** Intrusive FIFO of pending waiters. */
export class WaiterList {
  head: Waiter<any> | null = null;
  tail: Waiter<any> | null = null;
  size = 0;
  /**
   * A waiter with an `onRevoke` cancelled while pending stays in the list, in its place, until it
   * resumes; its `onRevoke` must take it out then (lock.ts: a Lock released while its first
   * waiter is such a one wakes nobody, as CPython's). Off: a cancelled waiter leaves at once.
   */
  keepsCancelled = false;

  push(w: Waiter<any>): void {
    w.list = this;
    w.prev = this.tail;
    w.next = null;
    if (this.tail === null) this.head = w;
    else this.tail.next = w;
    this.tail = w;
    this.size++;
  }

  shift(): Waiter<any> | null {
    const w = this.head;
    if (w !== null) this.remove(w);
    return w;
  }

  remove(w: Waiter<any>): void {
    if (w.list !== this) return;
    if (w.prev === null) this.head = w.next;
    else w.prev.next = w.next;
    if (w.next === null) this.tail = w.prev;
    else w.next.prev = w.prev;
    w.prev = null;
    w.next = null;
    w.list = null;
    this.size--;
  }

  get empty(): boolean {
    return this.size === 0;
  }

  *[Symbol.iterator](): IterableIterator<Waiter<any>> {
    for (let w = this.head; w !== null; w = w.next) yield w;
  }
}

/** Validates the common `{ timeout, signal }` of a waiting call; returns the timeout or null. */
export function checkTimeout(timeout: unknown, what: string): number | null {
  if (timeout === undefined || timeout === null) return null;
  if (typeof timeout !== 'number' || Number.isNaN(timeout)) {
    throw new TypeError(
      `${what}: timeout must be a number of milliseconds: received ${String(timeout)}`,
    );
  }
  return timeout < 0 ? 0 : timeout;
}
