import { CancelledError } from '../internal/errors.js';
import { callSoon } from '../internal/scheduler.js';
import { type Awaitable, ensureFuture } from './ensure-future.js';
import { Future, FutureWatch, ownAddDoneCallback } from './future.js';

export interface GatherOptions {
  /** Collect errors (and CancelledErrors of cancelled children) as results instead of failing. */
  returnExceptions?: boolean;
}

type Results<A extends readonly unknown[]> = {
  -readonly [K in keyof A]: A[K] extends Awaitable<infer R> ? Awaited<R> : never;
};

/**
 * The future that `gather` returns: cancelling it cancels every child still running (and it
 * ends with a CancelledError once they are done), as `asyncio.gather`'s does.
 */
export class GatheringFuture<T> extends Future<T> {
  /** @internal */ _cancelRequested = false;
  constructor(readonly children: readonly Future<unknown>[]) {
    super();
  }

  override cancel(msg?: string): boolean {
    if (this.done()) return false;
    let any = false;
    for (const c of this.children) if (c.cancel(msg)) any = true;
    if (any) this._cancelRequested = true;
    return any;
  }
}

/** The trailing options: a plain object (an array is an awaitable list given by mistake). */
function isOptions(x: unknown): x is GatherOptions {
  if (typeof x !== 'object' || x === null) return false;
  const proto = Object.getPrototypeOf(x);
  return (
    (proto === Object.prototype || proto === null) &&
    typeof (x as { then?: unknown }).then !== 'function' &&
    typeof (x as { addDoneCallback?: unknown }).addDoneCallback !== 'function'
  );
}

/**
 * Runs awaitables concurrently and resolves to their results, in the order given
 * (`asyncio.gather`). Functions are run as tasks; the same awaitable given twice is waited for
 * once.
 *
 * Without `returnExceptions` the first error (or a child's cancellation, as CancelledError)
 * settles the result at once; the other children keep running. With it, errors are returned in
 * place of results (so each result is typed `unknown`: a value or whatever was thrown).
 *
 * **Cancellation:** cancelling the returned future (or the task awaiting it) cancels every
 * child still running.
 */
export function gather<A extends readonly Awaitable<unknown>[]>(
  ...aws: A
): GatheringFuture<Results<A>>;
export function gather<A extends readonly Awaitable<unknown>[]>(
  ...args: [...A, GatherOptions & { returnExceptions?: false }]
): GatheringFuture<Results<A>>;
export function gather<A extends readonly Awaitable<unknown>[]>(
  ...args: [...A, GatherOptions]
): GatheringFuture<{ -readonly [K in keyof A]: unknown }>;
export function gather(...args: unknown[]): GatheringFuture<unknown[]> {
  let options: GatherOptions = {};
  if (args.length > 0 && isOptions(args[args.length - 1])) options = args.pop() as GatherOptions;
  const returnExceptions = options.returnExceptions === true;
  // The children take the places of their awaitables in the rest array, which is ours: no
  // second array of 100,000 slots for a gather of 100,000 tasks.
  const children = args as Future<unknown>[];
  const outer = new GatheringFuture<unknown[]>(children);
  if (args.length === 0) {
    outer.setResult([]);
    return outer;
  }
  const g = new Gathering(outer, children, returnExceptions);
  // A child given twice is waited for once (CPython's arg_to_fut). A pending future already
  // watched by this gather is a repeat: no Map or Set of 100,000 keys, and no field on every
  // future. Done ones (they keep no watch) and other awaitables go through a Map, made only
  // when one shows up.
  let seenOther: Map<unknown, Future<unknown>> | null = null;
  let i = 0;
  try {
    for (; i < args.length; i++) {
      const a = args[i];
      let f: Future<unknown> | undefined;
      if (a instanceof Future && !a.done() && a.addDoneCallback === ownAddDoneCallback) {
        f = a;
        if (!f._hasDoneCallback(g)) {
          g.total++;
          f._watch(g);
        }
      } else {
        if (Array.isArray(a))
          throw new TypeError(
            `gather() takes the awaitables as separate arguments (gather(...aws)): received an array of length ${a.length}`,
          );
        seenOther ??= new Map();
        f = seenOther.get(a);
        if (f === undefined) {
          f = a instanceof Future ? a : ensureFuture(a as Awaitable<unknown>);
          seenOther.set(a, f);
          g.total++;
          if (!isOwn(f)) {
            // A future of another copy of weft, whose callbacks its own ready queue runs, or one
            // whose addDoneCallback is the user's (CPython calls it): it counts when its callback
            // runs, and so must every child (see Gathering).
            g.countLate = true;
            f.addDoneCallback(g.foreignCallback());
          } else if (f.done()) g.queueCounting(f);
          else f._watch(g);
        }
      }
      children[i] = f;
    }
  } catch (e) {
    // A bad argument (ensureFuture throws): the children met so far keep running, without us.
    g.abandoned = true;
    for (let j = 0; j < i; j++) {
      const c = children[j] as Future<unknown>;
      if (isOwn(c)) c._removeEntry(g);
      else c.removeDoneCallback(g.foreignCallback());
    }
    throw e;
  }
  g.building = false;
  return outer;
}

/**
 * A future watched through its entries: one of this copy of weft whose `addDoneCallback` is
 * Future's own. (isFuture's answer may be a future of another copy: typed Future all the same.)
 */
function isOwn(f: Future<unknown>): boolean {
  return f instanceof Future && f.addDoneCallback === ownAddDoneCallback;
}

/**
 * A gather's watch on its children (see FutureWatch). CPython queues a callback for each child
 * as it ends; all of them but the last, and without `returnExceptions` a child that failed or
 * was cancelled, only count it. Here a child is counted as it ends, and only those queue a
 * callback, at the place CPython's would take. Counting at once keeps that order only while no
 * callback that counts later is still queued: one for a child already done when given, or that
 * ended while gather() was taking its arguments (before the total was known). Until those have
 * run, every child queues a callback that counts when it runs, as CPython's does; with a future
 * of another copy of weft among the children, every child always does.
 */
class Gathering extends FutureWatch {
  /** The distinct children. */
  total = 0;
  /** The children counted as done. */
  finished = 0;
  /** Callbacks queued that count their child when they run (`queueCounting`). */
  counting = 0;
  /** gather() is still taking its arguments: the total is not known yet. */
  building = true;
  /** Every child counts from a queued callback (a child of another copy of weft). */
  countLate = false;
  /** An argument could not be turned into a future: this gather never existed. */
  abandoned = false;
  private foreign: ((fut: Future<unknown>) => void) | null = null;
  /** The children `foreign` has counted: an override may call it twice. */
  private foreignCounted: Set<Future<unknown>> | null = null;

  constructor(
    readonly outer: GatheringFuture<unknown[]>,
    readonly children: Future<unknown>[],
    readonly returnExceptions: boolean,
  ) {
    super();
  }

  _futureDone(fut: Future<unknown>): void {
    if (this.building || this.countLate || this.counting > 0) {
      this.queueCounting(fut);
      return;
    }
    this.finished++;
    // gather takes responsibility for the error: it raises it or returns it.
    if (fut._hasException) fut._markRetrieved();
    if (
      this.finished === this.total ||
      (!this.returnExceptions && (fut._hasException || fut.cancelled()))
    )
      callSoon(childSettles, this, fut);
  }

  /** Queues the child's callback, which counts it when it runs. */
  queueCounting(fut: Future<unknown>): void {
    this.counting++;
    callSoon(childCounts, this, fut);
  }

  /**
   * The callback given to a future of another copy of weft, or to one whose `addDoneCallback` is
   * the user's (one per gather).
   */
  foreignCallback(): (fut: Future<unknown>) => void {
    this.foreign ??= (fut) => {
      // An override may call it while the child is pending (CPython's callback then raises
      // InvalidStateError) or more than once: each child counts once, and only once done, so
      // that the gather never ends with a child still pending.
      if (!fut.done()) return;
      const counted = (this.foreignCounted ??= new Set());
      if (counted.has(fut)) return;
      counted.add(fut);
      // Called back at once by an override, before the total is known: counted from the queue.
      if (this.building) {
        this.queueCounting(fut);
        return;
      }
      this.counting++;
      childCounts(this, fut);
    };
    return this.foreign;
  }

  /** What the callback of `fut`, counted, does. */
  settle(fut: Future<unknown>): void {
    const outer = this.outer;
    if (outer.done()) return;
    if (!this.returnExceptions) {
      if (fut.cancelled()) {
        outer._settle(false, fut._makeCancelledError());
        return;
      }
      if (fut._hasException) {
        outer._settle(false, fut._exception);
        return;
      }
    }
    if (this.finished !== this.total) return;
    if (outer._cancelRequested) {
      outer._settle(false, fut.cancelled() ? fut._makeCancelledError() : new CancelledError());
      return;
    }
    const children = this.children;
    const results = new Array<unknown>(children.length);
    for (let i = 0; i < children.length; i++) {
      const c = children[i] as Future<unknown>;
      results[i] = c.cancelled()
        ? new CancelledError(c._cancelMessage ?? '')
        : c._hasException
          ? c._exception
          : c._result;
    }
    outer.setResult(results);
  }
}

/** A child's callback that counts it (see Gathering). */
function childCounts(g: Gathering, fut: Future<unknown>): void {
  g.counting--;
  if (g.abandoned) return;
  g.finished++;
  if (fut._hasException) fut._markRetrieved();
  g.settle(fut);
}

/** A child's callback, the child counted already. */
function childSettles(g: Gathering, fut: Future<unknown>): void {
  g.settle(fut);
}
