import { CancelledError, describeValue } from '../internal/errors.js';
import { type Awaitable, ensureFuture } from './ensure-future.js';
import { createTask, currentTask, type Task } from './task.js';
import { type Timeout, timeout } from './timeout.js';

/**
 * Waits for `aw` for at most `ms` milliseconds (`asyncio.wait_for`); on timeout cancels it,
 * waits for it to finish cancelling, and raises TimeoutError. `ms` null waits without limit.
 *
 * **Cancellation:** cancelling the waiting task cancels `aw` too, waits for it to finish, and
 * raises the CancelledError, even if `aw` catches the cancellation and returns a value.
 */
export async function waitFor<T>(aw: Awaitable<T>, ms: number | null): Promise<T> {
  if (ms !== null && (typeof ms !== 'number' || Number.isNaN(ms))) {
    throw new TypeError(
      `waitFor() expects a number of milliseconds or null: received ${describeValue(ms)}`,
    );
  }
  const task = currentTask();
  if (task === null) {
    // The deadline cancels the task that waits, so the wait needs a task of its own.
    return createTask(() => waitFor(aw, ms)) as unknown as Promise<T>;
  }
  const fut = ensureFuture(aw);
  const base = task.cancelling();
  await using scope = timeout(ms === null ? null : Math.max(0, ms));
  const result = await fut;
  // A cancellation of the wait that `aw` caught and returned from (so `await` gave its value):
  // CPython's wait_for raises it all the same. Our own deadline is not one (a value that `aw`
  // returns on timeout is returned, as in CPython).
  if (task.cancelling() > base + (scope.expired() ? 1 : 0)) throw swallowedCancel(task, scope);
  return result;
}

/** The request `aw` swallowed, as weft raises it (a CancelledError, an enclosing scope's error). */
function swallowedCancel(task: Task<unknown>, scope: Timeout): Error {
  const c = task._cold as { deliveredCancel?: unknown; spent?: Error[] | null } | null;
  const own = scope._ownError();
  const d = c?.deliveredCancel;
  if (d instanceof Error && d !== own) return d;
  // Our deadline was the request delivered, and an enclosing scope's came too, held behind it
  // (Task._requestCancel): `aw` swallowed both, and CPython 3.11's wait_for lets the enclosing
  // one's CancelledError out, which that scope converts. Its own error stands for it here.
  const spent = c?.spent;
  if (spent != null)
    for (let i = spent.length - 1; i >= 0; i--) if (spent[i] !== own) return spent[i] as Error;
  return new CancelledError();
}
