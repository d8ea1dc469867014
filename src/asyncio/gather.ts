import { CancelledError } from '../internal/errors.js';
import { type Awaitable, ensureFuture } from './ensure-future.js';
import { Future } from './future.js';

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
  // The distinct children: callbacks run from the ready queue, after this call has counted them.
  let total = 0;
  let finished = 0;
  /** Set when an argument could not be turned into a future: this gather never existed. */
  let abandoned = false;
  const onChildDone = (fut: Future<unknown>): void => {
    if (abandoned) return;
    finished++;
    // gather takes responsibility for the error: it raises it or returns it.
    if (fut._hasException) fut._markRetrieved();
    if (outer.done()) return;
    if (!returnExceptions) {
      if (fut.cancelled()) {
        outer._settle(false, fut._makeCancelledError());
        return;
      }
      if (fut._hasException) {
        outer._settle(false, fut._exception);
        return;
      }
    }
    if (finished === total) {
      if (outer._cancelRequested) {
        outer._settle(false, fut.cancelled() ? fut._makeCancelledError() : new CancelledError());
        return;
      }
      const results = children.map((c) => {
        if (c.cancelled()) return new CancelledError(c._cancelMessage ?? '');
        return c._hasException ? c._exception : c._result;
      });
      outer.setResult(results);
    }
  };
  // A child given twice is waited for once (CPython's arg_to_fut). A pending future already
  // carrying this gather's callback is a repeat: no Map or Set of 100,000 keys, and no field
  // on every future. Done ones (their callbacks are not kept) and other awaitables go through
  // a Map, made only when one shows up.
  let seenOther: Map<unknown, Future<unknown>> | null = null;
  let i = 0;
  try {
    for (; i < args.length; i++) {
      const a = args[i];
      let f: Future<unknown> | undefined;
      if (a instanceof Future && !a.done()) {
        f = a;
        if (!f._hasDoneCallback(onChildDone)) {
          total++;
          f.addDoneCallback(onChildDone);
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
          total++;
          f.addDoneCallback(onChildDone);
        }
      }
      children[i] = f;
    }
  } catch (e) {
    // A bad argument (ensureFuture throws): the children met so far keep running, without us.
    abandoned = true;
    for (let j = 0; j < i; j++) children[j]?.removeDoneCallback(onChildDone);
    throw e;
  }
  return outer;
}
