import { describeValue } from '../internal/errors.js';
import { type Awaitable, ensureFuture } from './ensure-future.js';
import { createTask, currentTask } from './task.js';
import { timeout } from './timeout.js';

/**
 * Waits for `aw` for at most `ms` milliseconds (`asyncio.wait_for`); on timeout cancels it,
 * waits for it to finish cancelling, and raises TimeoutError. `ms` null waits without limit.
 *
 * **Cancellation:** cancelling the waiting task cancels `aw` too.
 */
export async function waitFor<T>(aw: Awaitable<T>, ms: number | null): Promise<T> {
  if (ms !== null && (typeof ms !== 'number' || Number.isNaN(ms))) {
    throw new TypeError(
      `waitFor() expects a number of milliseconds or null: received ${describeValue(ms)}`,
    );
  }
  if (currentTask() === null) {
    // The deadline cancels the task that waits, so the wait needs a task of its own.
    return createTask(() => waitFor(aw, ms)) as unknown as Promise<T>;
  }
  const fut = ensureFuture(aw);
  await using _ = timeout(ms === null ? null : Math.max(0, ms));
  return await fut;
}
