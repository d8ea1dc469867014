import { checkCanStart, Runner, type RunnerRunOptions } from './runner.js';
import type { TaskBody } from './task.js';

/**
 * Runs `main` as the main task and resolves to its result (`asyncio.run`). When it is done,
 * every task made while it ran and still alive is cancelled and awaited (one made before, outside
 * every `run()`, is not its own), and the calls still running in the default executor
 * (`runInExecutor(null, …)`) are waited for, as in Python. As CPython 3.11's `asyncio.run`, it
 * is a `Runner` (src/asyncio/runner.ts) used once; but where CPython's loop stands still between
 * the main task's end and the runner's close, Node's runs on, so `run()` cancels the tasks left
 * at the stop point itself, before any of them runs again.
 *
 * **Ctrl-C (SIGINT), as Python's:** while `run` waits for the main task in the main thread, if
 * nothing listened for SIGINT when it started, the first SIGINT cancels the main task (its
 * `finally` blocks run); once it has ended cancelled by that request, and the tasks left have
 * been cancelled and have ended, `run` rejects with `KeyboardInterrupt`. A second SIGINT rejects
 * it at once (after the tasks, the main task among them, have been cancelled again and have
 * ended). Uncaught, a `KeyboardInterrupt` ends the process by SIGINT, as Python's. See
 * src/asyncio/keyboard-interrupt.ts.
 *
 * **Deadlocks (weft's own):** if every task is blocked and nothing is left that could wake one
 * (no timer, socket, or other pending work in Node's loop) — where Python would hang for ever —
 * `run` rejects with a `DeadlockError` listing each task and what it waits for; so it does when a
 * task left goes on waiting once cancelled and nothing could wake it.
 *
 * @throws KeyboardInterrupt after Ctrl-C (see above).
 * @throws RuntimeError when called from inside a task, a loop's callback, while a loop's
 * `runUntilComplete`/`runForever`, another `run`, or a `Runner`'s `run`/`close` is in progress;
 * and, once the tasks left have ended, when `getRunningLoop().stop()` stopped the loop before
 * the main task was done (`ERR_WEFT_LOOP_STOPPED`, "Event loop stopped before Future
 * completed", as in Python).
 */
export async function run<T>(
  main: TaskBody<T>,
  options: RunnerRunOptions = {},
): Promise<Awaited<T>> {
  checkCanStart('run()');
  return new Runner()._runOnce(main, options);
}
