import { DeadlockError } from '../internal/errors.js';
import { readyCount } from '../internal/scheduler.js';
import { RuntimeError } from './errors.js';
import { EventLoop, setRunningLoop } from './event-loop.js';
import { gather } from './gather.js';
import { allTasks, createTask, currentTask, type Task, type TaskBody } from './task.js';

let active = false;

/**
 * How long `run()` waits for the default executor's calls when it ends (CPython's
 * `constants.THREAD_JOIN_TIMEOUT`, 300 s): past it, a warning, and `run()` resolves while they go
 * on — a call that never ends must not hold `run()` for ever.
 */
const THREAD_JOIN_TIMEOUT = 300_000;

/**
 * Runs `main` as the main task and resolves to its result (`asyncio.run`). When it is done,
 * every task still alive is cancelled and awaited, and the calls still running in the default
 * executor (`runInExecutor(null, …)`) are waited for, as in Python.
 *
 * **Deadlocks (weft's own):** if every task is blocked and nothing is left that could wake one
 * (no timer, socket, or other pending work in Node's loop) — where Python would hang for ever —
 * `run` rejects with a `DeadlockError` listing each task and what it waits for.
 *
 * @throws RuntimeError when called from inside a task or while another `run` is in progress.
 */
export async function run<T>(
  main: TaskBody<T>,
  options: { name?: string } = {},
): Promise<Awaited<T>> {
  if (currentTask() !== null)
    throw new RuntimeError(
      'run() cannot be called from a running event loop (inside a task): await the function instead',
      'ERR_WEFT_LOOP_RUNNING',
    );
  if (active)
    throw new RuntimeError(
      'run() is already running: only one run() at a time',
      'ERR_WEFT_LOOP_RUNNING',
    );
  // The task is made before run() marks itself running: a bad `main` or name must raise its
  // TypeError and leave the next run() free to start. It starts on the ready queue, after the
  // loop is in place.
  const task = createTask(main, options.name ? { name: options.name } : {});
  active = true;
  const loop = new EventLoop();
  loop._setRunByRun(true);
  const prevLoop = setRunningLoop(loop);
  let rejectDeadlock: (e: unknown) => void = () => {};
  const deadlock = new Promise<never>((_, reject) => {
    rejectDeadlock = reject;
  });
  const onBeforeExit = (): void => {
    // Node's loop has nothing left to do, yet the main task is not done: every task is blocked
    // on something only another task could do.
    if (task.done() || readyCount() > 0) return;
    const blocked = [...allTasks()] as Task<unknown>[];
    const lines = blocked.map((t) => `${t.describe()} waits for ${t.describeWait()}`);
    rejectDeadlock(
      new DeadlockError(
        `Deadlock: every task is blocked and nothing is left that could wake one: ${lines.join('; ')}`,
      ),
    );
  };
  process.on('beforeExit', onBeforeExit);
  try {
    return (await Promise.race([task as PromiseLike<Awaited<T>>, deadlock])) as Awaited<T>;
  } finally {
    process.off('beforeExit', onBeforeExit);
    await cancelAll(loop);
    await loop.shutdownDefaultExecutor({ timeout: THREAD_JOIN_TIMEOUT });
    loop._setRunByRun(false);
    loop.close();
    setRunningLoop(prevLoop);
    active = false;
  }
}

async function cancelAll(loop: EventLoop): Promise<void> {
  const left = [...allTasks()];
  if (left.length === 0) return;
  for (const t of left) t.cancel();
  await gather(...left, { returnExceptions: true });
  // The gather has retrieved their errors: one a task raised instead of ending cancelled (a
  // `finally` that throws) would vanish. Python reports it to the loop's exception handler.
  for (const t of left) {
    if (t.cancelled()) continue;
    const exception = t.exception();
    if (exception !== null)
      loop.callExceptionHandler({
        message: 'unhandled exception during run() shutdown',
        exception,
        task: t,
      });
  }
}
