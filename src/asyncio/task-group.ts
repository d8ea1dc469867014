import { CancelledError, ExceptionGroup } from '../internal/errors.js';
import { RuntimeError } from './errors.js';
import { Future } from './future.js';
import { createTask, currentTask, type Task, type TaskBody, type TaskOptions } from './task.js';

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
 * JavaScript does not tell a disposer that its block threw: with `await using`, an error thrown
 * by the block's own code does not cancel the children (they are awaited). `TaskGroup.run(fn)`
 * has CPython's full semantics — an error in `fn` cancels the children and is raised with theirs.
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
  private deliveredToParent = false;
  private readonly baseCancelling: number;
  private exitWaiter: Future<void> | null = null;

  constructor() {
    const parent = currentTask();
    if (parent === null)
      throw new RuntimeError('TaskGroup must be entered inside a task', 'ERR_WEFT_NO_TASK');
    this.parent = parent;
    this.baseCancelling = parent.cancelling();
  }

  /**
   * Runs `body` in a new group with CPython's semantics: an error thrown by `body` cancels the
   * children and joins their errors in the ExceptionGroup.
   */
  static async run<R>(body: (tg: TaskGroup) => R | PromiseLike<R>): Promise<R> {
    const tg = new TaskGroup();
    let result: R;
    try {
      result = await body(tg);
    } catch (e) {
      await tg.exit(e);
      throw e;
    }
    await tg.exit(null);
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
    // A cancellation of the parent that is not ours means the block was cancelled.
    const cancelledFromOutside =
      this.parent.cancelling() > this.baseCancelling + (this.deliveredToParent ? 1 : 0);
    await this.exit(cancelledFromOutside ? new CancelledError() : null);
  }

  private async exit(bodyError: unknown): Promise<void> {
    this.exiting = true;
    let propagateCancel: unknown = null;
    if (bodyError !== null && !this.aborting) {
      if (!(bodyError instanceof CancelledError) && !this.deliveredToParent) this.record(bodyError);
      this.abort();
    }
    // A cancellation that interrupted the block is already the error leaving it: only one
    // that arrives while we wait for the children is raised from here.
    while (this.tasks.size > 0) {
      this.exitWaiter = new Future<void>();
      try {
        await this.exitWaiter;
      } catch (e) {
        if (!(e instanceof CancelledError) && e !== this.group) throw e;
        if (e instanceof CancelledError) propagateCancel = e;
        if (!this.aborting) this.abort();
      }
      this.exitWaiter = null;
    }
    this.exited = true;
    if (this.deliveredToParent) {
      this.parent.uncancel();
      const undelivered =
        this.parent._pendingCancel === this.group || this.parent._cancelReason === this.group;
      if (this.parent._pendingCancel === this.group) this.parent._pendingCancel = null;
      if (this.parent._cancelReason === this.group) this.parent._cancelReason = null;
      // Delivered: the group is already the error leaving the block; raising it again here
      // would wrap it in a SuppressedError.
      if (!undelivered && bodyError === null) return;
    }
    if (this.errors.length > 0 && this.group !== null) {
      this.group.message = groupMessage(this.errors.length);
      throw this.group;
    }
    if (propagateCancel !== null) throw propagateCancel;
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
    if (t.cancelled()) return;
    const exc = t.exception();
    if (exc === null) return;
    this.record(exc);
    if (!this.aborting) {
      this.abort();
      if (!this.exiting && !this.parent.done()) {
        // Interrupt the block: the group is raised at the parent's current await.
        this.deliveredToParent = true;
        this.parent._requestCancel(this.group as ExceptionGroup);
      }
    }
  }
}

function groupMessage(n: number): string {
  return `unhandled errors in a TaskGroup (${n} sub-exception${n === 1 ? '' : 's'})`;
}
