/**
 * `asyncio.Runner`, and the engine of `run()` (CPython 3.11's `asyncio.run` is a Runner too).
 *
 * Implementation notes. A runner owns one `EventLoop` facade, made on first use. Each `run()`
 * installs it as the running loop, creates the main task and waits for it as CPython's
 * `run_until_complete` does: the call returns at the end of the loop iteration that ran the main
 * task's done-callback (`atIterationEnd`), where CPython's loop stops. `close()` installs the
 * loop again, cancels the tasks left and waits for them, shuts the default executor down and
 * closes the loop. While either waits, Node's 'beforeExit' is watched: when nothing is left that
 * could wake a task, the wait rejects with a `DeadlockError` instead of hanging.
 *
 *   run(main)   = [ run the main task ─ stop point: cancel the tasks left ─ close ]   one phase
 *   Runner.run  = [ run the main task ─ stop point ]   …tasks left run on…   Runner.close
 *
 * CPython's loop does not run between two `Runner.run` calls, so the tasks left wait there,
 * frozen. Node's loop always runs: the tasks left run on between the calls, as tasks made
 * outside every `run()` do. That is why `run()` cannot be "Runner.run then close" here: it
 * cancels the tasks left at the stop point itself, before any of them runs again, as CPython's
 * `asyncio.run` (whose close comes before the loop runs again) does.
 *
 * Which tasks are a runner's: those made while its loop was running (during one of its `run()`
 * calls or its `close()`, its `runUntilComplete`/`runForever`, one of its callbacks) or by its
 * `createTask`, as CPython binds a task to the running loop, or to the loop whose `create_task`
 * made it (the loop's `_ownTasks`). A task made between two calls by a task left, or by the
 * program outside the runner's loop, is not; its `getRunningLoop()` is not the runner's loop
 * either.
 */
import { onDryLoop } from '../internal/dry-loop.js';
import { DeadlockError, describeError, describeValue } from '../internal/errors.js';
import { atIterationEnd } from '../internal/scheduler.js';
import { RuntimeError } from './errors.js';
import { EventLoop, installedRunningLoop, setRunningLoop } from './event-loop.js';
import { gather } from './gather.js';
import { type InterruptWatch, watchInterrupts } from './keyboard-interrupt.js';
import { allTasks, createTask, currentTask, type Task, type TaskBody } from './task.js';

/** What holds this thread's loop now ('run()', 'Runner.run()', 'Runner.close()'), or null. */
let active: string | null = null;

/**
 * How long the end of a `run()` (or a `Runner.close()`) waits for the default executor's calls
 * (CPython's `constants.THREAD_JOIN_TIMEOUT`, 300 s): past it, a warning, and the call resolves
 * while they go on — a call that never ends must not hold it for ever.
 */
const THREAD_JOIN_TIMEOUT = 300_000;

/** Options of `Runner.run()` (and `run()`). */
export interface RunnerRunOptions {
  /** The main task's name (`Task-N` by default). */
  name?: string;
}

/** One main task's wait, and what `run()`'s end takes over from it. */
interface MainRun {
  /** `run()`: the tasks left are cancelled at the stop point, not left for a later run. */
  readonly cancelAtStop: boolean;
  /** The tasks cancelled at the stop point; null until then (or never, a deadlock). */
  early: Set<Task<unknown>> | null;
  /** The first error a task's cancel() threw there, raised once the others ended. */
  failed: CancelFailed | null;
  /**
   * A `stop()` stopped the loop in the iteration the main task ended in, before its
   * done-callback ran: CPython leaves that callback queued, and it stops the next run.
   */
  stopNext: boolean;
}

/**
 * `asyncio.Runner`: one event loop for several `run()` calls from code outside every loop (a
 * test runner, a REPL, a program that awaits between steps), closed once at the end.
 *
 * `run(main)` runs `main` as the main task of the runner's loop and resolves to its result, as
 * `run()` does; unlike `run()`, the tasks it leaves alive are not cancelled: a later `run()` of
 * the same runner may await them. **Different from Python:** Node's loop never stops, so those
 * tasks run on between two calls (CPython's wait, frozen, for the next `run()`), and what they
 * see there is no running loop of the runner's (`getRunningLoop()` gives the loop of the tasks
 * made outside every `run()`); the tasks they make there are not the runner's. `close()` does
 * what `run()` does at its end: cancels the runner's tasks still alive and waits for them, waits
 * for the default executor's calls (up to 300 s), and closes the loop. Close it with
 * `await using runner = new Runner()`, Python's `with asyncio.Runner() as runner:` — `await`,
 * because closing waits for the tasks and the executor, which a synchronous `using` cannot.
 *
 * No `debug` and no `loop_factory`: weft's loop has no debug mode (the check of Python's that
 * fits, refusing an async callback in `callSoon`, is always on), and its `EventLoop` is a facade
 * over Node's one loop — tasks are scheduled by weft's ready queue whatever the facade, so a
 * factory could change which object `getRunningLoop()` returns, not how anything runs. No
 * `context`: weft has no `contextvars`.
 *
 * **Ctrl-C:** as Python's, while `run()` waits for its main task (in the main thread, when nothing
 * listened for SIGINT at its start): the first SIGINT cancels the main task, and the call rejects
 * with `KeyboardInterrupt` once it has ended cancelled; a second one rejects it at once, the main
 * task left to `close()` (src/asyncio/keyboard-interrupt.ts).
 *
 * **Deadlocks (weft's own):** as for `run()`, a `run()` whose main task is blocked with nothing
 * left that could wake a task rejects with a `DeadlockError` (the tasks stay alive, for a later
 * call or `close()`), and so does a `close()` whose tasks go on waiting once cancelled.
 *
 * @example
 * ```ts
 * await using runner = new Runner();
 * const { worker } = await runner.run(async () => ({ worker: createTask(() => sleep(10, 'done')) }));
 * await runner.run(async () => await worker); // 'done': the task outlived the first run()
 * ```
 */
export class Runner {
  private state: 'created' | 'initialized' | 'closing' | 'closed' = 'created';
  private loop: EventLoop | null = null;
  /** The tasks of its loop (its `_ownTasks`): `close()` cancels those still alive. */
  private readonly own = new WeakSet<Task<unknown>>();
  /** The `close()` under way: a second one waits for it. */
  private closing: Promise<void> | null = null;
  /** Armed while a `run()` or `close()` waits: called when Node's loop runs dry. */
  private onDeadlock: ((lines: string) => void) | null = null;

  /** @throws TypeError if given an argument (weft's Runner has no `debug` or `loopFactory`). */
  constructor(...args: []) {
    const given = (args as unknown[])[0];
    if (given !== undefined)
      throw new TypeError(
        `Runner takes no options: weft's loop has no debug mode and no loop factory (received ${describeValue(given)})`,
      );
  }

  /**
   * The runner's loop, made on first use (`get_loop`).
   * @throws RuntimeError once the runner is closed ("Runner is closed").
   */
  getLoop(): EventLoop {
    if (this.state === 'closing') return this.loop as EventLoop;
    return this.init();
  }

  /**
   * Runs `main` as the main task of the runner's loop and resolves to its result (or rejects
   * with its error), once the loop iteration in which it ended is over. The tasks it leaves
   * alive are not cancelled (see the class). If `getRunningLoop().stop()` stops the loop before
   * the main task is done, it rejects with `RuntimeError` ("Event loop stopped before Future
   * completed", `ERR_WEFT_LOOP_STOPPED`) and the main task goes on, as in Python; a `stop()`
   * made between two calls stops the next one after its first iteration.
   *
   * **Cancellation:** none of its own; cancel the main task (`allTasks()`, or from inside it).
   * Ctrl-C (SIGINT) cancels it, as `run()`'s (see the class).
   *
   * @throws KeyboardInterrupt after Ctrl-C: the main task ended cancelled by the first SIGINT,
   * or a second SIGINT came.
   * @throws TypeError if `main` is not a function (or a promise), as `run()`.
   * @throws RuntimeError if the runner is closed ("Runner is closed"), its loop was closed, or
   * when called inside a task, a loop's callback, or while a `run()`, `Runner.run()` or
   * `Runner.close()` (of any runner) or a loop's `runUntilComplete`/`runForever` is in progress.
   * @throws DeadlockError when the main task is blocked and nothing is left that could wake a
   * task.
   */
  async run<T>(main: TaskBody<T>, options: RunnerRunOptions = {}): Promise<Awaited<T>> {
    checkCanStart('Runner.run()');
    const loop = this.init();
    if (loop.isClosed()) throw new RuntimeError('Event loop is closed', 'ERR_WEFT_LOOP_CLOSED');
    const task = createTask(main, options.name ? { name: options.name } : {});
    this.own.add(task);
    const leave = this.enter(loop, 'Runner.run()');
    // A stop() made while no run() was in progress (CPython's `_stopping` set on a loop that was
    // not running): the next run goes one iteration, the one the main task starts in, and stops.
    if (loop._takeStop()) loop.callSoon(stopLoop, loop);
    const end: MainRun = { cancelAtStop: false, early: null, failed: null, stopNext: false };
    const interrupts = watchInterrupts(task);
    try {
      return await this.waitMain(loop, task, (t) => this.own.has(t), end, interrupts);
    } finally {
      // CPython's run_forever clears `_stopping` when it returns: a stop() of this run is spent.
      loop._takeStop();
      leave();
      active = null;
      // CPython's done-callback of this run's main task, left queued, stops the next run.
      if (end.stopNext) loop.stop();
    }
  }

  /**
   * Cancels the runner's tasks still alive and waits for them, waits for the default executor's
   * calls (up to 300 s, then a warning), and closes the loop, as `run()` does at its end. Errors
   * those tasks raise instead of ending cancelled go to the loop's exception handler. Does
   * nothing on a runner never used (which stays usable, as in Python) or closed already; a
   * second call while one is under way waits for it.
   *
   * **Cancellation:** none — the tasks' cancellation is the point.
   *
   * @throws RuntimeError when called inside a task, a loop's callback, or while a `run()`,
   * `Runner.run()` or `Runner.close()` (of any runner) or a loop's `runUntilComplete`/
   * `runForever` is in progress; or the error a task's `cancel()` threw (the runner is closed
   * all the same).
   * @throws DeadlockError when a task left goes on waiting once cancelled and nothing is left
   * that could wake it (the runner is closed all the same).
   */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    if (this.closing !== null) return this.closing;
    if (this.state === 'created') return;
    checkCanStart('Runner.close()');
    this.state = 'closing';
    this.closing = this.shut(this.loop as EventLoop);
    return this.closing;
  }

  /** `await using runner = new Runner()`: `close()` when the block ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * @internal `run()`: a fresh runner's whole life in one call — the main task, the tasks left
   * cancelled at the stop point, then the end `close()` has, the loop running throughout.
   */
  async _runOnce<T>(main: TaskBody<T>, options: RunnerRunOptions): Promise<Awaited<T>> {
    const loop = this.init(false);
    // Tasks alive before: made outside every run(), they are not this run's to cancel at its end
    // (Python's asyncio.run cancels the tasks of its own loop only).
    const before = new WeakSet<Task<unknown>>(allTasks());
    // The task is made before run() marks itself running: a bad `main` or name must raise its
    // TypeError and leave the next run() free to start. It starts on the ready queue, after the
    // loop is in place.
    const task = createTask(main, options.name ? { name: options.name } : {});
    const leave = this.enter(loop, 'run()');
    const end: MainRun = { cancelAtStop: true, early: null, failed: null, stopNext: false };
    try {
      return await this.waitMain(loop, task, (t) => !before.has(t), end, watchInterrupts(task));
    } finally {
      try {
        await this.shutdown(loop, 'run()', task, (t) => !before.has(t), end);
      } finally {
        this.leaveAndClose(leave, loop);
      }
    }
  }

  /**
   * Makes the loop on first use; `keep`: it records its tasks (`run()`'s runner, which never
   * runs twice, tells its own from a snapshot). @throws RuntimeError once closed.
   */
  private init(keep = true): EventLoop {
    if (this.state === 'closed' || this.state === 'closing')
      throw new RuntimeError('Runner is closed', 'ERR_WEFT_RUNNER_CLOSED');
    this.state = 'initialized';
    if (this.loop === null) {
      this.loop = new EventLoop();
      if (keep) this.loop._ownTasks = this.own;
    }
    return this.loop;
  }

  /**
   * Ends a `run()` or `close()`: the loop closed, the runner closed, the thread's loop free
   * again — even when the loop cannot close (a `runForever()` left running inside a run
   * raises "Cannot close a running event loop"), or the next `run()` would be refused for ever.
   */
  private leaveAndClose(leave: () => void, loop: EventLoop): void {
    try {
      leave();
      loop._ownTasks = null;
      loop.close();
    } finally {
      this.state = 'closed';
      active = null;
    }
  }

  /** `close()`'s work, with the loop running: see `close()`. */
  private async shut(loop: EventLoop): Promise<void> {
    // Tasks made from here on (a cancelled task's handler) are the runner's too: its loop runs.
    const leave = this.enter(loop, 'Runner.close()');
    try {
      await this.shutdown(loop, 'Runner.close()', null, (t) => this.own.has(t), {
        cancelAtStop: false,
        early: null,
        failed: null,
        stopNext: false,
      });
    } finally {
      this.leaveAndClose(leave, loop);
    }
  }

  /**
   * Installs `loop` as the running one and watches for a deadlock; returns what undoes it
   * (`active` is cleared by the caller, once the loop is closed).
   */
  private enter(loop: EventLoop, who: string): () => void {
    active = who;
    const prevLoop = setRunningLoop(loop);
    const stopWatching = onDryLoop(() => {
      // Node's loop has nothing left to do, yet what the call waits for is not done: every task
      // is blocked on something only another task could do.
      const report = this.onDeadlock;
      if (report === null) return;
      const blocked = [...allTasks()] as Task<unknown>[];
      report(blocked.map((t) => `${t.describe()} waits for ${t.describeWait()}`).join('; '));
      // Node emits beforeExit again only if the loop has work after this handler, and the report
      // queues microtasks only: a main task that, once cancelled, waits for ever again would
      // leave run() unsettled and the process gone. One more turn lets the next check come.
      setImmediate(noop);
    });
    return () => {
      this.onDeadlock = null;
      loop._onStop = null;
      stopWatching();
      setRunningLoop(prevLoop);
    };
  }

  /**
   * A promise that rejects with a `DeadlockError` when Node's loop runs dry while it is the one
   * armed (the last one made). If `main` had failed first, its error is the report's `cause`.
   */
  private untilDeadlock(what: string, main: Task<unknown> | null): Promise<never> {
    return new Promise<never>((_, reject) => {
      this.onDeadlock = (lines) => {
        this.onDeadlock = null;
        // What the main task threw, if it did: a deadlock found afterwards (while cancelling the
        // tasks left) must not hide it — it is named in the report and is its `cause`.
        const failed = main?.done() && !main.cancelled() ? main.exception() : null;
        const first =
          failed !== null
            ? ` (the main task had failed first: ${describeError(failed)}, the cause)`
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
  }

  /**
   * Waits for the main task as CPython's `run_until_complete` does, and settles once the loop
   * iteration in which it ended is over (the stop point). With `end.cancelAtStop` (`run()`), the
   * tasks left are cancelled there.
   */
  private async waitMain<T>(
    loop: EventLoop,
    task: Task<Awaited<T>>,
    own: (t: Task<unknown>) => boolean,
    end: MainRun,
    interrupts: InterruptWatch,
  ): Promise<Awaited<T>> {
    // CPython stops its loop once the main task is done: at the end of the loop iteration that
    // runs the main task's done-callback, so what was ready then still runs, what it queues does
    // not, and (in asyncio.run) the tasks left are cancelled before any of them runs again. weft
    // cancels them at the same place in its ready queue (atIterationEnd), and the call's own
    // await, which may come back before that iteration has ended, waits for it. Once the wait is
    // over without it (the main task deadlocked), the callback does nothing, so a task is
    // cancelled once.
    let ending = false;
    /** Settles at the stop point: the wait's end waits for it. */
    let stopped: Promise<void> | null = null;
    /** The done-callback has run: the await may find the task done before it does. */
    let calledBack!: () => void;
    let called = false;
    const callbackRan = new Promise<void>((resolve) => {
      calledBack = resolve;
    });
    /** The loop stops here: run() cancels the tasks left (the main task too, if not done). */
    const stopHere = (): void => {
      if (!end.cancelAtStop) return;
      const early = new Set<Task<unknown>>(tasksLeft(own));
      for (const t of early) end.failed = tryCancel(t, end.failed);
      end.early = early;
    };
    task.addDoneCallback(() => {
      called = true;
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
    // `loop.stop()` while the call waits for the main task: CPython's loop stops at the end of
    // the iteration, run_until_complete raises "Event loop stopped before Future completed", and
    // asyncio.run raises it once the tasks left (the main task among them) are cancelled and
    // have ended. A `runForever()` started in that iteration takes the stop instead (weft's own:
    // runForever inside run()).
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
        else if (!called) end.stopNext = true;
        stopHere();
      });
    };
    try {
      const result = await Promise.race([
        task as PromiseLike<Awaited<T>>,
        this.untilDeadlock('Deadlock', task),
        stoppedEarly,
        ...(interrupts.raised === null ? [] : [interrupts.raised]),
      ]);
      if (result === STOPPED) {
        const who = end.cancelAtStop ? 'run()' : 'Runner.run()';
        throw new RuntimeError(
          `Event loop stopped before Future completed: loop.stop() was called before the main task of ${who} was done`,
          'ERR_WEFT_LOOP_STOPPED',
        );
      }
      return result as Awaited<T>;
    } catch (e) {
      throw interrupts.translate(e);
    } finally {
      // CPython restores the default SIGINT handler as its Runner.run returns, before
      // asyncio.run's close: a Ctrl-C from here on has Node's default action.
      interrupts.stop();
      // The iteration in which the main task ended runs to its end first (see `stopped`). The
      // await of a task done already settles at once, while its done-callback may wait for the
      // next turn (the turn's budget was spent): then for that callback first.
      if (stopped === null && task.done()) await callbackRan;
      if (stopped !== null) await stopped;
      ending = true;
    }
  }

  /**
   * The end of `run()` and `close()`: cancels the tasks left (`own`) and waits for them, then for
   * the default executor. A task left that goes on waiting once cancelled (it catches the
   * CancelledError and waits for something nobody will do) would hold the call for ever, as in
   * Python: reported.
   */
  private async shutdown(
    loop: EventLoop,
    who: string,
    main: Task<unknown> | null,
    own: (t: Task<unknown>) => boolean,
    end: MainRun,
  ): Promise<void> {
    await Promise.race([
      cancelAll(loop, own, end.early, end.failed),
      this.untilDeadlock(`Deadlock while ${who} cancelled the tasks left`, main),
    ]);
    await loop.shutdownDefaultExecutor({ timeout: THREAD_JOIN_TIMEOUT });
  }
}

/**
 * Refuses a second loop in this thread, as CPython refuses `asyncio.run()`/`Runner.run()` "from
 * a running event loop". @throws RuntimeError
 */
export function checkCanStart(who: string): void {
  if (currentTask() !== null)
    throw new RuntimeError(
      `${who} cannot be called from a running event loop (inside a task): await the function instead`,
      'ERR_WEFT_LOOP_RUNNING',
    );
  if (active !== null)
    throw new RuntimeError(
      `${who} cannot start while ${active} is running: one loop runs at a time in a thread (await it first)`,
      'ERR_WEFT_LOOP_RUNNING',
    );
  // A callback of a running loop, or code running while a loop's runUntilComplete/runForever is
  // in progress: one loop runs at a time in a thread, as Python's asyncio.run() refuses too.
  if (installedRunningLoop() !== null)
    throw new RuntimeError(
      `${who} cannot be called from a running event loop (a loop callback, or while runUntilComplete() or runForever() is in progress): schedule the work on that loop instead`,
      'ERR_WEFT_LOOP_RUNNING',
    );
}

function noop(): void {}

function stopLoop(loop: EventLoop): void {
  loop.stop();
}

/** What the main task's wait answers when a `loop.stop()` stopped the loop before it ended. */
const STOPPED: unique symbol = Symbol('stopped');

/** The tasks whose cancel() threw at the end (not waited for), and the first error. */
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

/** The tasks alive now that are the caller's own. */
function tasksLeft(own: (t: Task<unknown>) => boolean): Task<unknown>[] {
  return [...allTasks()].filter(own);
}

/**
 * Waits for the tasks left to end, and reports their errors. `early`: the ones cancelled where
 * the loop stopped (run()'s main task's end); null when there was no such point (a deadlock, or
 * `Runner.close()`), and then the tasks alive now are cancelled here. Each task is cancelled
 * once. A task whose `cancel()` throws (a future of the user's it awaits) is not waited for (it
 * may wait for ever); the first such error is raised once the others have ended. Tasks made
 * meanwhile (a cancelled task's handler, a callback queued before the stop) run while the
 * others end, as during CPython's `_cancel_all_tasks`; those still alive then are cancelled and
 * not waited for (their handlers run after the call resolved; CPython never resumes them, it
 * destroys them pending).
 */
async function cancelAll(
  loop: EventLoop,
  own: (t: Task<unknown>) => boolean,
  early: Set<Task<unknown>> | null,
  failed: CancelFailed | null,
): Promise<void> {
  const met = early ?? new Set<Task<unknown>>(tasksLeft(own));
  if (early === null) for (const t of met) failed = tryCancel(t, failed);
  const refused = failed?.tasks;
  const left = refused === undefined ? [...met] : [...met].filter((t) => !refused.has(t));
  if (left.length > 0) await gather(...left, { returnExceptions: true });
  // The gather has retrieved their errors: one a task raised instead of ending cancelled (a
  // `finally` that throws) would vanish. Python reports it to the loop's exception handler
  // (with asyncio.run's message for Runner.close() too, as CPython does).
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
  for (const t of tasksLeft(own)) if (!met.has(t)) failed = tryCancel(t, failed);
  if (failed !== null) throw failed.error;
}
