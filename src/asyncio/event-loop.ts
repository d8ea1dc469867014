import { currentContext } from '../internal/context.js';
import { checkFunction, describeThrown, describeValue } from '../internal/errors.js';
import {
  atIterationEnd,
  callSoon,
  type ExceptionHandler,
  getExceptionHandler,
  setExceptionHandler,
} from '../internal/scheduler.js';
import { parseWait } from '../internal/wait-options.js';
import { startTimer, startTimerHandleAt, stopTimer, type Timer } from '../internal/waiter.js';
import { iscoroutinefunction } from './coroutines.js';
import { type Awaitable, ensureFuture } from './ensure-future.js';
import { RuntimeError } from './errors.js';
import { Future } from './future.js';
import { _setTaskMade, createTask, type Task, type TaskBody, type TaskOptions } from './task.js';
import { wrapFuture } from './wrap-future.js';

/** A callback scheduled with `callSoon` (`asyncio.Handle`). */
export class Handle {
  /** Dropped on `cancel()`, as Python's handle does (a cancelled timer keeps nothing alive):
   * null exactly when cancelled. */
  private fn: ((...args: any[]) => unknown) | null;
  private args: unknown[] | null;
  /** @internal the pending handles of the loop that scheduled it, until it runs or is cancelled */
  _pending: Set<Handle> | null = null;
  /** @internal the loop that scheduled it: the running loop while it runs, as in Python */
  _loop: EventLoop | null = null;
  /** @internal */
  constructor(fn: (...args: any[]) => unknown, args: unknown[]) {
    this.fn = fn;
    this.args = args;
  }
  cancel(): void {
    this.fn = null;
    this.args = null;
    this._pending?.delete(this);
    this._pending = null;
  }
  cancelled(): boolean {
    return this.fn === null;
  }
  /** `<Handle name(args)>`, as Python's repr: what the exception handler's default output shows. */
  toString(): string {
    return `<${[this.constructor.name, ...this.describeParts()].join(' ')}>`;
  }
  /** @internal the parts of `toString()` after the class name. */
  protected describeParts(): string[] {
    if (this.fn === null) return ['cancelled'];
    const args = (this.args ?? []).map(describeValue).join(', ');
    return [`${this.fn.name || '(anonymous)'}(${args})`];
  }
  /** @internal */
  _run(): void {
    this._pending?.delete(this);
    this._pending = null;
    const fn = this.fn;
    if (fn === null) return;
    const result = fn(...(this.args as unknown[]));
    // A function that returns a promise (not an `async` one: those are refused) may reject
    // where nobody listens, and an unhandled rejection ends Node's process: it is reported as
    // a callback that threw, and the loop goes on.
    if (result instanceof Promise) {
      result.then(noop, (exception: unknown) =>
        callHandler({ message: 'Exception in callback', exception, handle: this }),
      );
    }
  }
}

/** A callback scheduled for a time (`asyncio.TimerHandle`). */
export class TimerHandle extends Handle {
  /** @internal */ _timer: Timer | null = null;
  constructor(
    fn: (...args: any[]) => unknown,
    args: unknown[],
    private readonly _when: number,
  ) {
    super(fn, args);
  }
  /** The scheduled time, in loop time (ms). */
  when(): number {
    return this._when;
  }
  override cancel(): void {
    super.cancel();
    stopTimer(this._timer);
    this._timer = null;
  }
  /** @internal */
  protected override describeParts(): string[] {
    const parts = super.describeParts();
    // After "cancelled", as Python's repr puts it.
    parts.splice(this.cancelled() ? 1 : 0, 0, `when=${this._when}`);
    return parts;
  }
}

function runHandle(h: Handle): void {
  // Outside run(), the callback of a loop still finds it with getRunningLoop(), as in Python.
  const prevLoop = runningLoop;
  if (prevLoop === null) runningLoop = h._loop;
  try {
    h._run();
  } catch (exception) {
    // As Python's Handle does: the handler is told which callback failed.
    callHandler({ message: 'Exception in callback', exception, handle: h });
  } finally {
    runningLoop = prevLoop;
  }
}

/** What an exception handler receives (Python's context dict): `message`, and more keys. */
export interface ExceptionContext {
  message: string;
  exception?: unknown;
  [key: string]: unknown;
}

/** Calls the exception handler set with `context` as given, or the default one. */
function callHandler(context: ExceptionContext): void {
  const handler = getExceptionHandler();
  if (handler === null) {
    defaultHandler(context);
    return;
  }
  try {
    (handler as (c: ExceptionContext) => void)(context);
  } catch (exception) {
    defaultHandler({ message: 'Unhandled error in exception handler', exception, context });
  }
}

/** Writes `context` to stderr as weft reports everything it cannot raise (see scheduler.ts). */
function defaultHandler(context: ExceptionContext): void {
  let text = `weft: ${String(context.message ?? 'Unhandled exception in event loop')}\n`;
  for (const key of Object.keys(context)) {
    if (key === 'message' || key === 'exception') continue;
    text += `${key}: ${describeContextValue(context[key])}\n`;
  }
  if ('exception' in context && context.exception !== undefined) {
    const e = context.exception;
    text += `${describeThrown(e)}\n`;
  }
  process.stderr.write(text);
}

/** A handle as Python's repr shows it, a task by its name ("Task 'main'"), else its kind. */
function describeContextValue(v: unknown): string {
  if (v instanceof Handle) return String(v);
  if (v instanceof Future) return v.describeForLog();
  return describeValue(v);
}

/** Anything with `submit(fn, ...args)` returning a concurrent future (weft/futures executors). */
export interface ExecutorLike {
  submit(fn: (...args: any[]) => unknown, ...args: unknown[]): unknown;
  shutdown?(options?: { wait?: boolean }): unknown;
}

/**
 * The EventLoop facade (`asyncio.AbstractEventLoop`'s everyday part). Node has one event loop
 * per thread and it is always there; this object gives it Python's verbs. Callbacks go on weft's
 * ready queue (`callSoon`) or weft's timer heap (`callLater`, `callAt`); `time()` is
 * `performance.now()` in milliseconds. `runUntilComplete` and `runForever` resolve when done
 * instead of blocking the thread.
 */
export class EventLoop {
  private running = false;
  /** `stop()` came before `runForever()`: the next one runs one iteration only. */
  private stopping = false;
  private closed = false;
  /** Handles scheduled and not yet run: `close()` drops them, as Python's does. */
  private readonly pending = new Set<Handle>();
  /**
   * Ends the `runForever`/`runUntilComplete` in progress, called when its stop is due: at the end
   * of the iteration `stop()` was called in (CPython's loop checks `_stopping` between
   * iterations), and for a `stop()` that came before, after the callbacks ready at the start.
   */
  private stopWaiter: (() => void) | null = null;
  /** Created on the first `runInExecutor(null, …)`; a promise, as weft/futures loads lazily. */
  private defaultExecutor: Promise<ExecutorLike> | null = null;
  /** The default executor once made: calls to it are submitted at once. */
  private defaultExecutorReady: ExecutorLike | null = null;
  /** `shutdownDefaultExecutor()` was called: no new default executor (Python's flag too). */
  private executorShutdownCalled = false;

  /** Loop time in milliseconds (monotonic). */
  time(): number {
    return performance.now();
  }

  isRunning(): boolean {
    // The loop of the tasks made outside every run() runs whenever one of them runs: inside a
    // task, Python's get_running_loop().is_running() is always true. So is a loop whose
    // callback runs now: Python runs callbacks only while their loop runs. `run()` installs
    // its loop as the running one for as long as it runs.
    return (
      this.running || runningLoop === this || (this === defaultLoop && currentContext() !== null)
    );
  }

  isClosed(): boolean {
    return this.closed;
  }

  /**
   * One loop runs at a time in a thread, as in Python: inside a `run()`, a task, a callback of
   * another loop or its `runUntilComplete`, this loop cannot start running too.
   */
  private checkNoOtherLoop(): void {
    const other = runningLoop ?? (currentContext() !== null ? defaultLoop : null);
    if (other !== null && other !== this)
      throw new RuntimeError(
        'Cannot run the event loop while another loop is running: one loop runs at a time in a thread (inside run() or a task, await the work itself)',
        'ERR_WEFT_OTHER_LOOP_RUNNING',
      );
  }

  /**
   * Schedules `fn(...args)` on the ready queue, after everything already ready.
   * @throws TypeError if `fn` is not a function or is an `async` one (run that with `createTask`).
   */
  callSoon<A extends unknown[]>(fn: (...args: A) => unknown, ...args: A): Handle {
    this.checkOpen();
    checkLoopCallback(fn, 'callSoon');
    const h = new Handle(fn as (...a: unknown[]) => unknown, args);
    this.track(h);
    callSoon(runHandle, h);
    return h;
  }

  /** Schedules `fn(...args)` in `delay` milliseconds. */
  callLater<A extends unknown[]>(
    delay: number,
    fn: (...args: A) => unknown,
    ...args: A
  ): TimerHandle {
    if (typeof delay !== 'number' || Number.isNaN(delay)) {
      throw new TypeError(
        `callLater delay must be a number of milliseconds: received ${describeValue(delay)}`,
      );
    }
    this.checkOpen();
    checkLoopCallback(fn, 'callLater');
    // `time() + delay`, as CPython's call_later: a negative delay is a deadline in the past, which
    // runs before a `callLater(0)` made earlier.
    return this.schedule(this.time() + delay, fn, args);
  }

  /** Schedules `fn(...args)` at loop time `when` (ms). */
  callAt<A extends unknown[]>(when: number, fn: (...args: A) => unknown, ...args: A): TimerHandle {
    this.checkOpen();
    checkLoopCallback(fn, 'callAt');
    if (typeof when !== 'number' || Number.isNaN(when)) {
      throw new TypeError(
        `callAt time must be a number (loop time in ms): received ${describeValue(when)}`,
      );
    }
    // On the timer heap at `when` itself (src/internal/timer-heap.ts): it runs once `time()` has
    // reached `when`, never before, and in deadline order with every other timer of weft (a
    // `when` already past runs before a `callLater(0)` made earlier, as in CPython).
    return this.schedule(when, fn, args);
  }

  private schedule(when: number, fn: (...a: never[]) => unknown, args: unknown[]): TimerHandle {
    const h = new TimerHandle(fn as (...a: unknown[]) => unknown, args, when);
    this.track(h);
    h._timer = startTimerHandleAt(when, runHandle, h, undefined);
    return h;
  }

  createTask<T>(body: TaskBody<T>, options?: TaskOptions): Task<Awaited<T>> {
    this.checkOpen();
    const t = createTask(body, options);
    // This loop's, whichever loop runs now (as CPython's loop.create_task binds it).
    if (runningLoop !== this) {
      runningLoop?._ownTasks?.delete(t);
      this._ownTasks?.add(t);
    }
    return t;
  }

  /**
   * @internal The tasks of this loop, kept for the `Runner` it belongs to (null for every other
   * loop): each task made while it is the running loop (a runner's `run()` or `close()`, its
   * `runUntilComplete`/`runForever`, one of its callbacks) or by its `createTask`.
   */
  _ownTasks: WeakSet<Task<unknown>> | null = null;

  createFuture<T = unknown>(): Future<T> {
    return new Future<T>();
  }

  private track(h: Handle): void {
    h._loop = this;
    h._pending = this.pending;
    this.pending.add(h);
  }

  /**
   * Runs until `aw` is done and resolves to its result. @throws RuntimeError if this loop is
   * running (inside `run()`, or in a task whose `getRunningLoop()` it is: await `aw` there
   * instead), or if `stop()` is called before `aw` is done (`aw` runs on, as in Python).
   */
  async runUntilComplete<T>(aw: Awaitable<T>): Promise<T> {
    this.checkOpen();
    if (this.isRunning())
      throw new RuntimeError('This event loop is already running', 'ERR_WEFT_LOOP_RUNNING');
    this.checkNoOtherLoop();
    const fut = ensureFuture(aw);
    this.running = true;
    // A weft future, not a promise: a task awaiting here (a loop of its own, inside run()) can
    // still be cancelled, and its cancel reaches `aw` as it did when `aw` itself was awaited.
    const woken = new Future<void>();
    const wake = (): void => {
      if (!woken.done()) woken.setResult(undefined);
    };
    // Whether `aw` was done when the loop stopped, as CPython asks once `run_forever` has
    // returned: `aw` may finish in a later iteration (a step the stopping iteration queued),
    // which here runs before this call goes on, and must not turn the stop into its result.
    let stoppedFirst = false;
    const onStop = (): void => {
      // Spent: a stop() from here on (a callback that runs before this call goes on) is for
      // the next run, as CPython's `_stopping` outlives the run_forever it did not stop.
      if (this.stopWaiter === onStop) this.stopWaiter = null;
      if (woken.done()) return;
      stoppedFirst = !fut.done();
      wake();
    };
    this.stopWaiter = onStop;
    // `aw` done: CPython's done-callback stops the loop at the end of this iteration, so a
    // stop() made in it is absorbed, and one made later (a callback that runs before this call
    // goes on) is for the next run.
    const spend = (): void => {
      if (this.stopWaiter === onStop) this.stopWaiter = null;
    };
    const onDone = (): void => {
      atIterationEnd(spend);
      wake();
    };
    // A stop() that came before runs the loop for one iteration, as runForever does.
    this.startStopped();
    const prevLoop = enterLoop(this);
    fut.addDoneCallback(onDone);
    try {
      await woken;
    } catch (e) {
      if (woken.cancelled()) fut.cancel();
      throw e;
    } finally {
      fut.removeDoneCallback(onDone);
      leaveLoop(this, prevLoop);
      this.stopWaiter = null;
      this.running = false;
    }
    if (stoppedFirst || !fut.done()) {
      throw new RuntimeError(
        'Event loop stopped before Future completed: stop() was called while runUntilComplete() waited',
        'ERR_WEFT_LOOP_STOPPED',
      );
    }
    return fut.result();
  }

  /**
   * Runs until `stop()` is called; resolves then. A `stop()` that came before runs it for one
   * iteration: the callbacks ready now run, then it returns. Inside `run()` (weft's own: Python
   * refuses) it waits for `stop()` while the loop goes on running `run()`'s tasks.
   * @throws RuntimeError if a `runUntilComplete` or `runForever` is running.
   */
  async runForever(): Promise<void> {
    this.checkOpen();
    if (this.running)
      throw new RuntimeError('This event loop is already running', 'ERR_WEFT_LOOP_RUNNING');
    this.checkNoOtherLoop();
    this.running = true;
    const stopped = new Future<void>();
    const onStop = (): void => {
      // Spent, as in runUntilComplete: a later stop() is the next run's.
      if (this.stopWaiter === onStop) this.stopWaiter = null;
      if (!stopped.done()) stopped.setResult(undefined);
    };
    this.stopWaiter = onStop;
    this.startStopped();
    const prevLoop = enterLoop(this);
    // A pending future keeps nothing alive in Node: hold the process open as Python's loop does.
    const keepAlive = setInterval(() => {}, 1 << 30);
    try {
      await stopped;
    } finally {
      clearInterval(keepAlive);
      leaveLoop(this, prevLoop);
      this.stopWaiter = null;
      this.running = false;
    }
  }

  /**
   * Makes `runForever` (or `runUntilComplete`) return at the end of the current iteration: the
   * callbacks ready when it began run, what they queue does not count (a `runUntilComplete`
   * whose `aw` would finish only there raises). Called before `runForever`, makes the next one
   * return after one iteration.
   */
  stop(): void {
    const w = this.stopWaiter;
    // Due at the end of the current iteration, as CPython's loop stops: what was ready when it
    // began still runs, what it queued (a task's next step) belongs to a later one.
    if (w !== null) atIterationEnd(w);
    else {
      this.stopping = true;
      this._onStop?.();
    }
  }

  /** A `stop()` that came before the run: it ends after the callbacks ready now have run. */
  private startStopped(): void {
    if (!this.stopping) return;
    this.stopping = false;
    callSoon(this.stopWaiter as () => void);
  }

  /**
   * @internal Set by the `run()` this loop belongs to: told of a `stop()` that no `runForever`
   * waits for, which stops that `run()` at the end of the iteration unless a `runForever` takes
   * the stop first (`_takeStop`).
   */
  _onStop: (() => void) | null = null;

  /** What `_atClose` registered and has not taken off; null once closed. */
  private closers: Set<() => void> | null = new Set();

  /**
   * @internal Registers `fn` to run when this loop closes (as `run()` closes its loop): for what
   * is bound to the loop and would keep Node's process alive after it, where CPython's process
   * ends (a server still listening, a connection left open). Returns the function that takes
   * it off again (the thing closed on its own). On a closed loop, `fn` is not kept.
   */
  _atClose(fn: () => void): () => void {
    const closers = this.closers;
    if (closers === null) return noop;
    closers.add(fn);
    return () => {
      closers.delete(fn);
    };
  }

  /** @internal Takes a `stop()` no `runForever` has taken: whether there was one. */
  _takeStop(): boolean {
    const s = this.stopping;
    this.stopping = false;
    return s;
  }

  /**
   * Closes the loop: callbacks scheduled and not yet run are dropped (a pending `callLater` no
   * longer keeps the process alive), and the default executor is shut down.
   * @throws RuntimeError if running (inside `run()` among others).
   */
  close(): void {
    if (this.isRunning())
      throw new RuntimeError('Cannot close a running event loop', 'ERR_WEFT_LOOP_RUNNING');
    if (this.closed) return;
    this.closed = true;
    for (const h of [...this.pending]) h.cancel();
    const closers = this.closers;
    this.closers = null;
    if (closers !== null)
      for (const fn of closers) {
        try {
          fn();
        } catch (exception) {
          this.callExceptionHandler({ message: 'error while closing the event loop', exception });
        }
      }
    const ex = this.defaultExecutor;
    this.defaultExecutor = null;
    this.defaultExecutorReady = null;
    // A default executor that could not be created has nothing to shut down.
    ex?.then((e) => e.shutdown?.({ wait: false }), noop);
  }

  /**
   * Shuts the default executor down and waits until the calls it runs have finished
   * (`loop.shutdown_default_executor`). `run()` does it before it closes its loop, as
   * `asyncio.run` does, so a `runInExecutor(null, …)` still running when the main task returns
   * finishes before `run()` resolves. After it, `runInExecutor(null, …)` raises `RuntimeError`.
   * With `timeout` (ms), it stops waiting after that long and emits a `RuntimeWarning`; the calls
   * run on.
   *
   * **Cancellation:** none — the wait is a plain promise; the executor's calls are never
   * cancelled by it.
   */
  async shutdownDefaultExecutor(options: { timeout?: number | null } = {}): Promise<void> {
    const { timeout } = parseWait('EventLoop.shutdownDefaultExecutor', options);
    this.executorShutdownCalled = true;
    const pending = this.defaultExecutor;
    if (pending === null) return;
    this.defaultExecutor = null;
    this.defaultExecutorReady = null;
    const ex = await pending.catch(() => null);
    if (ex === null) return;
    const joined = Promise.resolve(ex.shutdown?.({ wait: true }));
    if (timeout === null) {
      await joined;
      return;
    }
    let timer: Timer | null = null;
    const timedOut = await Promise.race([
      joined.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = startTimer(timeout, resolve, true);
      }),
    ]).finally(() => stopTimer(timer));
    if (timedOut) {
      process.emitWarning(
        `The default executor did not finish its calls within ${timeout} ms`,
        'RuntimeWarning',
      );
    }
  }

  /**
   * Runs `fn(...args)` in `executor` (a weft/futures executor, or anything with `submit`) and
   * returns an asyncio `Future` of its result, as Python's `run_in_executor` does: a task
   * awaiting it can be cancelled there (a call not started then never runs; one running goes on
   * in its worker). With `null`, a default `ThreadPoolExecutor` from `weft/futures` is created
   * on first use; `shutdownDefaultExecutor()` (which `run()` calls) waits for its calls, and
   * `close()` shuts it down without waiting; once a dead worker has broken it
   * (`BrokenThreadPool`), the next call makes a new one. Bad input gives a failed future
   * (`TypeError`; `RuntimeError` on a closed loop or after `shutdownDefaultExecutor()`).
   */
  runInExecutor<A extends unknown[], R>(
    executor: ExecutorLike | null,
    fn: (...args: A) => R,
    ...args: A
  ): Future<Awaited<R>> {
    try {
      this.checkOpen();
      checkFunction(fn, 'runInExecutor');
      let ex = executor;
      if (ex === null) {
        if (this.executorShutdownCalled)
          throw new RuntimeError(
            'Executor shutdown has been called: runInExecutor(null, …) has no default executor left',
            'ERR_WEFT_EXECUTOR_SHUTDOWN',
          );
        ex = this.defaultExecutorReady;
        if (ex === null) return this.submitWhenReady<R>(fn as (...a: never[]) => unknown, args);
        try {
          return wrapFuture(ex.submit(fn as (...a: unknown[]) => unknown, ...args) as never);
        } catch (e) {
          if ((e as { code?: unknown } | null)?.code !== 'ERR_WEFT_BROKEN_THREAD_POOL') throw e;
          // A worker of it died (process.exit, an uncaught error, out of memory), which broke
          // the pool for good, as weft/futures does: the calls it had failed with
          // BrokenThreadPool; later ones go to a new default executor. Python's threads cannot
          // die apart from the process, so its to_thread never stops working.
          this.dropDefaultExecutor(ex);
          return this.submitWhenReady<R>(fn as (...a: never[]) => unknown, args);
        }
      } else if (typeof ex !== 'object' || typeof (ex as ExecutorLike).submit !== 'function') {
        throw new TypeError(
          `runInExecutor expects an executor with submit() or null: received ${describeValue(ex)}`,
        );
      }
      return wrapFuture(ex.submit(fn as (...a: unknown[]) => unknown, ...args) as never);
    } catch (e) {
      const failed = new Future<Awaited<R>>();
      failed.setException(e);
      return failed;
    }
  }

  /** Lets a broken default executor go (its workers end; nobody waits for them). */
  private dropDefaultExecutor(ex: ExecutorLike): void {
    if (this.defaultExecutorReady !== ex) return;
    this.defaultExecutor = null;
    this.defaultExecutorReady = null;
    Promise.resolve(ex.shutdown?.({ wait: false })).catch(noop);
  }

  /** The first calls for the default executor, while weft/futures loads: submitted once it has. */
  private submitWhenReady<R>(fn: (...a: never[]) => unknown, args: unknown[]): Future<Awaited<R>> {
    const outer = new Future<Awaited<R>>();
    this.defaultExecutor ??= createDefaultExecutor().then((ex) => {
      this.defaultExecutorReady = ex;
      return ex;
    });
    this.defaultExecutor.then(
      (ex) => {
        // Cancelled while the executor was being made: the call is never submitted.
        if (outer.done()) return;
        let inner: Future<Awaited<R>>;
        try {
          inner = wrapFuture(ex.submit(fn as (...a: unknown[]) => unknown, ...args) as never);
        } catch (e) {
          outer.setException(e);
          return;
        }
        inner.addDoneCallback(() => {
          if (outer.done()) return;
          // Copied as it is, as on the direct path (wrapFuture's future itself): the cancel
          // message, and a CancelledError the call raised, which setException refuses.
          if (inner.cancelled()) outer.cancel(inner._cancelMessage);
          else if (inner._hasException) {
            inner._markRetrieved();
            outer._settle(false, inner._exception);
          } else outer.setResult(inner.result());
        });
        outer.addDoneCallback(() => {
          if (outer.cancelled()) inner.cancel();
        });
      },
      (e) => outer.done() || outer.setException(e),
    );
    return outer;
  }

  setExceptionHandler(handler: ExceptionHandler | null): void {
    if (handler !== null && typeof handler !== 'function') {
      throw new TypeError(
        `setExceptionHandler expects a function or null: received ${describeValue(handler)}`,
      );
    }
    setExceptionHandler(handler);
  }

  getExceptionHandler(): ExceptionHandler | null {
    return getExceptionHandler();
  }

  /**
   * Passes `context` (`message`, `exception`, and any keys of yours: `future`, `task`, …) as it
   * is to the exception handler, or to `defaultExceptionHandler`. The handler is the process's:
   * Node has one loop, so every `EventLoop` shares it.
   */
  callExceptionHandler(context: ExceptionContext): void {
    checkContext(context, 'callExceptionHandler');
    callHandler(context);
  }

  /** The handler used when none is set: writes the message, the other keys and the stack to stderr. */
  defaultExceptionHandler(context: ExceptionContext): void {
    checkContext(context, 'defaultExceptionHandler');
    defaultHandler(context);
  }

  private checkOpen(): void {
    if (this.closed) throw new RuntimeError('Event loop is closed', 'ERR_WEFT_LOOP_CLOSED');
  }
}

async function createDefaultExecutor(): Promise<ExecutorLike> {
  const path = '../futures/index.js';
  let mod: { ThreadPoolExecutor?: new () => ExecutorLike };
  try {
    mod = (await import(path)) as typeof mod;
  } catch (e) {
    throw new RuntimeError(
      `runInExecutor(null, …) uses weft/futures' ThreadPoolExecutor, which could not be loaded (${(e as Error).message}): pass an executor`,
      'ERR_WEFT_NO_DEFAULT_EXECUTOR',
    );
  }
  if (typeof mod.ThreadPoolExecutor !== 'function') {
    throw new RuntimeError(
      "runInExecutor(null, …) needs weft/futures' ThreadPoolExecutor: pass an executor",
      'ERR_WEFT_NO_DEFAULT_EXECUTOR',
    );
  }
  return new mod.ThreadPoolExecutor();
}

function noop(): void {}

function checkContext(context: unknown, what: string): void {
  if (typeof context !== 'object' || context === null)
    throw new TypeError(
      `${what} expects a context object with a message: received ${describeValue(context)}`,
    );
}

/**
 * A callback of `callSoon`/`callLater`/`callAt`: a function, not an `async` one (Python's
 * "coroutines cannot be used with call_soon()"): nobody awaits what it returns, so its error
 * would be an unhandled rejection. A task is what runs one: `loop.createTask(fn)`.
 */
function checkLoopCallback(fn: unknown, what: string): void {
  checkFunction(fn, what);
  if (iscoroutinefunction(fn))
    throw new TypeError(
      `${what} cannot take an async function, whose promise nobody would await: received ${describeValue(fn)} (run it as a task: createTask(fn))`,
    );
}

let runningLoop: EventLoop | null = null;
const defaultLoop = new EventLoop();
// A task made while a runner's loop is the running one is that runner's (see `_ownTasks`).
_setTaskMade((t) => {
  runningLoop?._ownTasks?.add(t);
});

/**
 * `loop` is the running loop while its runUntilComplete/runForever is in progress, unless a
 * run()'s loop already is (Node has one loop: the innermost claim does not displace run()'s).
 */
function enterLoop(loop: EventLoop): EventLoop | null {
  const prev = runningLoop;
  if (prev === null) runningLoop = loop;
  return prev;
}

function leaveLoop(loop: EventLoop, prev: EventLoop | null): void {
  if (runningLoop === loop) runningLoop = prev;
}

/**
 * @internal The loop installed as running, null if none: a `run()`'s, one whose
 * `runUntilComplete`/`runForever` is in progress, or the one whose callback runs now. (Inside a
 * task outside every `run()`, none is installed: `getRunningLoop()` gives the default loop.)
 */
export function installedRunningLoop(): EventLoop | null {
  return runningLoop;
}

/** @internal run() installs the loop of the current run. */
export function setRunningLoop(loop: EventLoop | null): EventLoop | null {
  const prev = runningLoop;
  runningLoop = loop;
  return prev;
}

/**
 * The running event loop. @throws RuntimeError outside a task (as Python raises outside a
 * coroutine run by a loop) unless `run()`, `runUntilComplete()` or `runForever()` is in
 * progress, or a callback of a loop's `callSoon`/`callLater`/`callAt` is running.
 */
export function getRunningLoop(): EventLoop {
  if (runningLoop !== null) return runningLoop;
  if (currentContext() !== null) return defaultLoop;
  throw new RuntimeError(
    'no running event loop: call getRunningLoop() inside a task or inside run()',
    'ERR_WEFT_NO_RUNNING_LOOP',
  );
}
