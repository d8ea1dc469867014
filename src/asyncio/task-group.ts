import { CancelledError, ExceptionGroup } from '../internal/errors.js';
import { RuntimeError } from './errors.js';
import { Future } from './future.js';
import { createTask, currentTask, type Task, type TaskBody, type TaskOptions } from './task.js';
import { _isTimeoutInScope } from './timeout.js';

/** The ExceptionGroups of groups that interrupted their task and have not been left yet. */
const interruptions = new WeakSet<ExceptionGroup>();

/**
 * Structured concurrency (`asyncio.TaskGroup`): tasks created in the group are awaited when the
 * group is left, and the first failure cancels the rest.
 *
 * ```ts
 * await using tg = new TaskGroup();
 * tg.createTask(fetchA);
 * tg.createTask(fetchB);
 * // leaving the block waits for both
 * ```
 *
 * When a child raises (anything but CancelledError), the group cancels its other children and
 * interrupts the task that entered it at its current weft await; leaving the group then raises
 * an `ExceptionGroup` of every child error, in the order they happened. weft delivers that
 * `ExceptionGroup` at the interrupted await itself (CPython delivers CancelledError there and
 * swaps it on exit; JavaScript's `using` cannot swap the error leaving a block), so the error
 * that leaves the block is the group, not a SuppressedError.
 *
 * A block interrupted while it waits on something weft does not know (a native promise of `fs`
 * or `fetch`) gets the group at its next weft await; if it ends before reaching one, leaving the
 * group raises it.
 *
 * JavaScript does not tell a disposer how its block ended, so with `await using`: an error
 * thrown by the block's own code does not cancel the children (they are awaited), and a group
 * delivered at one of the block's awaits is taken to be the error leaving it (a block that
 * catches it and carries on, or throws something else instead, loses it). `TaskGroup.run(fn)`
 * has CPython's full semantics: an error in `fn` cancels the children and is raised with
 * theirs, and a body that catches the interruption and returns still leaves with the group.
 *
 * **Cancellation:** cancelling the task that entered the group cancels every child; leaving the
 * group waits for them and raises the CancelledError (or the group, if children failed).
 */
export class TaskGroup implements AsyncDisposable {
  private readonly parent: Task<unknown>;
  private readonly tasks = new Set<Task<unknown>>();
  private readonly errors: unknown[] = [];
  private group: ExceptionGroup | null = null;
  private aborting = false;
  private exiting = false;
  private exited = false;
  /** The group asked for the parent's cancellation (CPython's `_parent_cancel_requested`). */
  private parentCancelRequested = false;
  private readonly baseCancelling: number;
  private exitWaiter: Future<void> | null = null;
  /**
   * `exit` is told the block's real error (`TaskGroup.run`), not one `[Symbol.asyncDispose]`
   * infers: only then is a CancelledError from the block known to be a plain cancel's.
   */
  private realError = false;

  constructor() {
    const parent = currentTask();
    if (parent === null)
      throw new RuntimeError('TaskGroup must be entered inside a task', 'ERR_WEFT_NO_TASK');
    this.parent = parent;
    this.baseCancelling = parent.cancelling();
  }

  /**
   * Runs `body` in a new group with CPython's semantics: an error thrown by `body` cancels the
   * children and joins their errors in the ExceptionGroup; a body that catches the interruption
   * and returns still leaves with the group.
   */
  static async run<R>(body: (tg: TaskGroup) => R | PromiseLike<R>): Promise<R> {
    const tg = new TaskGroup();
    tg.realError = true;
    let result: R;
    try {
      result = await body(tg);
    } catch (e) {
      await tg.exit(true, e);
      throw e;
    }
    await tg.exit(false, undefined);
    return result;
  }

  /** Creates a task in the group. @throws RuntimeError once the group is finished or failing. */
  createTask<T>(body: TaskBody<T>, options?: TaskOptions): Task<Awaited<T>> {
    if (this.exited)
      throw new RuntimeError(
        'TaskGroup is finished: no task can be added',
        'ERR_WEFT_TASKGROUP_FINISHED',
      );
    if (this.aborting)
      throw new RuntimeError(
        'TaskGroup is shutting down: no task can be added',
        'ERR_WEFT_TASKGROUP_ABORTING',
      );
    const t = createTask(body, options);
    this.tasks.add(t as Task<unknown>);
    t.addDoneCallback((f) => this.onTaskDone(f as Task<unknown>));
    return t;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    // The disposer is not told how the block ended, so it infers it. A group raised at one of
    // the block's awaits is taken to be the error leaving the block: raising it again here
    // would wrap it in a SuppressedError.
    if (this.parentCancelRequested && !this.groupUndelivered()) {
      await this.exit(true, this.group);
      return;
    }
    // A cancellation of the parent that is not ours means the block was cancelled.
    const cancelledFromOutside =
      this.parent.cancelling() > this.baseCancelling + (this.parentCancelRequested ? 1 : 0);
    if (cancelledFromOutside) await this.exit(true, new CancelledError());
    else await this.exit(false, undefined);
  }

  /** The group's interruption of the parent is still waiting for the parent's next weft await. */
  private groupUndelivered(): boolean {
    const g = this.group;
    // Pending, or held behind a later request (Task._requestCancel), or on its way to a future.
    return g !== null && this.parent._cancelUndelivered(g);
  }

  /**
   * CPython's `TaskGroup.__aexit__`. `threw` and `error` say how the block ended. Returning
   * lets the block's own error (if any) leave; throwing replaces it. The group raised at an
   * interrupted await stands where CPython has the CancelledError of its own cancel request.
   */
  private async exit(threw: boolean, error: unknown): Promise<void> {
    this.exiting = true;
    const interrupted = threw && this.group !== null && error === this.group;
    // What CPython has as a CancelledError here: ours, or one of a request from an enclosing
    // scope, which weft raises as that scope's own error (an expired timeout's TimeoutError, an
    // outer group's ExceptionGroup). It goes on to its scope; it is not one of our errors.
    const cancelLike =
      threw &&
      !interrupted &&
      (error instanceof CancelledError ||
        _isTimeoutInScope(error) ||
        (error instanceof ExceptionGroup && interruptions.has(error)));
    let propagateCancel: unknown = interrupted || cancelLike ? error : NO_ERROR;
    if (threw && !this.aborting) this.abort();
    // A cancellation from outside that arrives while the children are being cancelled, when
    // the group has errors to raise: the parent is cancelled again with it below.
    let swallowed: Error | null = null;
    // Whether a plain cancel came, there or at the block itself: then the scope's error must not
    // be requested again for it (CPython's scope converts only when no other request is counted).
    // (The block's CancelledError is a plain cancel's only if one is counted: awaiting a task
    // that someone else cancelled raises one too, with no request on this task.)
    let swallowedPlain =
      threw &&
      this.realError &&
      error instanceof CancelledError &&
      this.parent.cancelling() > this.baseCancelling + (this.parentCancelRequested ? 1 : 0);
    while (this.tasks.size > 0) {
      this.exitWaiter = new Future<void>();
      try {
        await this.exitWaiter;
      } catch (e) {
        // Only a cancellation rejects this future: the parent's own (a CancelledError, or a
        // timeout scope's TimeoutError) or the group's request, delivered here.
        if (this.group === null || e !== this.group) {
          if (!this.aborting) {
            propagateCancel = e;
            this.abort();
          } else if (e instanceof Error) {
            swallowed = e;
            if (e instanceof CancelledError) swallowedPlain = true;
          }
        }
      }
      this.exitWaiter = null;
    }
    this.exited = true;
    if (this.group !== null) interruptions.delete(this.group);
    const parent = this.parent;
    if (this.parentCancelRequested) {
      // A request the block never reached a weft await to receive is dropped, as CPython's
      // uncancel() drops a pending cancel once the count is back to zero.
      const g = this.group;
      let left: number;
      if (g !== null && this.groupUndelivered()) {
        if (parent._cancelReason === g) parent._cancelReason = null;
        // Dropped wherever it waits (setting _pendingCancel to null would mark it raised).
        left = parent._takeBackCancel(g);
      } else left = parent._uncancel(false); // the group's request, not a plain cancel
      if (left === 0) propagateCancel = NO_ERROR;
    }
    if (propagateCancel !== NO_ERROR && this.errors.length === 0) {
      if (threw && propagateCancel === error) return;
      throw propagateCancel;
    }
    if (threw && !interrupted && !cancelLike) this.record(error);
    const group = this.group;
    if (group === null) return;
    if (parent.cancelling() > 0) {
      // Cancelled from outside too: the group wins now, and the parent is cancelled again so
      // that the outside request is delivered at its next await (the count stays as it was).
      // CPython re-cancels with no message, so the cancel the exit received is not raised
      // again with its message; an expired timeout() scope's error is, for the scope to know it
      // as its own, unless a plain cancel came too (CPython's scope then lets the
      // CancelledError out), and a request not yet delivered is kept.
      const again =
        swallowed !== null && !(swallowed instanceof CancelledError) && !swallowedPlain
          ? swallowed
          : (parent._pendingCancel ?? new CancelledError());
      // The request taken back and made again is the same kind (plain, or a scope's).
      parent._uncancel(again.constructor === CancelledError);
      parent._requestCancel(again);
    }
    group.message = groupMessage(this.errors.length);
    if (interrupted) return;
    throw group;
  }

  private record(error: unknown): void {
    if (this.group === null) {
      this.group = new ExceptionGroup(groupMessage(1), [error]);
      this.errors.push(error);
    } else {
      this.errors.push(error);
      this.group.errors.push(error);
      this.group.message = groupMessage(this.errors.length);
    }
  }

  private abort(): void {
    this.aborting = true;
    for (const t of this.tasks) if (!t.done()) t.cancel();
  }

  private onTaskDone(t: Task<unknown>): void {
    this.tasks.delete(t);
    if (this.tasks.size === 0 && this.exitWaiter !== null && !this.exitWaiter.done())
      this.exitWaiter.setResult(undefined);
    // `_hasException`, not `exception() === null`: a child may throw `null`.
    if (t.cancelled() || !t._hasException) return;
    this.record(t.exception());
    if (!this.aborting) {
      this.abort();
      if (!this.exiting) {
        if (!this.parent.done()) {
          // Interrupt the block: the group is raised at the parent's current await.
          this.parentCancelRequested = true;
          interruptions.add(this.group as ExceptionGroup);
          this.parent._requestCancel(this.group as ExceptionGroup);
        }
      } else {
        // The exit waits for the children: wake it now, as CPython's cancel of the parent does
        // there (its exit takes it back at the end). It looks at the children left in the next
        // iteration, and waits again if some are not done: a sibling whose done-callback runs
        // before then is not waited for one iteration more.
        const w = this.exitWaiter;
        if (w !== null && !w.done()) w.setResult(undefined);
      }
    }
  }
}

/** No error to propagate (an error may be any value, `undefined` and `null` among them). */
const NO_ERROR: unique symbol = Symbol('no error');

function groupMessage(n: number): string {
  return `unhandled errors in a TaskGroup (${n} sub-exception${n === 1 ? '' : 's'})`;
}
