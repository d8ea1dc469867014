/**
 * The shared-memory wait/notify engine under every cross-thread primitive (locks, semaphores,
 * events, conditions, barriers, queues, thread joins).
 *
 * A primitive describes one wait as a `Parkable`: a futex word to park on, an optional waiter
 * counter, and `attempt()`, which either completes the operation or answers AGAIN. The engine
 * runs the same loop for the blocking (`waitSync`, Atomics.wait) and the async (`waitAsync`,
 * Atomics.waitAsync, never blocking the event loop) flavours:
 *
 *     attempt ─ok─▶ done
 *        │AGAIN
 *     spin SPIN × attempt ─ok─▶ done
 *        │
 *     waiters++ ──▶ seen = load(word) ──▶ attempt ─ok─▶ waiters--, done
 *                        ▲  ▲               │AGAIN
 *                        │  └──── no ── blocks(seen)?
 *                        │                  │yes
 *                        └── park(word, seen, time left)      (timeout ▶ timedOut(), abort ▶ reason)
 *
 * Why no wake-up is lost: a waker changes the state (and so, for every primitive, the parked-on
 * word) before it reads the waiter counter; a waiter counts itself before it reads the word. With
 * sequentially consistent atomics one of them sees the other: either the waker notifies, or the
 * waiter's park returns at once with 'not-equal'.
 *
 * That holds only if the waiter parks on a value that blocks it. A word that can come back to
 * the value the waiter read (a lock's 0 "free", a semaphore's count) breaks it: the waiter reads
 * 0, another thread takes the lock (the attempt fails), releases it and notifies before the
 * waiter parks, and the park on 0 finds 0 — the lock is free and nobody is left to wake the
 * waiter. Such a primitive says which values block (`blocks`); a failed attempt that read a
 * value that does not block tries again instead of parking. A value that blocks is safe to park
 * on even if it changed and came back in between (0 → taken → 0 → taken): the word is held
 * again, and its holder's release notifies. Words that only grow (sequence and generation
 * counters) need no `blocks`.
 *
 * A wake-up for some waiters (`notify(word, n)`, a lock's or a semaphore's release) goes to the
 * first n in V8's list for the word, async waiters included. An async waiter's wake-up runs on
 * its own thread's event loop: if that thread is blocked in a sync wait, the wake-up is spent on
 * it and a sync waiter elsewhere sleeps on with the lock free — for ever, when the blocked thread
 * waits for that one. So a primitive that wakes n counts its async waiters apart (`aw`) and wakes
 * n more per async waiter (`wakeSome`): at least n of those woken can act on it.
 *
 * Fairness: none promised (as with Python's locks); a woken waiter competes with newcomers. What
 * can starve: a waiter on a lock taken again and again by a thread that never parks.
 */
import { isMainThread } from 'node:worker_threads';
import { add, load, notify, parkAsync, parkSync, sub } from '../atomics.js';
import { currentTaskSignal } from '../context.js';
import { sharedHooks } from '../hooks.js';

/** Trade-off: attempts spent spinning before parking. Spinning wins when the holder is running
 * on another core and releases within a microsecond; parking costs a system call each way. */
const SPIN = 100;

export const AGAIN: unique symbol = Symbol('again');
export type Attempt<T> = T | typeof AGAIN;

export interface Parkable<T> {
  /** The futex word. */
  readonly a: Int32Array;
  readonly i: number;
  /** Index of the waiter counter in `a`, or -1 when the primitive keeps none. */
  readonly w: number;
  /** Index of a counter of the async waiters alone, for a primitive that uses `wakeSome`. */
  readonly aw?: number;
  attempt(): Attempt<T>;
  /** What a wait that ran out of time gives (or throws). */
  timedOut(): T;
  /**
   * Whether the word's value `v` makes `attempt()` fail (the module notes say why this matters).
   * Required for a word that can return to an earlier value; absent: every value read counts as
   * blocking, which is right for words that only grow.
   */
  blocks?(v: number): boolean;
  /** Longest single park (ms): for a primitive whose state can change without its word. */
  readonly maxPark?: number;
  /** Called once, just before the first park (deadlock detection); may throw. */
  beforePark?(): void;
  /** Async waits: called before each later park (a deadlock found since); may throw. */
  beforeRepark?(): void;
  /** Called once after a wait that called `beforePark`, however it ended. */
  afterWait?(): void;
}

const now = (): number => performance.now();

// What a thread must hand over before it parks for real (waitSync): its event loop stops, and
// what it queued elsewhere would wait with it — multiprocessing's client registers "send what I
// queued for the broker" (a Pipe's send then joinSync: the reader thread must get it).
const parkHooks = sharedHooks<() => void>('beforeThreadParks');

/** Runs `fn` each time a thread is about to park in a blocking wait. */
export function beforeThreadParks(fn: () => void): void {
  parkHooks.add(fn);
}

/** The waiter counts one async wait of this thread holds while it is parked. */
interface Counted {
  a: Int32Array;
  w: number;
  aw: number;
}

/**
 * This thread's async waits that hold waiter counts now. A thread that ends while one is still
 * parked (a task nobody awaited when its run() returned, a worker's process.exit()) never runs
 * the wait's `finally`: its exit gives the counts back, or every release from then on would
 * notify (and `wakeSome` one more) for a waiter that is gone. Touched only by waits that park
 * (never on an uncontended path). A worker killed outright (`terminate()`) runs no exit handler:
 * its counts stay, which costs a spare notify, never a lost wake-up.
 */
const counted = new Set<Counted>();
if (!isMainThread) {
  process.once('exit', () => {
    for (const c of counted) {
      if (c.w >= 0) sub(c.a, c.w, 1);
      if (c.aw >= 0) sub(c.a, c.aw, 1);
    }
    counted.clear();
  });
}

/**
 * Wakes at least `n` waiters parked on a[i] that can act now (or all of them): n plus one per
 * async waiter counted at a[aw], which may sit in a thread blocked elsewhere (see the notes).
 */
export function wakeSome(a: Int32Array, i: number, aw: number, n: number): void {
  notify(a, i, n + load(a, aw));
}

function deadlineOf(timeout: number | null): number {
  return timeout === null ? Number.POSITIVE_INFINITY : now() + timeout;
}

export function waitSync<T>(p: Parkable<T>, timeout: number | null, signal: AbortSignal | null): T {
  // An aborted signal wins even over an answer available at once (AbortSignal's convention).
  if (signal?.aborted) throw signal.reason;
  let r = p.attempt();
  if (r !== AGAIN) return r;
  if (timeout === 0) return p.timedOut();
  for (let k = 0; k < SPIN; k++) {
    r = p.attempt();
    if (r !== AGAIN) return r;
  }
  const deadline = deadlineOf(timeout);
  if (p.w >= 0) add(p.a, p.w, 1);
  let prepared = false;
  try {
    for (;;) {
      // Read before attempting: a change after this read makes the park return at once.
      const seen = load(p.a, p.i);
      r = p.attempt();
      if (r !== AGAIN) return r;
      // Read "free", lost the race: parking on "free" could sleep through the winner's release.
      if (p.blocks !== undefined && !p.blocks(seen)) continue;
      if (!prepared) {
        prepared = true;
        p.beforePark?.();
        for (const fn of parkHooks) fn();
      }
      const left = deadline - now();
      if (left <= 0) return p.timedOut();
      parkSync(p.a, p.i, seen, p.maxPark !== undefined && p.maxPark < left ? p.maxPark : left);
    }
  } finally {
    if (p.w >= 0) sub(p.a, p.w, 1);
    if (prepared) p.afterWait?.();
  }
}

export async function waitAsync<T>(
  p: Parkable<T>,
  timeout: number | null,
  signal: AbortSignal | null,
): Promise<T> {
  if (signal?.aborted) throw signal.reason;
  let r = p.attempt();
  if (r !== AGAIN) return r;
  if (timeout === 0) return p.timedOut();
  // A short spin, synchronously: it costs the event loop at most a few microseconds.
  for (let k = 0; k < SPIN; k++) {
    r = p.attempt();
    if (r !== AGAIN) return r;
  }
  // About to park: inside an asyncio task, its cancellation ends the wait (context.ts). Read
  // here, still in the caller's synchronous code, where the current task is the caller.
  if (signal === null) {
    signal = currentTaskSignal();
    if (signal?.aborted) throw signal.reason;
  }
  const deadline = deadlineOf(timeout);
  if (p.w >= 0) add(p.a, p.w, 1);
  if (p.aw !== undefined) add(p.a, p.aw, 1);
  const held: Counted | null =
    p.w >= 0 || p.aw !== undefined ? { a: p.a, w: p.w, aw: p.aw ?? -1 } : null;
  if (held !== null) counted.add(held);
  let prepared = false;
  try {
    for (;;) {
      const seen = load(p.a, p.i);
      r = p.attempt();
      if (r !== AGAIN) return r;
      if (p.blocks !== undefined && !p.blocks(seen)) continue;
      if (!prepared) {
        prepared = true;
        p.beforePark?.();
      } else p.beforeRepark?.();
      const left = deadline - now();
      if (left <= 0) return p.timedOut();
      let res = parkAsync(
        p.a,
        p.i,
        seen,
        p.maxPark !== undefined && p.maxPark < left ? p.maxPark : left,
        signal,
      );
      if (typeof res !== 'string') res = await res;
      if (res === 'aborted') throw (signal as AbortSignal).reason;
    }
  } finally {
    if (held !== null) counted.delete(held);
    if (p.w >= 0) sub(p.a, p.w, 1);
    if (p.aw !== undefined) sub(p.a, p.aw, 1);
    if (prepared) p.afterWait?.();
  }
}
