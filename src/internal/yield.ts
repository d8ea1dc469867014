/**
 * `sleep(0)` inside a task: a yield to every task already ready, without the general `Waiter`.
 *
 * Implementation notes
 * --------------------
 * `sleep(0)` is how a task lets the others run (CPython's bare `yield` in `__sleep0`); loops
 * that hold a lock across it do one per iteration, so it is a hot path. A `Waiter` carries what
 * a yield never needs — a list link, a timer, a signal, a revoke hook, an owner — and is garbage
 * after one use. A task instead owns one `TaskYield`, made at its first `sleep(0)` and reused by
 * every later one; a yield then costs one native promise (the caller must await a fresh one: a
 * thenable would cost extra microtask ticks) and one ready-queue entry.
 *
 *   sleep(0) ──► active = true, promise made ──► callSoon(resumeYield) ──► the task's step ends
 *                  │                                  │
 *                  │ task.cancel(): ok = false,       └─ ready queue reaches it: active = false,
 *                  │ outcome = the CancelledError        beginStep(task), settle the promise
 *
 * The semantics are a `Waiter` woken at once: the resume waits its turn in the ready queue (so
 * every task ready before it runs one step first), a cancellation before the resume makes the
 * promise reject with the error (nothing was granted, so nothing is passed on), and a
 * cancellation requested while the task ran is delivered here, through the same queue.
 *
 * With nothing ready (the queue empty, no other step in flight, the turn's budget not spent)
 * the resume would run at once, inside `sleep(0)` itself: a lone task yielding, or a lock holder
 * whose rival is blocked on the lock. Then no promise is made at all: the task's step goes on
 * and `sleep(0)` returns a promise already resolved (`yieldInPlace` in scheduler.ts). Same
 * order, half the cost (118 → 60 ns a yield in a micro-run here).
 *
 * A task has one yield in flight at a time; a second `sleep(0)` before the first one resumed
 * (only possible without awaiting it) takes the general `Waiter` path.
 *
 * A gevent kill reaching a greenlet in `sleep(0)` is a switch (scheduler.ts): the greenlet gets
 * the error next, not at the yield's place in the queue. The yield then queues a second resume,
 * at the head, and its first one does nothing when its turn comes (`stale`).
 */

import { capture, captured } from './capture.js';
import { resolveUntagged, untaggedPromise } from './context.js';
import {
  beginStep,
  callSoonResume,
  endStepWithResume,
  switchThrowsInto,
  yieldInPlace,
} from './scheduler.js';
import type { WaitingTask } from './waiter.js';

function noop(): void {}

/** What a yield taken in place returns: an await of it costs one microtask tick. */
const DONE: Promise<undefined> = Promise.resolve(undefined);

export class TaskYield {
  /** True from `sleep(0)` until the ready queue resumes the task. */
  active = false;
  /**
   * The yield's promise went to a combinator (`gather(sleep(0), fn)`), whose future the task
   * awaits instead: a cancel of the task goes to that future, and the resume begins no step.
   */
  detached = false;
  /** The promise of the yield in flight (null when none is, or it was taken in place). */
  promise: Promise<unknown> | null = null;
  ok = true;
  outcome: unknown = undefined;
  private resolve: (value: any) => void = noop;
  private reject: (error: unknown) => void = noop;

  constructor(readonly task: WaitingTask) {}

  /** Starts a yield of the task (which is running now); the promise resolves to `value`. */
  start<V>(value: V): Promise<V> {
    const t = this.task;
    // Nothing ready and no cancel to deliver: the resume would run at once anyway (see
    // `yieldInPlace`); skip making and settling a promise of our own.
    if (value === undefined && t._pendingCancel === null && yieldInPlace(t)) {
      return DONE as Promise<V>;
    }
    const p = untaggedPromise<V>(capture);
    this.resolve = captured.resolve;
    this.reject = captured.reject;
    this.active = true;
    this.promise = p;
    const pending = t._pendingCancel;
    if (pending === null) {
      this.ok = true;
      this.outcome = value;
    } else {
      // A cancel requested while the task ran is delivered at this suspension.
      t._pendingCancel = null;
      this.ok = false;
      this.outcome = pending;
    }
    endStepWithResume(t, resumeYield, this);
    return p;
  }

  /** The task waits on this yield: one is in flight, and no combinator took it over. */
  waited(): boolean {
    return this.active && !this.detached;
  }

  /**
   * Entries of this yield left behind in the ready queue by a move to its head (`cancel`): each
   * does nothing when its turn comes. Older than any later yield's entry, so they come first.
   */
  private stale = 0;
  /** A resume of this yield waits at the head of the queue (see `cancel`). */
  private moved = false;

  /**
   * The task is cancelled while its yield waits in the ready queue: it resumes with `error`,
   * in its place in the queue (CPython's order) — or next, inside a switch that throws into
   * this task (scheduler.ts): a kill, a Timeout's expiry, gevent's throw into the greenlet,
   * which runs it at once. A cancel made by a link callback during a notifier pass is no such
   * throw: it keeps CPython's order, as from any other callback.
   */
  cancel(error: unknown): void {
    this.ok = false;
    this.outcome = error;
    if (switchThrowsInto(this.task) && !this.moved) {
      this.moved = true;
      this.stale++;
      callSoonResume(resumeMovedYield, this);
    }
  }

  /** @internal A queued entry of this yield has its turn: false for one left behind by a move. */
  _takeTurn(moved: boolean): boolean {
    if (moved) return this.moved;
    if (this.stale > 0) {
      this.stale--;
      return false;
    }
    return true;
  }

  /** Its turn in the ready queue: the task's step begins and its `sleep(0)` settles. */
  resume(): void {
    const resolve = this.resolve;
    const reject = this.reject;
    const outcome = this.outcome;
    const detached = this.detached;
    this.active = false;
    this.detached = false;
    this.moved = false;
    this.promise = null;
    this.outcome = undefined;
    this.resolve = noop;
    this.reject = noop;
    // A yield not awaited by a task that has ended since begins no step (see WaitingTask.done),
    // nor one a combinator took over: the task waits on the combinator's future.
    if (!detached && !this.task.done()) beginStep(this.task);
    if (this.ok) resolveUntagged(resolve, outcome);
    else reject(outcome);
  }
}

function resumeYield(y: TaskYield): void {
  if (y._takeTurn(false)) y.resume();
}

function resumeMovedYield(y: TaskYield): void {
  if (y._takeTurn(true)) y.resume();
}
