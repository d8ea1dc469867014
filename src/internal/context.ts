/**
 * The current task, carried across `await` by V8's promise hooks.
 *
 * Implementation notes
 * --------------------
 * weft must know which task is running at any point — `currentTask()`, the holder recorded by
 * a `Lock` for deadlock detection, the task a `cancel()` must reach — and native async functions
 * resume in microtasks weft does not start. The same problem is solved in Node by
 * `AsyncLocalStorage`; on Node 20 that costs about 2.5× on every `await` in the process (measured
 * here on a bare await loop), because it maintains async ids for every promise. weft needs only
 * one slot, so it installs the three hooks it needs directly:
 *
 *   init(promise)   — a promise created while task T runs remembers T
 *   before(promise) — a reaction job of that promise (an `await` continuation, a `then`
 *                     callback, the job that calls a thenable's `then`) runs with T current
 *   after(promise)  — and leaves no task current (jobs do not nest)
 *
 * That costs about 1.8× on a bare await loop, and only while weft tasks are alive: the hooks are
 * installed when the first task is created and removed (at a macrotask boundary, where no
 * reaction job is running, so `before`/`after` stay paired) when the last one has finished.
 * Code that never creates a weft task pays nothing.
 *
 * The slot holds an opaque object (a Task); this module knows nothing of tasks.
 */
import { promiseHooks } from 'node:v8';

const SLOT = Symbol('weft.context');

type Tagged = { [SLOT]?: object | null };

let current: object | null = null;
let users = 0;
let stopHooks: Function[] | null = null;
let stopPending = false;

function onInit(promise: Promise<unknown>): void {
  if (current !== null) (promise as Tagged)[SLOT] = current;
}

function onBefore(promise: Promise<unknown>): void {
  current = (promise as Tagged)[SLOT] ?? null;
}

// Reaction jobs run one at a time from the microtask queue, never inside one another, and
// between jobs no task code runs: so after a job nothing is current. (A stack of saved values
// cost about 4% on every await.)
function onAfter(): void {
  current = null;
}

/** The object (task) whose code is running now, or null outside every task. */
export function currentContext(): object | null {
  return current;
}

/**
 * Makes `ctx` current for synchronous code about to run (a task's first step, a callback);
 * returns what was current, to be given back to `restoreContext`.
 */
export function enterContext(ctx: object | null): object | null {
  const prev = current;
  current = ctx;
  return prev;
}

export function restoreContext(prev: object | null): void {
  current = prev;
}

/**
 * `new Promise(executor)` with no task current, so that the promise carries no task: for weft's
 * own promises (a waiter's, a yield's). Tagging one costs a property store that allocates, and
 * none needs the tag: an `await` or `then` on it runs its continuation with the task that was
 * current when the `await` or `then` happened, because V8 reports the continuation on the
 * promise that the `await` or `then` itself creates. `executor` must not throw.
 */
export function untaggedPromise<V>(
  executor: (resolve: (value: V) => void, reject: (error: unknown) => void) => void,
): Promise<V> {
  const prev = current;
  current = null;
  const p = new Promise<V>(executor);
  current = prev;
  return p;
}

/** `p.then(fn)` with no task current (see `untaggedPromise`): weft's own microtasks. */
export function untaggedThen(p: Promise<unknown>, fn: () => void): void {
  const prev = current;
  current = null;
  p.then(fn);
  current = prev;
}

/** One more user of the hooks (a task was created): installs them if they are not. */
export function retainContext(): void {
  users++;
  if (stopHooks === null) {
    stopHooks = [
      promiseHooks.onInit(onInit),
      promiseHooks.onBefore(onBefore),
      promiseHooks.onAfter(onAfter),
    ];
  }
}

/** One user fewer (a task finished). The hooks go at the next macrotask boundary if unused. */
export function releaseContext(): void {
  users--;
  if (users === 0 && !stopPending) {
    stopPending = true;
    setImmediate(removeHooksIfUnused).unref();
  }
}

function removeHooksIfUnused(): void {
  stopPending = false;
  if (users !== 0 || stopHooks === null) return;
  for (const stop of stopHooks) stop();
  stopHooks = null;
  current = null;
}

/** For tests: whether the hooks are installed now. */
export function contextHooksInstalled(): boolean {
  return stopHooks !== null;
}
