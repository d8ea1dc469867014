import { CancelledError } from '../internal/errors.js';
import { type Awaitable, ensureFuture } from './ensure-future.js';
import { Future } from './future.js';

export interface GatherOptions {
  /** Collect errors (and CancelledErrors of cancelled children) as results instead of failing. */
  returnExceptions?: boolean;
}

let gatherStamp = 0;

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

function isOptions(x: unknown): x is GatherOptions {
  return (
    typeof x === 'object' &&
    x !== null &&
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
 * place of results.
 *
 * **Cancellation:** cancelling the returned future (or the task awaiting it) cancels every
 * child still running.
 */
export function gather<A extends readonly Awaitable<unknown>[]>(
  ...aws: A
): GatheringFuture<Results<A>>;
export function gather(
  ...args: [...Awaitable<unknown>[], GatherOptions]
): GatheringFuture<unknown[]>;
export function gather(...args: unknown[]): GatheringFuture<unknown[]> {
  let options: GatherOptions = {};
  if (args.length > 0 && isOptions(args[args.length - 1])) options = args.pop() as GatherOptions;
  const returnExceptions = options.returnExceptions === true;
  // A child given twice is waited for once (CPython's arg_to_fut). Futures are recognised by a
  // stamp of this call rather than a Map: a gather of 100,000 tasks should not hash 100,000 keys.
  const stamp = ++gatherStamp;
  let others: Map<unknown, Future<unknown>> | null = null;
  // `unique` is `children` itself until a duplicate shows up (the usual gather has none).
  let unique: Future<unknown>[] | null = null;
  const children: Future<unknown>[] = new Array(args.length);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    let f: Future<unknown> | undefined;
    let seen = false;
    if (a instanceof Future) {
      f = a;
      if (f._gatherStamp === stamp) seen = true;
      else f._gatherStamp = stamp;
    } else {
      others ??= new Map();
      f = others.get(a);
      if (f === undefined) {
        f = ensureFuture(a as Awaitable<unknown>);
        others.set(a, f);
      } else seen = true;
    }
    if (seen) unique ??= children.slice(0, i);
    else unique?.push(f);
    children[i] = f;
  }
  const distinct = unique ?? children;
  const outer = new GatheringFuture<unknown[]>(children);
  const total = distinct.length;
  if (total === 0) {
    outer.setResult([]);
    return outer;
  }
  let finished = 0;
  const onChildDone = (fut: Future<unknown>): void => {
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
  for (const c of distinct) c.addDoneCallback(onChildDone);
  return outer;
}
