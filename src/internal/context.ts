/**
 * The current task, carried across `await` — by V8 itself where the context addon is built, by
 * V8's promise hooks otherwise.
 *
 * Implementation notes
 * --------------------
 * weft must know which task is running at any point — `currentTask()`, the holder recorded by
 * a `Lock` for deadlock detection, the task a `cancel()` must reach — and native async functions
 * resume in microtasks weft does not start. The same problem is solved in Node by
 * `AsyncLocalStorage`; on Node 20 that costs about 2.5× on every `await` in the process (measured
 * here on a bare await loop), because it maintains async ids for every promise. weft needs one
 * slot, and has two ways to keep it:
 *
 * 1. The context addon (native/context/context.cc), the default. V8 keeps one value per
 *    context, its "continuation-preserved embedder data", copies it into every promise reaction
 *    when the reaction is made (an `await`, a `then`) and makes it current again while the
 *    reaction runs, then clears it. So the task that awaited is current when it resumes, and
 *    an `await` costs about what it costs outside any task: V8 does the carrying, nothing calls
 *    into JavaScript. Reading or setting the slot is a call into the addon, so weft reads it only
 *    where it needs the task and switches it only around code that must see none. Used only
 *    where Node does not use that value itself (Node 24's AsyncLocalStorage does: checked at
 *    load, below).
 *
 * 2. Promise hooks, the fallback (no C++ compiler at install, `WEFT_NO_NATIVE=1`, or
 *    `WEFT_CONTEXT=hooks`):
 *
 *      init(promise)   — a promise created while task T runs remembers T
 *      before(promise) — a reaction job of that promise runs with T current
 *      after(promise)  — and leaves no task current (jobs do not nest)
 *
 *    That costs about 1.8× on a bare await loop, and only while weft tasks are alive: the hooks
 *    are installed when the first task is created and removed (at a macrotask boundary, where no
 *    reaction job is running, so `before`/`after` stay paired) when the last one has finished.
 *    Code that never creates a weft task pays nothing.
 *
 * The two agree on what the current task is in every case weft relies on, with two gaps in the
 * addon's, both of Node 20's V8:
 * - the job in which V8 calls a thenable's `then` (an `await` of a non-promise) does not carry
 *   the value. weft's own awaitables read the task when `then` is looked up instead, which
 *   happens synchronously at the `await` (see asyncio/future.ts);
 * - the value belongs to a context, and a reaction carries the value of the context its code
 *   was compiled in. Code of another `vm` context run inside a task (`vm.runInNewContext`)
 *   loses the task after its first `await`. weft's own code is bound to its own context, so
 *   weft evaluated inside a `vm` context (some test runners do that) works as anywhere.
 *
 * The slot holds an opaque object (a Task); this module knows nothing of tasks.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { debuglog } from 'node:util';
import { promiseHooks } from 'node:v8';

interface NativeSlot {
  /** The slot's value, null when unset. */
  current(): object | null;
  /** Sets the slot; returns what it held (null when unset). */
  swap(ctx: object | null): object | null;
  set(ctx: object | null): void;
}

const debug = debuglog('weft');

function loadSlot(): NativeSlot | null {
  if (process.env.WEFT_NO_NATIVE === '1' || process.env.WEFT_CONTEXT === 'hooks') return null;
  let slot: NativeSlot;
  try {
    // src/internal/ and dist/internal/ are both two levels below the package root.
    const addon = createRequire(import.meta.url)(
      '../../native/context/build/Release/weft_context.node',
    ) as { bind(): NativeSlot };
    // Functions for the slot of this module's own context (see context.cc: before V8 12 each
    // context has its slot, and this code may run in a `vm` context the addon was not loaded in).
    slot = addon.bind();
  } catch (e) {
    debug('context: addon not loaded, using promise hooks: %s', (e as Error).message);
    return null;
  }
  const probe = {};
  const prev = slot.swap(probe);
  const roundTrip = slot.current() === probe;
  slot.set(prev);
  // Where Node keeps AsyncLocalStorage in the same value (Node 24, or 22 with
  // --experimental-async-context-frame), weft writing it would break every store: a store's
  // run() shows up in the slot there, and weft keeps out of it.
  const als = new AsyncLocalStorage<number>();
  const nodeUsesIt = als.run(1, () => slot.current() !== null);
  // Node 20's store installs async hooks on first run and keeps them until disabled.
  als.disable();
  if (!roundTrip || nodeUsesIt) {
    debug(
      'context: addon unusable here (%s), using promise hooks',
      nodeUsesIt ? 'Node uses it' : 'no round trip',
    );
    return null;
  }
  return slot;
}

const slot = loadSlot();

/** Which mechanism carries the current task: the context addon or promise hooks. */
export function contextBackend(): 'native' | 'hooks' {
  return slot !== null ? 'native' : 'hooks';
}

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

/**
 * The object (task) whose code is running now, or null outside every task. With the addon this
 * is the addon's function itself, not a wrapper that picks a backend on each call: the read is on
 * the path of every uncontended Lock acquire.
 */
export const currentContext: () => object | null = slot !== null ? slot.current : () => current;

/**
 * Makes `ctx` current for synchronous code about to run (a task's first step, a callback);
 * returns what was current, to be given back to `restoreContext`.
 */
export function enterContext(ctx: object | null): object | null {
  if (slot !== null) return slot.swap(ctx);
  const prev = current;
  current = ctx;
  return prev;
}

export function restoreContext(prev: object | null): void {
  if (slot !== null) slot.set(prev);
  else current = prev;
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
  // The addon's slot is copied into a reaction when `then`/`await` makes it, not when the
  // promise is made: nothing to untag.
  if (slot !== null) return new Promise<V>(executor);
  const prev = current;
  current = null;
  const p = new Promise<V>(executor);
  current = prev;
  return p;
}

/** `p.then(fn)` with no task current (see `untaggedPromise`): weft's own microtasks. */
export function untaggedThen(p: Promise<unknown>, fn: () => void): void {
  if (slot !== null) {
    const prev = slot.swap(null);
    p.then(fn);
    slot.set(prev);
    return;
  }
  const prev = current;
  current = null;
  p.then(fn);
  current = prev;
}

/**
 * `resolve(value)` with no task current when that matters. Resolving with an object looks up its
 * `then` at once, and a weft Future's `then` notes the task current at that moment as its
 * awaiter; the awaiter here is whoever awaits the promise, never the task that happens to be
 * current. With any other value resolving runs no code, and the switch (two calls into the
 * context addon) is skipped: weft's resumes, which run in whatever context a step left, settle
 * their promises through this.
 */
export function resolveUntagged<V>(resolve: (value: V) => void, value: V): void {
  if ((typeof value !== 'object' || value === null) && typeof value !== 'function') {
    resolve(value);
    return;
  }
  const prev = enterContext(null);
  resolve(value);
  restoreContext(prev);
}

/** One more user of the hooks (a task was created): installs them if they are not. */
export function retainContext(): void {
  if (slot !== null) return;
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
  if (slot !== null) return;
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
