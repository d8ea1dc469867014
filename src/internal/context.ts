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
 *    reaction runs, then clears it (a reaction made with the slot unset does neither; and code
 *    that runs in the job after the reaction, such as promise hooks, still sees what the
 *    reaction left: weft puts back what it switches). So the task that awaited is current when it resumes, and
 *    an `await` costs about what it costs outside any task: V8 does the carrying, nothing calls
 *    into JavaScript. Reading or setting the slot is a call into the addon, so weft reads it only
 *    where it needs the task and switches it only around code that must see none. Used where
 *    Node does not use that value itself (Node 20 and 22; checked at load, below).
 *
 * 1b. Where Node keeps its AsyncLocalStorage frames in that value (Node 24), the addon keeps the
 *    task *inside* Node's frame, under a key of weft's (see `frameSlot`). V8 still carries the
 *    frame across every await. But Node also carries a frame into every callback made under it
 *    (a timer, an I/O callback, `queueMicrotask`), where Python — and weft — run no task. So a
 *    callback guard, an async hook on callbacks only (`trackPromises: false`, Node >= 24.14:
 *    nothing runs per await), counts the Node callbacks being run, and inside one the task in
 *    the frame is not current. weft's own switches (a task's first step run from a drain inside
 *    the watchdog's immediate) lift the guard while they run. One difference remains from the
 *    native slot: `asyncResource.runInAsyncScope(fn)` called from a task runs `fn` in no task.
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
 *    Code that never creates a weft task pays nothing. (Removing them does not undo all of it:
 *    V8 keeps some promise fast paths off in a thread once promise hooks were installed there,
 *    see `storageOnHooks`.)
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
import { type AsyncHook, AsyncLocalStorage, createHook } from 'node:async_hooks';
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

/** The addon: `bind()` makes the slot's functions; `fulfilled` reads a settled promise. */
interface ContextAddon {
  bind(): NativeSlot;
  fulfilled(p: unknown, otherwise: unknown): unknown;
}

const debug = debuglog('weft');

/** Node's AsyncLocalStorage frame (Node 24): a map from each store to its value. */
interface NodeFrame {
  get(key: unknown): unknown;
}
type NodeFrameClass = new (key: unknown, value: unknown) => NodeFrame;

/** Node callbacks (timers, immediates, I/O, nextTick, queueMicrotask) being run now. */
let inCallbacks = 0;

/** What `swap` saves when it lifts the callback guard: the frame and the guard's count. */
class Saved {
  constructor(
    readonly frame: object | null,
    readonly inCallbacks: number,
  ) {}
}

/**
 * The async hook of the callback guard: `before`/`after` of every Node callback, none for
 * promises (`trackPromises`: Node >= 24.14, checked before use; @types/node 20 does not know the
 * option, hence the untyped object). Its `after` may come without a `before` (enabled inside a
 * callback), hence the clamp.
 */
const guardHooks = {
  before(): void {
    inCallbacks++;
  },
  after(): void {
    if (inCallbacks > 0) inCallbacks--;
  },
  trackPromises: false,
};
const callbackGuard: AsyncHook = createHook(guardHooks);

/** Whether `createHook` takes `trackPromises: false` here (Node 24.14, then 25 and later). */
function callbackHooksWork(): boolean {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major > 24 || (major === 24 && minor >= 14);
}

/**
 * The slot where Node keeps its frames: weft's task lives in Node's frame, under a key of its
 * own. A frame is a map, copied on write: Node's constructor copies the frame current now and
 * sets one key, so every store of the user's keeps its value across weft's switches. Reading the
 * task is the addon's read plus one map lookup; a switch makes one frame. Null when the frames
 * are not what this expects (then: promise hooks).
 */
function frameSlot(raw: NativeSlot, als: AsyncLocalStorage<number>): NativeSlot | null {
  const sample = als.run(1, () => raw.current()) as NodeFrame | null;
  if (sample === null || typeof sample.get !== 'function') return null;
  const Frame = sample.constructor as NodeFrameClass;
  const KEY = Object.freeze({ weft: 'the current task' });
  const probe = {};
  let ok = false;
  try {
    ok = als.run(2, () => {
      const f = new Frame(KEY, probe);
      return f.get(KEY) === probe && f.get(als) === 2;
    });
  } catch (e) {
    debug('context: Node frames not as expected: %s', (e as Error).message);
  }
  if (!ok) return null;
  return {
    current(): object | null {
      if (inCallbacks > 0) return null;
      const f = raw.current() as NodeFrame | null;
      if (f === null) return null;
      const t = f.get(KEY);
      return t === undefined ? null : (t as object | null);
    },
    // Returns what `set` puts back: the frame before (and the guard's count, if lifted).
    swap(ctx: object | null): object | null {
      const prev = raw.current();
      const saved = inCallbacks === 0 ? prev : new Saved(prev, inCallbacks);
      inCallbacks = 0;
      if (prev !== null || ctx !== null) raw.set(new Frame(KEY, ctx) as object);
      return saved;
    },
    set(prev: object | null): void {
      if (prev instanceof Saved) {
        raw.set(prev.frame);
        inCallbacks = prev.inCallbacks;
      } else raw.set(prev);
    },
  };
}

type Backend = 'native' | 'frame' | 'hooks';

/**
 * Whether Node's AsyncLocalStorage here is the one built on async hooks (Node 20, Node 22 unless
 * its frames are turned on, Node 24 with --no-async-context-frame), which keeps nothing in V8's
 * slot. Its stores propagate through `_enable` and `_propagate`; the frame-based one has
 * neither, and any other is probed by running a store (`loadSlot`). Not run here because
 * running one installs promise hooks, and V8 then turns some of its promise fast paths off for
 * the rest of the thread, hooks removed or not (its promise-hook protector, once invalidated,
 * stays so): every `new Promise` in the thread costs more, in weft's tasks and outside them.
 */
function storageOnHooks(): boolean {
  const proto = AsyncLocalStorage.prototype as unknown as Record<string, unknown>;
  return typeof proto._enable === 'function' && typeof proto._propagate === 'function';
}

function loadSlot(): { slot: NativeSlot; backend: Backend; addon: ContextAddon } | null {
  if (process.env.WEFT_NO_NATIVE === '1' || process.env.WEFT_CONTEXT === 'hooks') return null;
  let slot: NativeSlot;
  let addon: ContextAddon;
  try {
    // src/internal/ and dist/internal/ are both two levels below the package root.
    addon = createRequire(import.meta.url)(
      '../../native/context/build/Release/weft_context.node',
    ) as ContextAddon;
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
  if (!roundTrip) {
    debug('context: addon unusable here (no round trip), using promise hooks');
    return null;
  }
  // Node's AsyncLocalStorage on async hooks keeps nothing in the slot, and is not run to find
  // that out (see `storageOnHooks`).
  if (storageOnHooks()) return { slot, backend: 'native', addon };
  // Where Node keeps AsyncLocalStorage in the same value (Node 24, or 22 with
  // --experimental-async-context-frame), weft owning it would break every store: a store's
  // run() shows up in the slot there. weft then keeps its task inside Node's frames, if the
  // callback guard can run there without a hook per promise.
  const als = new AsyncLocalStorage<number>();
  const nodeUsesIt = als.run(1, () => slot.current() !== null);
  const frames = nodeUsesIt && callbackHooksWork() ? frameSlot(slot, als) : null;
  // Node 20's store installs async hooks on first run and keeps them until disabled.
  als.disable();
  if (!nodeUsesIt) return { slot, backend: 'native', addon };
  if (frames === null) {
    debug('context: Node keeps its frames in the slot and no frame backend here: promise hooks');
    return null;
  }
  return { slot: frames, backend: 'frame', addon };
}

const loaded = loadSlot();
const slot = loaded?.slot ?? null;
/** The frame backend: its callback guard is on from the first weft task. */
const guarded = loaded?.backend === 'frame';

/**
 * `fulfilled(p, otherwise)`: the value of `p` if it is a native promise already fulfilled, else
 * `otherwise` (V8's own state of the promise: no reaction, no job). Null with promise hooks,
 * which use no addon at all; the caller then waits for the promise as before.
 */
export const promiseFulfilled: ((p: Promise<unknown>, otherwise: unknown) => unknown) | null =
  loaded?.addon.fulfilled ?? null;

/**
 * Which mechanism carries the current task: the context addon owning V8's slot ('native', Node
 * 20 and 22), the addon keeping the task in Node's AsyncLocalStorage frames ('frame', Node 24),
 * or promise hooks.
 */
export function contextBackend(): Backend {
  return loaded?.backend ?? 'hooks';
}

const SLOT = Symbol('weft.context');

type Tagged = { [SLOT]?: object | null };

let current: object | null = null;
let users = 0;
let stopHooks: Function[] | null = null;
let stopPending = false;
/** The frame backend's callback guard is enabled. */
let guardOn = false;

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
 * The current task's cancellation signal (asyncio's `Task.signal`), or null outside every task.
 * A wait that is not a weft awaitable (a shared-memory park, a broker request) takes it when the
 * caller gave no `signal`, so that cancelling the task, or a `timeout()` around the call, ends
 * the wait as it ends a weft one; otherwise the wait would go on and take an item or a permit
 * for a task that is gone.
 */
export function currentTaskSignal(): AbortSignal | null {
  const t = currentContext() as { signal?: unknown } | null;
  if (t === null) return null;
  const s = t.signal;
  return s instanceof AbortSignal ? s : null;
}

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

/**
 * Makes `ctx` current where what was current is saved already and will be put back by its
 * saver: a drain's task steps after its first (see `callSoonStart`). With the addon owning the
 * slot this is one write, where `enterContext` is a read and a write (about half the cost of a
 * call into the addon, once per task of a gather). Node's frames need `swap`'s new frame.
 */
export const switchContext: (ctx: object | null) => void =
  slot === null
    ? (ctx) => {
        current = ctx;
      }
    : loaded?.backend === 'native'
      ? slot.set
      : (ctx) => {
          (slot as NativeSlot).swap(ctx);
        };

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
  if (slot !== null) {
    // Once on, the frame backend's guard stays on: a callback made under a task's frame may run
    // long after the last task ended (a timer), and must not see that task. It costs two calls
    // a Node callback, nothing per await.
    if (guarded && !guardOn) {
      guardOn = true;
      inCallbacks = 0;
      callbackGuard.enable();
    }
    return;
  }
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
