/**
 * `Future`: Python's `concurrent.futures.Future`, the handle an executor returns for one call.
 *
 * Implementation notes
 * - States as CPython: PENDING → RUNNING → FINISHED, or PENDING → CANCELLED. Done-callbacks run
 *   synchronously, in registration order, on the code path that completes the future (the
 *   executor's result dispatch, or `setResult`/`setException`/`cancel`); a callback added to a
 *   done future runs at once. A callback that throws is logged to stderr, never rethrown — one bad
 *   callback must not keep the others (or the executor) from running.
 * - An executor's future carries a private link (`kLink`) to the pool engine: `running()` asks it
 *   whether a worker has claimed the task (the pool learns that from shared memory, not a
 *   message), and `cancel()` asks it to withdraw the task or, with `{ interrupt }`/`{ force }`,
 *   to signal or end the worker running it.
 * - Awaiting (`then`) and `result()` share one lazily created promise, so a future nobody awaits
 *   costs no promise at all (the executor's hot path creates many).
 */
import { capture, captured } from '../internal/capture.js';
import {
  CancelledError,
  describeValue,
  InvalidStateError,
  RuntimeError,
  TimeoutError,
} from '../internal/errors.js';
import type { Escalation } from '../internal/pool/engine.js';
import { parseWait } from '../internal/wait-options.js';
import { startTimer, stopTimer, type Timer } from '../internal/waiter.js';

export type FutureState = 'PENDING' | 'RUNNING' | 'CANCELLED' | 'FINISHED';

/** How a running task is cancelled: cooperatively (its `taskSignal()` aborts) or by ending its worker. */
export interface CancelOptions {
  /** Abort the task's `taskSignal()` even if it is already running; the future is cancelled at once. */
  interrupt?: boolean;
  /**
   * End the worker running the task (and only that worker; it is replaced); implies `interrupt`.
   * On a future already cancelled by an interrupt whose call still runs, ends that call's worker.
   */
  force?: boolean;
}

/** @internal The executor's side of a future. */
export interface FutureLink {
  /** True once a worker has started the task. */
  started(): boolean;
  /** Withdraws a task no worker has claimed; false when one has. */
  withdraw(): boolean;
  /**
   * Signals (or, with force, ends) the worker running the task. For an interrupt that leaves the
   * call running, returns how to end its worker later (a force cancel after the interrupt).
   */
  interrupt(force: boolean): Escalation | null;
}

/** @internal For the links (pool-executor.ts); declared by the engine, which makes them. */
export type { Escalation };

export const kLink = Symbol('weft.futures.link');

type Callback<T> = (f: Future<T>) => void;

/**
 * The waits with a timeout or a signal on pending futures (`Future.result`, `exception`): one
 * Set per future, woken by one done-callback of that future. A wait that ends first leaves its
 * Set in O(1), and a future nobody waits on that way pays nothing (no field, nothing on the
 * executor's hot path).
 */
const timedWaiters = new WeakMap<Future<any>, Set<() => void>>();

/**
 * The futures cancelled by `cancel({ interrupt: true })` whose call may still run (see
 * `Escalation`): a later `cancel({ force: true })` ends its worker. A side table, as
 * `timedWaiters`: few futures are ever interrupted, and a field would cost every one.
 */
const escalations = new WeakMap<Future<any>, Escalation>();

/**
 * The eventual result of a call run by an executor (or of any work: create one and complete it
 * with `setResult`/`setException`).
 *
 * ```ts
 * const f = executor.submit(work, 21);
 * f.addDoneCallback((f) => log(f.done()));
 * console.log(await f.result({ timeout: 1000 }));   // or: await f
 * ```
 *
 * **Cancellation:** `cancel()` succeeds only while the call has not started (as in Python);
 * `cancel({ interrupt: true })` also reaches a running call through its `taskSignal()`, and
 * `cancel({ force: true })` ends the worker running it.
 */
export class Future<T = unknown> implements PromiseLike<T> {
  #state: FutureState = 'PENDING';
  /** The result, the exception (#failed), or the cancellation message: one field, not three — an
   * executor holds 100,000 pending futures, and their size is the minor GC's work. */
  #value: unknown = undefined;
  #failed = false;
  #callbacks: Callback<T>[] | null = null;
  #promise: Promise<T> | null = null;
  /** The resolving functions of `#promise` while it is pending (see `#ensurePromise`). */
  #resolve: ((value: T) => void) | null = null;
  #reject: ((error: unknown) => void) | null = null;
  /** @internal */
  [kLink]: FutureLink | null = null;

  #refresh(): FutureState {
    if (this.#state === 'PENDING' && this[kLink]?.started()) this.#state = 'RUNNING';
    return this.#state;
  }

  /** Whether the call was cancelled. */
  cancelled(): boolean {
    return this.#state === 'CANCELLED';
  }

  /** Whether the call is running now (a worker has started it and it has not finished). */
  running(): boolean {
    return this.#refresh() === 'RUNNING';
  }

  /** Whether the call finished or was cancelled. */
  done(): boolean {
    return this.#state === 'CANCELLED' || this.#state === 'FINISHED';
  }

  /**
   * Cancels the call if it has not started, and returns whether the future is now cancelled
   * (false for a running or finished call, as in Python; true for one already cancelled). With
   * `{ interrupt: true }` a running call is cancelled too: its `taskSignal()` aborts; with
   * `{ force: true }` its worker is ended and replaced (other tasks of that worker are run
   * elsewhere) — also after an interrupt, while the interrupted call still runs.
   */
  cancel(options?: CancelOptions): boolean {
    if (options !== undefined && (typeof options !== 'object' || options === null)) {
      throw new TypeError(
        `Future.cancel: options must be an object: received ${describeValue(options)}`,
      );
    }
    const force = options?.force === true;
    const interrupt = force || options?.interrupt === true;
    if (this.#state === 'CANCELLED') {
      // Python's answer for a cancelled future. A force after an interrupt whose call ignored its
      // signal still ends that call's worker (once: the entry goes with the first force).
      if (force) {
        const e = escalations.get(this);
        if (e !== undefined) {
          escalations.delete(this);
          e.force?.();
        }
      }
      return true;
    }
    if (this.#state === 'FINISHED') return false;
    const link = this[kLink];
    if (this.#refresh() === 'PENDING' && (link === null || link.withdraw())) {
      this.#value = '';
      this.#finish('CANCELLED');
      return true;
    }
    // RUNNING (or claimed while we looked).
    this.#state = 'RUNNING';
    if (!interrupt || link === null) return false;
    this.#value = '';
    // The link goes when the future is done (and a pool's future drops its engine with it), so
    // the worker is signalled first; the future is cancelled whatever the signal does.
    try {
      // Before the done-callbacks run: one of them may escalate to a force cancel.
      const e = link.interrupt(force);
      if (e !== null) escalations.set(this, e);
    } finally {
      this.#finish('CANCELLED');
    }
    return true;
  }

  /**
   * Resolves to the call's return value; rejects with its exception, with `CancelledError` if it
   * was cancelled, or with `TimeoutError` if it is not done within `timeout` ms.
   *
   * **Cancellation:** an aborted `signal` rejects the wait; the call itself runs on.
   * @throws CancelledError, TimeoutError, or the call's own exception.
   */
  result(options?: { timeout?: number | null; signal?: AbortSignal }): Promise<T> {
    return this.#wait(options, 'Future.result').then(() => this.#outcome());
  }

  /**
   * Resolves to the call's exception (undefined when it succeeded); rejects with
   * `CancelledError` if it was cancelled, `TimeoutError` after `timeout` ms, and with a
   * `TypeError` whose `cause` is the exception when that is a thenable (a promise cannot return one).
   */
  exception(options?: { timeout?: number | null; signal?: AbortSignal }): Promise<unknown> {
    return this.#wait(options, 'Future.exception').then(() => {
      if (this.#state === 'CANCELLED') throw new CancelledError(this.#value as string);
      if (!this.#failed) return undefined;
      // A promise resolved with a thenable adopts it instead of returning it: a pending one
      // (another Future) would keep this wait going for ever, past its timeout. Such an exception
      // (Python's set_exception takes any object) comes as the cause of a TypeError instead;
      // `result()` throws it as it is.
      if (isThenable(this.#value)) {
        throw new TypeError(
          `Future.exception: the exception is a thenable, which a promise cannot return (it would adopt it); it is this error's cause, and result() throws it as it is: ${describeValue(this.#value)}`,
          { cause: this.#value },
        );
      }
      return this.#value;
    });
  }

  #outcome(): T {
    if (this.#state === 'CANCELLED') throw new CancelledError(this.#value as string);
    if (this.#failed) throw this.#value;
    return this.#value as T;
  }

  #wait(
    options: { timeout?: number | null; signal?: AbortSignal } | undefined,
    what: string,
  ): Promise<void> {
    let timeout: number | null;
    let signal: AbortSignal | null;
    try {
      // An options object, as every waiting call: `result(5)` (Python's positional timeout) is a
      // TypeError, not a wait for ever; a `signal` that is no AbortSignal is one too.
      ({ timeout, signal } = parseWait(what, options));
    } catch (e) {
      return Promise.reject(e);
    }
    // An aborted signal rejects every wait, even one that could answer at once (weft-wide).
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.done()) return Promise.resolve();
    if (timeout === null && signal === null) {
      return this.#ensurePromise().then(
        () => undefined,
        () => undefined,
      );
    }
    // A wait that can end first (timeout, signal) is a waiter it removes when it ends, as
    // CPython's: nothing of it stays on a future still pending (a loop polling
    // `result({ timeout })` on a long call kept every timed-out wait, its TimeoutError and all).
    let waiters = timedWaiters.get(this);
    if (waiters === undefined) {
      const ws = new Set<() => void>();
      waiters = ws;
      timedWaiters.set(this, ws);
      (this.#callbacks ??= []).push(() => {
        timedWaiters.delete(this);
        for (const w of ws) w();
      });
    }
    const ws = waiters;
    return new Promise<void>((resolve, reject) => {
      let timer: Timer | null = null;
      const wake = (): void => {
        cleanup();
        resolve();
      };
      const cleanup = (): void => {
        stopTimer(timer);
        signal?.removeEventListener('abort', onAbort);
        ws.delete(wake);
      };
      const onAbort = (): void => {
        cleanup();
        reject(signal?.reason);
      };
      ws.add(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
      // Infinity arms nothing; a delay past Node's 2^31 − 1 ms waits in chunks.
      if (timeout !== null) {
        timer = startTimer(
          timeout,
          () => {
            cleanup();
            reject(new TimeoutError(`${what}: the future was not done within ${timeout} ms`));
          },
          null,
        );
      }
    });
  }

  #ensurePromise(): Promise<T> {
    if (this.#promise === null) {
      if (this.done()) {
        try {
          this.#promise = Promise.resolve(this.#outcome());
        } catch (e) {
          this.#promise = Promise.reject(e);
        }
      } else {
        // One shared executor and two fields, not two closures per awaited future: an executor's
        // 100,000 futures are each awaited once.
        this.#promise = new Promise<T>(capture);
        this.#resolve = captured.resolve;
        this.#reject = captured.reject;
      }
    }
    return this.#promise;
  }

  // biome-ignore lint/suspicious/noThenProperty: a Future is awaitable by design.
  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.#ensurePromise().then(onFulfilled, onRejected);
  }

  /**
   * Calls `fn(future)` when the future is done (at once if it already is), synchronously and in
   * registration order. An exception thrown by `fn` is logged, not thrown.
   */
  addDoneCallback(fn: Callback<T>): void {
    if (typeof fn !== 'function') {
      throw new TypeError(
        `Future.addDoneCallback expects a function: received ${describeValue(fn)}`,
      );
    }
    if (this.done()) {
      invoke(fn, this);
      return;
    }
    (this.#callbacks ??= []).push(fn);
  }

  /** @internal Removes a callback (wait/asCompleted clean up after themselves). */
  _removeDoneCallback(fn: Callback<T>): void {
    const cbs = this.#callbacks;
    if (cbs === null) return;
    const k = cbs.indexOf(fn);
    if (k >= 0) cbs.splice(k, 1);
  }

  /**
   * Executor side: marks the future running, or — if it was cancelled — reports that, so the
   * executor skips the call. Returns false when cancelled.
   * @throws RuntimeError (code `ERR_WEFT_FUTURE_STATE`) when the future is already running or
   *   finished — Python's class here, not InvalidStateError: it is the executor's misuse of the
   *   future, not a result asked for too early.
   */
  setRunningOrNotifyCancel(): boolean {
    if (this.#state === 'CANCELLED') return false;
    if (this.#state === 'PENDING') {
      this.#state = 'RUNNING';
      return true;
    }
    throw new RuntimeError(
      `Future in unexpected state: it is already ${this.#state.toLowerCase()}; setRunningOrNotifyCancel() is called once, on a pending future`,
      'ERR_WEFT_FUTURE_STATE',
    );
  }

  /**
   * Executor side: completes the future with `value`.
   *
   * A thenable (a Promise, an asyncio Task, another Future) is refused: Python would keep the
   * object as the result, but `result()` and `await` resolve a promise, which adopts a thenable
   * instead of returning it — the future would be done with its result still unknown, and
   * `result({ timeout })` would wait for the thenable past its timeout. Set the awaited value,
   * or box the thenable (`{ value: p }`).
   * @throws InvalidStateError when done; TypeError for a thenable (the future stays pending).
   */
  setResult(value: T): void {
    if (this.done())
      throw new InvalidStateError(`Cannot set the result of a future that is ${this.#state}`);
    if (isThenable(value)) {
      throw new TypeError(
        `Future.setResult: the result cannot be a thenable (awaiting the future would adopt it, not return it): received ${describeValue(value)}; set the awaited value, or box it ({ value })`,
      );
    }
    this.#value = value;
    this.#finish('FINISHED');
  }

  /** Executor side: completes the future with `error`. @throws InvalidStateError when done. */
  setException(error: unknown): void {
    if (this.done())
      throw new InvalidStateError(`Cannot set the exception of a future that is ${this.#state}`);
    this.#value = error;
    this.#failed = true;
    this.#finish('FINISHED');
  }

  /** @internal Completes without the done-check (the executor's hot path). */
  _complete(ok: boolean, v: unknown): void {
    if (this.done()) return;
    this.#value = v;
    this.#failed = !ok;
    this.#finish('FINISHED');
  }

  /** @internal The exception of a finished future (undefined otherwise), without a promise. */
  _errorOf(): unknown {
    return this.#state === 'FINISHED' && this.#failed ? this.#value : undefined;
  }

  /** @internal Whether the future finished without an exception (not cancelled). */
  _succeeded(): boolean {
    return this.#state === 'FINISHED' && !this.#failed;
  }

  /** @internal The result of a future that finished successfully (undefined otherwise). */
  _resultNow(): T | undefined {
    return this.#state === 'FINISHED' && !this.#failed ? (this.#value as T) : undefined;
  }

  /** @internal Cancels with a message (shutdown with cancelFutures). */
  _cancel(message: string): void {
    if (this.done()) return;
    this.#value = message;
    this.#finish('CANCELLED');
  }

  /** @internal Called once the future is done: a subclass drops what only a pending call needs. */
  protected _released(): void {}

  #finish(state: 'FINISHED' | 'CANCELLED'): void {
    this.#state = state;
    this[kLink] = null;
    this._released();
    const resolve = this.#resolve;
    if (resolve !== null) {
      const reject = this.#reject as (error: unknown) => void;
      this.#resolve = this.#reject = null;
      if (state === 'FINISHED' && !this.#failed) resolve(this.#value as T);
      else {
        try {
          this.#outcome();
        } catch (e) {
          reject(e);
        }
      }
    }
    const cbs = this.#callbacks;
    if (cbs === null) return;
    this.#callbacks = null;
    for (const cb of cbs) invoke(cb, this);
  }

  /** console.log and util.inspect show the Python-style repr, not the engine's bookkeeping. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  toString(): string {
    const s = this.#refresh();
    if (s !== 'FINISHED') return `<Future state=${s.toLowerCase()}>`;
    return this.#failed
      ? `<Future state=finished raised ${(this.#value as Error)?.name ?? typeof this.#value}>`
      : `<Future state=finished returned ${describeValue(this.#value)}>`;
  }
}

function invoke<T>(fn: Callback<T>, f: Future<T>): void {
  try {
    fn(f);
  } catch (e) {
    // CPython logs "exception calling callback for <Future …>" and carries on.
    const detail = e instanceof Error ? (e.stack ?? String(e)) : String(e);
    process.stderr.write(`weft: exception calling callback for ${f}\n${detail}\n`);
  }
}

function isThenable(x: unknown): boolean {
  return (
    ((typeof x === 'object' && x !== null) || typeof x === 'function') &&
    typeof (x as { then?: unknown }).then === 'function'
  );
}

export function isFuture(x: unknown): x is Future {
  return x instanceof Future;
}
