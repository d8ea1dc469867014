/**
 * gevent's `wait` and `iwait`: wait for any of several objects — greenlets, `Event`s,
 * `AsyncResult`s (anything with `rawlink`/`unlink`), asyncio futures and tasks — to be ready.
 *
 * Implementation notes
 * --------------------
 * As gevent's `_WaitIterator`, `iwait` links a callback to every object when the iteration
 * begins (its first `next()`); each callback appends its object to a list of the ready, in the
 * order they became ready, and wakes the consumer if it waits. Objects ready already are
 * reported by their own link machinery on the ready queue, in the order given (a dead greenlet's
 * links, an Event's rawlink, a done future's callbacks are all queued). A timeout is one more
 * entry of that list: what became ready before it is still yielded, nothing after it. The links
 * go when the iteration ends, however it ends (`break`, an error, a cancel).
 *
 * `wait()` with no objects is gevent's `hub.join()`: it resolves once Node's loop has nothing left
 * (its `beforeExit`) and weft's ready queue is empty — every greenlet and task has finished or
 * waits for ever, no timer, socket or child is pending. Only the main program can wait for that,
 * as in gevent (only the main greenlet may join the hub): a greenlet or task is itself work the
 * loop still has.
 */
import { RuntimeError } from '../asyncio/errors.js';
import { currentTask } from '../asyncio/task.js';
import { onDryLoop } from '../internal/dry-loop.js';
import { describeValue } from '../internal/errors.js';
import { parseWait, type WaitOptions } from '../internal/wait-options.js';
import { startTimer, stopTimer, type Timer, Waiter, WaiterList } from '../internal/waiter.js';
import { Greenlet, SWITCHED } from './greenlet.js';
import { checkCount } from './joinall.js';
import { watchMainWait } from './loop-exit.js';

/**
 * What `wait`/`iwait` accept: a greenlet; an object of gevent's link protocol (`rawlink(cb)`,
 * `unlink(cb)`, calling `cb(object)` once it is ready: `Event`, `AsyncResult`); or an asyncio
 * future or task (`addDoneCallback`/`removeDoneCallback`).
 */
export type Waitable =
  | Greenlet<any>
  | { rawlink(cb: (x: any) => void): void; unlink(cb: (x: any) => void): void }
  | {
      addDoneCallback(cb: (x: any) => void): void;
      removeDoneCallback(cb: (x: any) => void): unknown;
    };

export interface WaitObjectsOptions extends WaitOptions {
  /** Stop once this many objects are ready (default: all of them). */
  count?: number | null;
}

/** The end of the timeout, among the ready objects. */
const TIMED_OUT: unique symbol = Symbol('timed out');

/**
 * Yields the objects as they become ready, in that order, until all of them — or `count` —
 * were yielded, or `timeout` ms have passed since the iteration began (then it just ends, as
 * gevent's `iwait`). Objects ready already come first, in the order given.
 *
 * **Cancellation:** cancelling the iterating task (or aborting `signal`) raises at the `for
 * await`; the links are removed whichever way the iteration ends. The objects are not touched.
 * @throws TypeError, RangeError at once for bad arguments (an object that cannot be waited for,
 *   a bad `count` or `timeout`); LoopExit from the iteration when the main program waits and
 *   nothing is left that could end the wait.
 */
export function iwait<T extends Waitable>(
  objects: Iterable<T>,
  options?: WaitObjectsOptions,
): WaitIterator<T> {
  const list = checkObjects('iwait', objects);
  const { timeout, signal } = parseWait('iwait', options);
  const count = checkCount('iwait', options?.count);
  return new WaitIterator(
    list,
    timeout,
    signal,
    count === null ? list.length : Math.min(count, list.length),
  );
}

/** A ready object, boxed: a future or task is a thenable, which a promise would adopt. */
interface Box<T> {
  x: T;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/**
 * What `iwait` returns: an async iterator of the objects as they become ready (gevent's
 * `_WaitIterator`). Not an async generator: a generator's `yield` would await a future or task
 * and yield its result instead of the object. `await using` (or `return()`) ends it early and
 * removes its links, as gevent's `with iwait(...)`.
 */
export class WaitIterator<T extends Waitable> implements AsyncIterableIterator<T> {
  private begun = false;
  private finished = false;
  /** How many objects may still be handed out. */
  private left: number;
  /** Objects ready that no `next()` took yet, in order; `TIMED_OUT` ends the iteration. */
  private readonly ready: (T | typeof TIMED_OUT)[] = [];
  private readonly consumers = new WaiterList();
  private timer: Timer | null = null;
  private readonly onGreenlet = (g: Greenlet<any>): typeof SWITCHED | undefined =>
    // Waking the consumer is gevent's switch to it (see Greenlet._runLinks).
    this.arrived(g as T) ? SWITCHED : undefined;
  private readonly onReady = (x: T): void => {
    this.arrived(x);
  };

  constructor(
    private readonly list: T[],
    private readonly timeout: number | null,
    private readonly signal: AbortSignal | null,
    count: number,
  ) {
    this.left = count;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * The next object to become ready (links every object on the first call, and starts the
   * timeout then, as gevent's).
   */
  next(): Promise<IteratorResult<T, undefined>> {
    if (this.finished || this.left === 0) {
      this.finish();
      return Promise.resolve(DONE);
    }
    if (this.signal?.aborted) {
      this.finish();
      return Promise.reject(this.signal.reason);
    }
    if (!this.begun) this.begin();
    this.left--;
    if (this.ready.length > 0) return Promise.resolve(this.result(this.ready.shift()!));
    const w = new Waiter<Box<T> | typeof TIMED_OUT>(null);
    this.consumers.push(w);
    if (this.signal !== null) w.setSignal(this.signal);
    watchMainWait(
      w,
      () =>
        `the main program's iwait waits for ${this.list
          .filter((x) => !isReady(x))
          .map(describeObject)
          .join('; ')}`,
    );
    return w.block().then(
      (b) => this.result(b === TIMED_OUT ? b : b.x),
      (e) => {
        this.finish();
        throw e;
      },
    );
  }

  /** Ends the iteration and removes the links. */
  return(): Promise<IteratorResult<T, undefined>> {
    this.finish();
    return Promise.resolve(DONE);
  }

  /** Ends the iteration and removes the links, then raises `error`. */
  throw(error?: unknown): Promise<IteratorResult<T, undefined>> {
    this.finish();
    return Promise.reject(error);
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.finish();
    return Promise.resolve();
  }

  private result(x: T | typeof TIMED_OUT): IteratorResult<T, undefined> {
    if (x !== TIMED_OUT) return { value: x, done: false };
    this.finish();
    return DONE;
  }

  private begin(): void {
    this.begun = true;
    for (const x of this.list) link(x, this.onGreenlet, this.onReady);
    if (this.timeout !== null) this.timer = startTimer(this.timeout, timedOut, this);
  }

  /** @internal */
  _timedOut(): void {
    this.timer = null;
    this.arrived(TIMED_OUT);
  }

  /** An object became ready: to the `next()` waiting, or kept for the next one. */
  private arrived(x: T | typeof TIMED_OUT): boolean {
    if (this.finished) return false;
    const w = this.consumers.shift();
    if (w !== null) return w.wake(x === TIMED_OUT ? x : { x });
    this.ready.push(x);
    return false;
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    stopTimer(this.timer);
    this.timer = null;
    if (this.begun) for (const x of this.list) unlink(x, this.onGreenlet, this.onReady);
    this.ready.length = 0;
    for (let w = this.consumers.shift(); w !== null; w = this.consumers.shift()) w.wake(TIMED_OUT);
  }
}

function timedOut(it: WaitIterator<any>): void {
  it._timedOut();
}

/**
 * Waits for the objects (gevent's `wait(objects, timeout, count)`) and resolves to those ready,
 * in the order they became ready: all of them, the first `count`, or those ready when `timeout`
 * passed. With no objects (`wait()`, `wait(null, { timeout })`), gevent's `wait()`: resolves
 * true once the loop has nothing left to do (every greenlet and task finished or blocked for
 * ever, no timer, socket or child pending), false when `timeout` passes first.
 * @throws TypeError, RangeError for bad arguments; RuntimeError for `wait()` with no objects
 *   inside a greenlet or task (only the main program can wait for the loop to run dry, as only
 *   gevent's main greenlet can); LoopExit as `iwait`.
 */
export function wait(objects?: null, options?: WaitOptions): Promise<boolean>;
export function wait<T extends Waitable>(
  objects: Iterable<T>,
  options?: WaitObjectsOptions,
): Promise<T[]>;
export function wait<T extends Waitable>(
  objects?: Iterable<T> | null,
  options?: WaitObjectsOptions,
): Promise<T[] | boolean> {
  if (objects === undefined || objects === null) return waitForLoop(options);
  let it: WaitIterator<T>;
  try {
    it = iwait(objects, options);
  } catch (e) {
    return Promise.reject(e);
  }
  return collect(it);
}

async function collect<T extends Waitable>(it: WaitIterator<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** `wait()` with no objects: the main program waits for the loop to have nothing left. */
function waitForLoop(options: WaitOptions | undefined): Promise<boolean> {
  let timeout: number | null;
  let signal: AbortSignal | null;
  try {
    ({ timeout, signal } = parseWait('wait', options));
    if (currentTask() !== null) {
      throw new RuntimeError(
        'wait() with no objects waits for the loop to run dry: only the main program can, outside every greenlet and task (as gevent allows it only in the main greenlet); pass the objects to wait for',
      );
    }
  } catch (e) {
    return Promise.reject(e);
  }
  if (signal?.aborted) return Promise.reject(signal.reason);
  const w = new Waiter<boolean>(null);
  const stop = onDryLoop(() => w.wake(true));
  // As gevent's hub.join: the timeout does not keep the loop alive by itself.
  const timer =
    timeout === null ? null : setTimeout(() => w.withdraw(true, false), timeout).unref();
  if (signal !== null) w.setSignal(signal);
  const done = (): void => {
    stop();
    if (timer !== null) clearTimeout(timer);
  };
  w.promise.then(done, done);
  return w.block();
}

function link<T extends Waitable>(
  x: T,
  onGreenlet: (g: Greenlet<any>) => unknown,
  onReady: (x: T) => void,
): void {
  if (x instanceof Greenlet) x.link(onGreenlet as (g: Greenlet<any>) => void);
  else if (typeof (x as any).rawlink === 'function') (x as any).rawlink(onReady);
  else (x as any).addDoneCallback(onReady);
}

function unlink<T extends Waitable>(
  x: T,
  onGreenlet: (g: Greenlet<any>) => unknown,
  onReady: (x: T) => void,
): void {
  if (x instanceof Greenlet) x.unlink(onGreenlet as (g: Greenlet<any>) => void);
  else if (typeof (x as any).rawlink === 'function') (x as any).unlink(onReady);
  else (x as any).removeDoneCallback(onReady);
}

function isReady(x: Waitable): boolean {
  const o = x as any;
  if (typeof o.ready === 'function') return Boolean(o.ready());
  if (typeof o.done === 'function') return Boolean(o.done());
  return false;
}

function describeObject(x: Waitable): string {
  if (x instanceof Greenlet) return x.describeState();
  const o = x as any;
  if (typeof o.describe === 'function') return String(o.describe());
  return describeValue(x);
}

/** The objects of an iterable. @throws TypeError for anything else. */
function checkObjects<T>(what: string, objects: Iterable<T>): T[] {
  if (
    objects === null ||
    typeof objects !== 'object' ||
    typeof (objects as any)[Symbol.iterator] !== 'function'
  ) {
    throw new TypeError(
      `${what} expects an iterable of objects to wait for: received ${describeValue(objects)}`,
    );
  }
  const list = [...objects];
  for (const x of list) {
    const o = x as any;
    const ok =
      x instanceof Greenlet ||
      (o !== null &&
        typeof o === 'object' &&
        ((typeof o.rawlink === 'function' && typeof o.unlink === 'function') ||
          (typeof o.addDoneCallback === 'function' && typeof o.removeDoneCallback === 'function')));
    if (!ok) {
      throw new TypeError(
        `${what} expects greenlets, Events, AsyncResults (rawlink/unlink) or asyncio futures and tasks: received ${describeValue(x)}`,
      );
    }
  }
  return list;
}
