import { currentTaskContext } from '../internal/pool/task-context.js';

const never = new AbortController().signal;

/**
 * Inside a call run by an executor: the AbortSignal that `future.cancel({ interrupt: true })`
 * aborts (with a CancelledError as its reason). An async call can listen to it; a synchronous
 * one can poll `taskSignal().aborted` (read afresh each time from shared memory, in threads).
 * Outside an executor's call: a signal that never aborts.
 */
export function taskSignal(): AbortSignal {
  return currentTaskContext()?.signal() ?? never;
}
