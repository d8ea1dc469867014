import { claimDryLoop } from '../internal/dry-loop.js';
import { DeadlockError } from '../internal/errors.js';
import { atIterationEnd, readyCount } from '../internal/scheduler.js';
import { RuntimeError } from './errors.js';
import { EventLoop, installedRunningLoop, setRunningLoop } from './event-loop.js';
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
 * every task made while it ran and still alive is cancelled and awaited (one made before, outside
 * every `run()`, is not its own), and the calls still running in the default executor
 * (`runInExecutor(null, …)`) are waited for, as in Python.
 *
 * **Deadlocks (weft's own):** if every task is blocked and nothing is left that could wake one
 * (no timer, socket, or other pending work in Node's loop) — where Python would hang for ever —
 * `run` rejects with a `DeadlockError` listing each task and what it waits for; so it does when a
 * task left goes on waiting once cancelled and nothing could wake it.
 *
 * @throws RuntimeError when called from inside a task, a loop's callback, while a loop's
 * `runUntilComplete`/`runForever` or another `run` is in progress; and, once the tasks left have
 * ended, when `getRunningLoop().stop()` stopped the loop before the main task was done
 * (`ERR_WEFT_LOOP_STOPPED`, "Event loop stopped before Future completed", as in Python).
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
  // A callback of a running loop, or code running while a loop's runUntilComplete/runForever is
  // in progress: one loop runs at a time in a thread, as Python's asyncio.run() refuses too.
  if (installedRunningLoop() !== null)
    throw new RuntimeError(
      'run() cannot be called from a running event loop (a loop callback, or while runUntilComplete() or runForever() is in progress): schedule the work on that loop instead',
      'ERR_WEFT_LOOP_RUNNING',
    );
  // Tasks alive before: made outside every run(), they are not this run's to cancel at its end
  // (Python's asyncio.run cancels the tasks of its own loop only).
  const before = new WeakSet<Task<unknown>>(allTasks());
  // The task is made before run() marks itself running: a bad `main` or name must raise its
  // TypeError and leave the next run() free to start. It starts on the ready queue, after the
  // loop is in place.
  const task = createTask(main, options.name ? { name: options.name } : {});
  // CPython stops its loop once the main task is done: at the end of the loop iteration that
  // runs the main task's done-callback, so what was ready then still runs, what it queues does
  // not, and the tasks left are cancelled before any of them runs again. weft cancels them at
  // the same place in its ready queue (atIterationEnd), and run()'s own await, which may come
  // back before that iteration has ended, waits for it. Once run() is ending without it (the
  // main task deadlocked: run() cancels everything itself), the callback does nothing, so a
  // task is cancelled once.
  let ending = false;
  /** The tasks left, cancelled where the loop would stop; null until then. */
  let cancelledEarly: Set<Task<unknown>> | null = null;
  /** Settles when they have been: run()'s end waits for it. */
  let stopped: Promise<void> | null = null;
  /** The first error a task's cancel() threw there, raised by run() once the others ended. */
  let cancelFailed: CancelFailed | null = null;
  /** The done-callback has run: run()'s own await may find the task done before it does. */
  let calledBack!: () => void;
  const callbackRan = new Promise<void>((resolve) => {
    calledBack = resolve;
  });
  /** The loop stops here: the tasks left are cancelled (the main task too, if not done). */
  const stopHere = (): void => {
    const early = new Set<Task<unknown>>(tasksLeft(before));
    for (const t of early) cancelFailed = tryCancel(t, cancelFailed);
    cancelledEarly = early;
  };
  task.addDoneCallback(() => {
    calledBack();
    // A loop.stop() has stopped the loop already (in the iteration the task ended in).
    if (ending || stopped !== null) return;
    stopped = new Promise<void>((resolve) => {
      atIterationEnd(() => {
        resolve();
        if (!ending) stopHere();
      });
    });
  });
  active = true;
  const loop = new EventLoop();
  const prevLoop = setRunningLoop(loop);
  // `loop.stop()` while run() waits for the main task: CPython's loop stops at the end of the
  // iteration, and asyncio.run raises "Event loop stopped before Future completed" once the
  // tasks left (the main task among them) are cancelled and have ended. A `runForever()` started
  // in that iteration takes the stop instead (weft's own: runForever inside run()).
  let stopArmed = false;
  let stopEarly!: () => void;
  const stoppedEarly = new Promise<typeof STOPPED>((resolve) => {
    stopEarly = () => resolve(STOPPED);
  });
  loop._onStop = () => {
    if (stopArmed || ending || stopped !== null) return;
    stopArmed = true;
    atIterationEnd(() => {
      stopArmed = false;
      if (ending || stopped !== null || !loop._takeStop()) return;
      stopped = Promise.resolve();
      if (!task.done()) stopEarly();
      stopHere();
    });
  };
  // Armed while run() waits: for the main task, then for the tasks left as they are cancelled.
  let onDeadlock: ((lines: string) => void) | null = null;
  const untilDeadlock = (what: string): Promise<never> =>
    new Promise<never>((_, reject) => {
      onDeadlock = (lines) => {
        onDeadlock = null;
        // What the main task threw, if it did: a deadlock found afterwards (while cancelling the
        // tasks left) must not hide it — it is named in the report and is its `cause`.
        const failed = task.done() && !task.cancelled() ? task.exception() : null;
        const first =
          failed !== null
            ? ` (the main task had failed first: ${describeThrown(failed)}, the cause)`
            : '';
        reject(
          new DeadlockError(
            `${what}: every task is blocked and nothing is left that could wake one: ${lines}${first}`,
            [],
            failed !== null ? { cause: failed } : undefined,
          ),
        );
      };
    });
  const onBeforeExit = (): void => {
    // Node's loop has nothing left to do, yet what run() waits for is not done: every task is
    // blocked on something only another task could do.
    if (onDeadlock === null || readyCount() > 0) return;
    const blocked = [...allTasks()] as Task<unknown>[];
    onDeadlock(blocked.map((t) => `${t.describe()} waits for ${t.describeWait()}`).join('; '));
    // Node emits beforeExit again only if the loop has work after this handler, and the report
    // queues microtasks only: a main task that, once cancelled, waits for ever again would
    // leave run() unsettled and the process gone. One more turn lets the next check come.
    setImmediate(noop);
  };
  process.on('beforeExit', onBeforeExit);
  const releaseDry = claimDryLoop();
  try {
    const mainDeadlock = untilDeadlock('Deadlock');
    const result = await Promise.race([
      task as PromiseLike<Awaited<T>>,
      mainDeadlock,
      stoppedEarly,
    ]);
    if (result === STOPPED)
      throw new RuntimeError(
        'Event loop stopped before Future completed: loop.stop() was called before the main task of run() was done',
        'ERR_WEFT_LOOP_STOPPED',
      );
    return result as Awaited<T>;
  } finally {
    // The iteration in which the main task ended runs to its end first (see `stopped`). The
    // await of a task done already settles at once, while its done-callback may wait for the
    // next turn (the turn's budget was spent): then for that callback first.
    if (stopped === null && task.done()) await callbackRan;
    if (stopped !== null) await stopped;
    ending = true;
    try {
      // A task left that goes on waiting once cancelled (it catches the CancelledError and
      // waits for something nobody will do) would hold run() for ever, as in Python: reported.
      await Promise.race([
        cancelAll(loop, before, cancelledEarly, cancelFailed),
        untilDeadlock('Deadlock while run() cancelled the tasks left'),
      ]);
      await loop.shutdownDefaultExecutor({ timeout: THREAD_JOIN_TIMEOUT });
    } finally {
      onDeadlock = null;
      loop._onStop = null;
      process.off('beforeExit', onBeforeExit);
      releaseDry();
      setRunningLoop(prevLoop);
      loop.close();
      active = false;
    }
  }
}

function noop(): void {}

/** What run()'s wait answers when a `loop.stop()` stopped the loop before the main task ended. */
const STOPPED: unique symbol = Symbol('stopped');

/** The tasks whose cancel() threw at run()'s end (not waited for), and the first error. */
interface CancelFailed {
  error: unknown;
  tasks: Set<Task<unknown>>;
}

/** Cancels `t`; a cancel() that throws (a future of the user's it awaits) is noted, not raised. */
function tryCancel(t: Task<unknown>, failed: CancelFailed | null): CancelFailed | null {
  try {
    t.cancel();
  } catch (e) {
    failed ??= { error: e, tasks: new Set() };
    failed.tasks.add(t);
  }
  return failed;
}

/** The tasks alive now that were not in `before`: this run's own. */
function tasksLeft(before: WeakSet<Task<unknown>>): Task<unknown>[] {
  return [...allTasks()].filter((t) => !before.has(t));
}

/**
 * Waits for the tasks left to end, and reports their errors. `early`: the ones cancelled where
 * the loop stopped (the main task's end); null when it never ended (a deadlock), and then the
 * tasks alive now are cancelled here. Each task is cancelled once. A task whose `cancel()`
 * throws (a future of the user's it awaits) is not waited for (it may wait for ever); run()
 * raises the first such error once the others have ended. Tasks made meanwhile (a cancelled
 * task's handler, a callback queued before the stop) run while the others end, as during
 * CPython's `_cancel_all_tasks`; those still alive then are cancelled and not waited for (their
 * handlers run after run() resolved; CPython never resumes them, it destroys them pending).
 */
async function cancelAll(
  loop: EventLoop,
  before: WeakSet<Task<unknown>>,
  early: Set<Task<unknown>> | null,
  failed: CancelFailed | null,
): Promise<void> {
  const met = early ?? new Set<Task<unknown>>(tasksLeft(before));
  if (early === null) for (const t of met) failed = tryCancel(t, failed);
  const refused = failed?.tasks;
  const left = refused === undefined ? [...met] : [...met].filter((t) => !refused.has(t));
  if (left.length > 0) await gather(...left, { returnExceptions: true });
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
  for (const t of tasksLeft(before)) if (!met.has(t)) failed = tryCancel(t, failed);
  if (failed !== null) throw failed.error;
}

/** "Error: boom" for the deadlock report; never throws (any value may be thrown). */
function describeThrown(e: unknown): string {
  try {
    return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  } catch {
    return 'a value that cannot be shown';
  }
}
