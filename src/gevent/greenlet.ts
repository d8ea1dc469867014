/**
 * `Greenlet`, `spawn` and `getcurrent`: gevent's unit of work as a thin layer on an asyncio Task.
 *
 * Implementation notes
 * --------------------
 * A greenlet owns one asyncio Task, created by `start()`. The ready queue, cancellation and the
 * current-task slot are the Task's: gevent here has no scheduler of its own, so greenlets,
 * asyncio tasks and every weft primitive interleave in one FIFO. What this layer adds is
 * gevent's view of the outcome:
 *
 *   spawn(fn) ──► Task ──(body runs on the ready queue)──► done ──► died(): wake joiners,
 *                  ▲                                                        run links
 *   kill() ── its turn on the ready queue ──┘ task cancelled with a GreenletExit (a
 *                                             CancelledError); the greenlet runs next
 *
 *   - a kill is gevent's hub callback (`_kill`): queued where it is made, it throws into the
 *     greenlet when its turn comes, through a switch (switch.ts, `throwInto`), so the
 *     greenlet runs next, and a blocking killer right after it. A greenlet woken before the
 *     kill's turn (its sleep ended, a put gave it an item) runs first and gets the kill at its
 *     next wait; `killall` throws into each greenlet in turn from one such callback;
 *   - a greenlet that ends with GreenletExit is *successful*, and the GreenletExit is its
 *     `value` (gevent's rule: killing is not a failure);
 *   - a greenlet killed before its first step never runs and is dead at once (gevent ≥ 1.1);
 *   - a greenlet that returns while a kill or a Timeout's expiry has not reached it yet (it
 *     killed itself with `block: false`, or was busy) ends with what it returned: gevent's
 *     throw into a greenlet already dead is lost (asyncio would end the task cancelled);
 *   - `join()` never throws the greenlet's error, `get()` does;
 *   - link callbacks run on the ready queue after the task is done, in registration order;
 *     a join (`join`, `get`, `joinall`) is a registration too: gevent's hub switches to a
 *     joiner in the middle of its links, and so does `_runLinks` (the joiner resumes next, the
 *     rest are served once it blocks, before anything else ready).
 */
import { currentTask, Task } from '../asyncio/task.js';
import { CancelledError, DeadlockError, describeValue } from '../internal/errors.js';
import { callSoon, reportException } from '../internal/scheduler.js';
import { parseBlocking, parseWait, type WaitOptions } from '../internal/wait-options.js';
import { startTimer, stopTimer, type Timer, Waiter, WaiterList } from '../internal/waiter.js';
import { type ErrorOrClass, GreenletExit, makeError } from './errors.js';
import { watchMainWait } from './loop-exit.js';
import { switchInto, throwInto } from './switch.js';
import { Timeout } from './timeout.js';

export type LinkCallback<T> = (greenlet: Greenlet<T>) => void;

export interface GetOptions extends WaitOptions {
  /** `false`: answer now; a greenlet still running raises `Timeout` at once. */
  block?: boolean;
}

export interface KillOptions {
  /**
   * The error raised inside the greenlet, or an error class, made anew for each greenlet
   * (default: `GreenletExit`). A class must take no constructor arguments.
   */
  exception?: ErrorOrClass;
  /** Wait for the greenlet to die (default true, as in gevent). */
  block?: boolean;
  /** With `block`: wait at most this many milliseconds. */
  timeout?: number | null;
}

const NOT_KILLED: unique symbol = Symbol('not killed');
const RESOLVED: Promise<void> = Promise.resolve();
const byTask = new WeakMap<Task<any>, Greenlet<any>>();
let greenletCounter = 0;

/**
 * A greenlet: a function running concurrently with the others, cooperatively, on weft's one
 * ready queue (gevent's `Greenlet`). Create and start one with `spawn(fn, ...args)`, or
 * `new Greenlet(fn, ...args)` and `start()`.
 *
 * Its outcome: `ready()`/`dead` once it has finished; `successful()` when it returned or was
 * killed with `GreenletExit`; `value` (the return value, or the GreenletExit that killed it)
 * and `exception` (the error it raised), both `null` until then. `join()` waits without
 * raising; `get()` waits and returns the value or raises the error.
 *
 * **Cancellation:** `kill()` raises `GreenletExit` (a `CancelledError`) at the weft await the
 * greenlet is blocked on when the kill's turn comes on the ready queue, as gevent's hub callback
 * does; the greenlet may catch it to clean up. A greenlet killed before its first step never
 * runs. Cancelling a task blocked in `join()` or `get()` ends that wait and leaves the greenlet
 * alone.
 *
 * @example
 * const g = spawn(async (ms: number) => { await sleep(ms); return 'slept'; }, 100);
 * await g.join();
 * g.value; // 'slept'
 */
export class Greenlet<T = unknown, A extends unknown[] = any[]> {
  private _name: string;
  private readonly fn: (...args: any[]) => unknown;
  private readonly args: unknown[];
  private _task: Task<any> | null = null;
  /** The body has begun: a kill from now on is delivered inside it. */
  private ran = false;
  /** The error a kill before the first step ended the greenlet with. */
  private killedEarly: unknown = NOT_KILLED;
  private notified = false;
  /** A run of the links is in progress or queued (a link made then needs no run of its own). */
  private lateLinksQueued = false;
  /** Registrations so far (links and joins): the order `_runLinks` serves them in. */
  private registrations = 0;
  /** `startLater()`'s timer, until it starts the greenlet. */
  private laterTimer: Timer | null = null;
  private links: LinkCallback<any>[] | null = null;
  /** The registration number of each of `links` (joiners' are in `joinOrder`). */
  private linkOrder: number[] = [];
  private readonly joiners = new WaiterList();
  /** The errors `kill()` requested once the body ran (a plain CancelledError among them). */
  private killErrors: Error[] | null = null;

  /**
   * `fn` must accept `args` (a compile error otherwise, as `spawn`'s); `A`, their types, serves
   * only that check.
   */
  constructor(fn: (...args: A) => T | PromiseLike<T>, ...args: A) {
    if (typeof fn !== 'function') {
      throw new TypeError(`A greenlet needs a function to run: received ${describeValue(fn)}`);
    }
    this.fn = fn;
    this.args = args;
    this._name = `Greenlet-${++greenletCounter}`;
  }

  /** Creates a greenlet running `fn(...args)` and starts it (`gevent.spawn`). */
  static spawn<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Greenlet<Awaited<R>> {
    const g = new Greenlet<Awaited<R>>(fn as (...a: any[]) => Awaited<R>, ...args);
    g.start();
    return g;
  }

  /** Defaults to `Greenlet-N`; also the name of its task. */
  get name(): string {
    return this._name;
  }

  set name(value: string) {
    this._name = String(value);
    this._task?.setName(this._name);
  }

  /**
   * The asyncio Task running the greenlet (null before `start()`), for use with asyncio APIs
   * (`wait`, `gather`). Typed `Task<any>` so that a `Greenlet<never>` (a function that only
   * throws) stays assignable to `Greenlet<any>`.
   */
  get task(): Task<any> | null {
    return this._task;
  }

  /**
   * Scheduled (by `start()` or `startLater()`) or running, and not dead yet (gevent's
   * `bool(greenlet)`).
   */
  get started(): boolean {
    return (this._task !== null || this.laterTimer !== null) && !this.dead;
  }

  /** Finished, or killed before it ran: it will not run again. */
  get dead(): boolean {
    return this.killedEarly !== NOT_KILLED || (this._task?.done() ?? false);
  }

  /** True once the greenlet has finished (the same as `dead`). */
  ready(): boolean {
    return this.dead;
  }

  /** True once the greenlet has finished without an error (a kill is not an error). */
  successful(): boolean {
    return this.outcome()?.ok ?? false;
  }

  /** What the function returned, or the GreenletExit that killed it; null until then. */
  get value(): T | GreenletExit | null {
    const o = this.outcome();
    return o?.ok ? (o.value as T | GreenletExit) : null;
  }

  /** The error the greenlet raised; null while it runs or when it was successful. */
  get exception(): unknown {
    const o = this.outcome();
    return o !== null && !o.ok ? o.value : null;
  }

  /** Schedules the greenlet to run (it starts when the caller next suspends). Idempotent. */
  start(): void {
    if (this._task !== null || this.killedEarly !== NOT_KILLED || this.laterTimer !== null) return;
    const task = new GreenletTask(
      () => {
        this.ran = true;
        return this.fn(...this.args);
      },
      this,
      this._name,
    );
    byTask.set(task, this);
    this._task = task;
    task.addDoneCallback(() => this._died());
  }

  /**
   * Schedules the greenlet to start in `ms` milliseconds (gevent's `start_later`); it counts as
   * `started` from now on. A kill before then stops the timer: the greenlet never runs.
   * Idempotent, as `start()`, which does nothing while this timer runs.
   * @throws TypeError for a delay that is not a number, RangeError for a negative one.
   */
  startLater(ms: number): void {
    if (typeof ms !== 'number' || Number.isNaN(ms)) {
      throw new TypeError(
        `Greenlet.startLater expects a number of milliseconds: received ${describeValue(ms)}`,
      );
    }
    if (ms < 0) throw new RangeError(`Greenlet.startLater expects a delay >= 0: received ${ms}`);
    if (this._task !== null || this.killedEarly !== NOT_KILLED || this.laterTimer !== null) return;
    this.laterTimer = startTimer(ms, startNow, this) ?? LATER_NEVER;
  }

  /** @internal `startLater()`'s timer fired. */
  _startNow(): void {
    this.laterTimer = null;
    this.start();
  }

  /**
   * Waits until the greenlet is dead, or `timeout` ms have passed; never raises the greenlet's
   * error. Resolves true when it is dead, false on timeout.
   *
   * **Cancellation:** cancelling the waiting task (or aborting `signal`) ends the wait only.
   * @throws DeadlockError when a greenlet joins itself; LoopExit when the main program (code
   * outside every greenlet and task) waits and nothing is left that could end the wait.
   */
  join(options?: WaitOptions): Promise<boolean> {
    let timeout: number | null;
    let signal: AbortSignal | null;
    try {
      ({ timeout, signal } = parseWait('Greenlet.join', options));
    } catch (e) {
      return Promise.reject(e);
    }
    // An aborted signal rejects every wait, even one that could answer at once (weft-wide, as
    // every waiting call of weft/asyncio and concurrent futures).
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.dead) return Promise.resolve(true);
    if (getcurrent() === this) {
      return Promise.reject(
        new DeadlockError(`${this.describe()} cannot join itself: it would wait for ever`),
      );
    }
    const w = new Waiter<boolean>(this);
    this.joiners.push(w);
    joinOrder.set(w, ++this.registrations);
    if (signal) w.setSignal(signal);
    if (timeout !== null) w.setTimeout(timeout, (x) => x.withdraw(true, false));
    watchMainWait(w, () => `the main program waits for ${this.describeState()}`);
    return w.block();
  }

  /**
   * @internal How a `LoopExit` names the greenlet waited for: never started, or what it waits
   * for.
   */
  describeState(): string {
    if (this.dead) return `${this.describe()}, which is dead`;
    const t = this._task;
    if (t === null) {
      return this.laterTimer === null
        ? `${this.describe()}, which was never started`
        : `${this.describe()}, which will never start (startLater with an infinite delay)`;
    }
    return this.ran
      ? `${this.describe()}, which waits for ${t.describeWait()}`
      : `${this.describe()}, which has not run yet`;
  }

  /**
   * Waits for the greenlet and returns its value, or raises its error.
   * @throws Timeout when `timeout` passes first, or at once with `block: false` while it runs.
   */
  async get(options: GetOptions = {}): Promise<T | GreenletExit> {
    const block = options?.block ?? true;
    if (typeof block !== 'boolean') {
      throw new TypeError(
        `Greenlet.get: block must be a boolean: received ${describeValue(block)}`,
      );
    }
    // Checked even when dead: a bad option is a TypeError, an aborted signal rejects, whether
    // or not the value is there already (weft-wide).
    const { timeout, signal } = parseWait('Greenlet.get', options);
    if (signal?.aborted) throw signal.reason;
    if (!this.dead) {
      if (!block) throw new Timeout(0);
      if (!(await this.join(options))) throw new Timeout(timeout);
    }
    const o = this.outcome()!;
    if (o.ok) return o.value as T | GreenletExit;
    throw o.value;
  }

  /**
   * Raises `exception` inside the greenlet: an error, or an error class to make one of (a new
   * `GreenletExit` by default). Killing a dead greenlet does nothing; killing one that has not
   * run yet means it never will. Otherwise the kill takes its turn on the ready queue, as
   * gevent's hub callback does: the greenlet gets the error at the weft await it is blocked on
   * then (a greenlet woken before that turn runs first), and runs at once.
   *
   * With `block` (the default) the promise resolves once the greenlet has had the error and
   * run until it blocked or died — right after it, as gevent's killer is switched to — and, if
   * it is still alive, once it is dead or `timeout` ms have passed (its `join`). A greenlet that
   * kills itself with `block` gets the error from this call's promise: await it, as any
   * blocking call. With `block: false` the promise resolves at once.
   *
   * **Cancellation:** the blocking wait is a wait like any other: a kill of the caller (or a
   * cancel, a Timeout's expiry) that comes meanwhile is raised from it; the kill goes on.
   * @throws TypeError, RangeError for bad arguments (the promise rejects; nothing is killed).
   */
  kill(options: KillOptions = {}): Promise<void> {
    // A bad argument rejects, as every verb returning a promise does (docs/socket.md).
    let exception: Error;
    let block: boolean;
    let timeout: number | null;
    try {
      ({ exception, block, timeout } = checkKill(options));
    } catch (e) {
      return Promise.reject(e);
    }
    if (this._killBeforeRun(exception)) return RESOLVED;
    // gevent's kill is a callback of its hub (`run_callback(_kill, …)`) that throws into the
    // greenlet when its turn comes: a greenlet woken before then (its sleep ended, a put gave it
    // an item) runs first, and the kill reaches it at its next wait.
    const killer = block ? new Waiter<void>(this) : null;
    callSoon(deliverKill, new KillCall([this], [exception], killer));
    if (killer === null) return RESOLVED;
    return this.waitKilled(killer, timeout);
  }

  private async waitKilled(killer: Waiter<void>, timeout: number | null): Promise<void> {
    const self = getcurrent() === this;
    await killer.block();
    // A greenlet that killed itself and went on without awaiting this (the kill reached it at
    // its next wait instead) is not joined by itself.
    if (!this.dead && !self) await this.join({ timeout });
  }

  /**
   * @internal The first half of a kill: a greenlet dead, or killed before its body ran (it never
   * will: its links run on the next turn, as gevent's), is done with (true); one that has run
   * records `exception` for the throw to come (false).
   */
  _killBeforeRun(exception: Error): boolean {
    if (this.dead) return true;
    const task = this._task;
    if (task !== null && this.ran) {
      (this.killErrors ??= []).push(exception);
      return false;
    }
    this.killedEarly = exception;
    if (this.laterTimer !== null) {
      if (this.laterTimer !== LATER_NEVER) stopTimer(this.laterTimer);
      this.laterTimer = null;
    }
    // The task never runs its body: it ends cancelled, quietly (an exception there would be
    // reported as never retrieved); the greenlet's outcome is `exception`.
    // The links run on the next turn, as gevent's do, not once the task has run its
    // cancellation (one more turn): `_died` runs once, whichever comes first.
    if (task !== null) task._requestCancel(new GreenletExit());
    callSoon(runDied, this);
    return true;
  }

  /**
   * Calls `cb(greenlet)` once the greenlet is dead (on the ready queue, if it is already; an
   * `unlink` before then still removes it, as in gevent).
   */
  link(cb: LinkCallback<T>): void {
    if (typeof cb !== 'function') {
      throw new TypeError(`Greenlet.link expects a function: received ${describeValue(cb)}`);
    }
    (this.links ??= []).push(cb);
    this.linkOrder.push(++this.registrations);
    if (this.notified && !this.lateLinksQueued) {
      this.lateLinksQueued = true;
      callSoon(runLateLinks, this);
    }
  }

  /** As `link`, but `cb` runs only if the greenlet was successful (gevent's `link_value`). */
  linkValue(cb: LinkCallback<T>): void {
    this.link(onlyIf(cb, true));
  }

  /** As `link`, but `cb` runs only if the greenlet failed (gevent's `link_exception`). */
  linkException(cb: LinkCallback<T>): void {
    this.link(onlyIf(cb, false));
  }

  /**
   * Removes the first registration of `cb` still waiting to run (by `link`, `linkValue` or
   * `linkException`); one registration per call, as gevent's. Does nothing if there is none.
   */
  unlink(cb: LinkCallback<T>): void {
    const links = this.links;
    if (links === null) return;
    const i = links.findIndex((x) => x === cb || (x as Conditional<T>).linked === cb);
    if (i >= 0) {
      links.splice(i, 1);
      this.linkOrder.splice(i, 1);
    }
  }

  /** "Greenlet 'name'" — how errors and deadlock reports refer to it. */
  describe(): string {
    return `Greenlet '${this._name}'`;
  }

  get [Symbol.toStringTag](): string {
    return 'Greenlet';
  }

  /** @internal wakes the joiners and runs the links, once. */
  _died(): void {
    if (this.notified) return;
    this.notified = true;
    this.killErrors = null;
    this.reportFailure();
    this._runLinks();
  }

  /**
   * A greenlet that failed is reported at once, before its links run, as gevent's hub prints
   * "<Greenlet …> failed with E" and the traceback: whether or not anyone joins it or reads
   * its `exception` later. A kill (GreenletExit) is no failure; a plain CancelledError (a
   * `g.task.cancel()`) is asyncio's cancellation, which asyncio does not report either.
   */
  private reportFailure(): void {
    const o = this.outcome();
    if (o === null || o.ok || o.value instanceof CancelledError) return;
    reportException(`${this.describe()} failed with ${errorKind(o.value)}`, o.value);
  }

  /**
   * @internal Serves the links and joiners registered so far, one at a time, in registration
   * order. Waking a joiner (or a link that wakes a waiting greenlet: `joinall`'s) is gevent's
   * switch to it: the woken greenlet runs next, and the rest are served once it blocks again,
   * before anything else ready (scheduler.ts, `endSwitch`), as gevent's hub goes on with them.
   */
  _runLinks(): void {
    this.lateLinksQueued = true; // a link made by a callback is served by this run
    // Taken one at a time: a callback may unlink a later one, or link another, on the way.
    for (;;) {
      const links = this.links;
      if (this.joiners.head === null && (links === null || links.length === 0)) break;
      // The rest once the woken greenlet blocks: links it makes meanwhile among them (gevent's
      // pass serves those too). A callback that woke someone on its own account (an Event it
      // set) did not switch: that wake-up takes its turn at the end of the queue, as gevent's
      // notifier would, and the next registration is served now.
      if (switchInto(serveNext, this, undefined, runLateLinks, false, linksFailed) > 0) return;
    }
    this.links = null;
    this.lateLinksQueued = false;
  }

  /**
   * @internal Serves the first registration (a joiner or a link): true when that switched to a
   * greenlet (a joiner woken, or a link callback returning `SWITCHED`).
   */
  _serveNext(): boolean {
    const links = this.links;
    const w = this.joiners.head;
    const nextLink =
      (links !== null && links.length > 0 ? this.linkOrder[0] : undefined) ?? Infinity;
    if (w !== null && (joinOrder.get(w) ?? 0) < nextLink) {
      this.joiners.shift();
      w.wake(true);
      return true;
    }
    const cb = (links as LinkCallback<any>[]).shift() as LinkCallback<any>;
    this.linkOrder.shift();
    return runLink(cb, this) === SWITCHED;
  }

  /**
   * @internal Whether the body returning may drop `pending`, a request that has not reached it:
   * a kill's error or a Timeout's (anything but a plain CancelledError, which `g.task.cancel()`
   * makes, and which ends the task cancelled, as asyncio's).
   */
  _returnWinsOver(pending: Error): boolean {
    return pending.constructor !== CancelledError || (this.killErrors?.includes(pending) ?? false);
  }

  private outcome(): { ok: boolean; value: unknown } | null {
    if (this.killedEarly !== NOT_KILLED) {
      return { ok: this.killedEarly instanceof GreenletExit, value: this.killedEarly };
    }
    const t = this._task;
    if (t === null || !t.done()) return null;
    try {
      return { ok: true, value: t.result() };
    } catch (e) {
      return { ok: e instanceof GreenletExit, value: e };
    }
  }
}

/**
 * The task of a greenlet. A body that returns while a kill or a Timeout's expiry is still on its
 * way to it (not raised at an await yet) ends with its value, as a gevent greenlet does: the
 * hub's throw into a greenlet already dead does nothing. (An asyncio task ends cancelled then.)
 */
class GreenletTask extends Task<unknown> {
  private readonly greenlet: Greenlet<any>;

  constructor(body: () => unknown, greenlet: Greenlet<any>, name: string) {
    super(body, { name });
    this.greenlet = greenlet;
  }

  override _finish(ok: boolean, value: unknown): void {
    if (ok && !this.done()) {
      // Each kill or expiry still pending is dropped. Taking it back makes a request held behind
      // it pending (a plain `task.cancel()` made before the kill), which still ends the task.
      let pending = this._pendingCancel;
      while (pending !== null && this.greenlet._returnWinsOver(pending)) {
        this._takeBackCancel(pending);
        const next = this._pendingCancel;
        if (next === pending) break;
        pending = next;
      }
    }
    super._finish(ok, value);
  }
}

/** @internal The options of a kill, checked. @throws TypeError, RangeError. */
export function checkKill(options: unknown): {
  exception: Error;
  block: boolean;
  timeout: number | null;
} {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `Greenlet.kill: options must be an object: received ${describeValue(options)}`,
    );
  }
  const o = options as KillOptions;
  const exception = makeError('Greenlet.kill', o.exception ?? GreenletExit);
  const block = parseBlocking('Greenlet.kill', o.block, 'block');
  const { timeout } = parseWait('Greenlet.kill', { timeout: o.timeout });
  return { exception, block, timeout };
}

/**
 * @internal What a link callback returns when it has woken a greenlet waiting for this one
 * (gevent switches to it there): that greenlet runs next, and `_runLinks` serves the later
 * registrations once it blocks.
 */
export const SWITCHED: unique symbol = Symbol('switched');

/** The registration number of each joiner (see `Greenlet._runLinks`). */
const joinOrder = new WeakMap<Waiter<boolean>, number>();

/** A `linkValue`/`linkException` callback: `linked` is what `unlink` is given. */
type Conditional<T> = LinkCallback<T> & { linked: LinkCallback<T> };

function onlyIf<T>(cb: LinkCallback<T>, ok: boolean): LinkCallback<T> {
  if (typeof cb !== 'function') {
    throw new TypeError(`Greenlet.link expects a function: received ${describeValue(cb)}`);
  }
  const f = ((g: Greenlet<T>): void => {
    if (g.successful() === ok) cb(g);
  }) as Conditional<T>;
  f.linked = cb;
  return f;
}

/** `startLater` with a delay no timer can hold (Infinity): it never starts. */
const LATER_NEVER = { never: true } as unknown as Timer;

function startNow(g: Greenlet<any>): void {
  g._startNow();
}

/** @internal A kill on its way: gevent's `_kill` (one greenlet) or `_killall3` callback. */
export class KillCall {
  constructor(
    readonly greenlets: Greenlet<any>[],
    readonly errors: Error[],
    /** The blocking killer's wait, woken once every greenlet had its turn. */
    readonly killer: Waiter<void> | null,
  ) {}
}

/**
 * A kill's turn has come: each greenlet gets its error where it waits and runs next, until it
 * blocks or dies, one after the other, and then the killer (gevent throws into each and then
 * switches to the killer, from this one callback).
 */
export function deliverKill(k: KillCall): void {
  throwInto(k.greenlets, k.errors, k.killer, 'Exception while delivering a kill');
}

function runDied(g: Greenlet<any>): void {
  g._died();
}

function runLateLinks(g: Greenlet<any>): void {
  g._runLinks();
}

function serveNext(g: Greenlet<any>): boolean {
  return g._serveNext();
}

/**
 * Only weft's own reporting can throw while the links are served (a `describe` that throws):
 * the rest are still served, from a callback of their own.
 */
function linksFailed(g: Greenlet<any>): void {
  callSoon(runLateLinks, g);
}

/** How a failure report names the error: its class, or the value thrown. */
function errorKind(e: unknown): string {
  try {
    if (e instanceof Error) {
      // A weft class names itself by `kind`; a subclass of the user's by its own name.
      const ctor = e.constructor as { kind?: unknown; name?: unknown } | undefined;
      if (ctor !== undefined && Object.hasOwn(ctor, 'kind') && typeof ctor.kind === 'string') {
        return ctor.kind;
      }
      return typeof ctor?.name === 'string' && ctor.name !== '' ? ctor.name : e.name;
    }
    return describeValue(e);
  } catch {
    return 'an error that cannot be described';
  }
}

function runLink<T>(cb: LinkCallback<T>, g: Greenlet<T>): unknown {
  try {
    return cb(g);
  } catch (e) {
    reportException(`Exception in a link callback of ${g.describe()}`, e);
    return undefined;
  }
}

/** Creates a greenlet running `fn(...args)` and starts it (`gevent.spawn`). */
export function spawn<A extends unknown[], R>(
  fn: (...args: A) => R,
  ...args: A
): Greenlet<Awaited<R>> {
  return Greenlet.spawn(fn, ...args);
}

/**
 * Creates a greenlet running `fn(...args)` and starts it in `ms` milliseconds
 * (`gevent.spawn_later`).
 * @throws TypeError for a delay that is not a number or `fn` not a function, RangeError for a
 * negative delay.
 */
export function spawnLater<A extends unknown[], R>(
  ms: number,
  fn: (...args: A) => R,
  ...args: A
): Greenlet<Awaited<R>> {
  const g = new Greenlet<Awaited<R>>(fn as (...a: any[]) => Awaited<R>, ...args);
  g.startLater(ms);
  return g;
}

/** The greenlet whose code is running, or null outside every greenlet (`gevent.getcurrent`). */
export function getcurrent(): Greenlet<unknown> | null {
  const t = currentTask();
  return t === null ? null : (byTask.get(t) ?? null);
}
