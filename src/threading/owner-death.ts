/**
 * Owner death: what a worker thread still holds when it ends is handed back, marked, so that
 * the next waiter learns it (`OwnerDiedError`) instead of waiting for ever.
 *
 * Each worker thread remembers (weakly) every Lock and RLock it touched; when its run
 * ends — returning, throwing, or the thread exiting — `recoverAll` asks each one to recover what
 * this thread holds. How it ended matters for a Lock, which has no owner in Python: any thread
 * may release it, so a thread may take it and leave the release to another (a hand-off). An
 * abnormal end (the run threw, the thread exited with a non-zero code) marks it OWNER_DIED, as
 * a crash mid-critical-section; a normal end leaves it held, ORPHANED, for another thread to
 * release, as Python does. An RLock, which only its owner may release, is marked either way. Tracking costs one Set insertion when an object first reaches a thread, and
 * nothing per acquire for locks (the holder is in the lock word). The main thread does not track:
 * its end is the end of the process.
 *
 * Two ends are covered elsewhere or not at all:
 * - A worker killed without running its exit handlers (`terminate()`: a forced cancellation,
 *   `Pool.terminate`; out of memory) recovers nothing itself. Its Lock and RLock cells are handed
 *   back by the thread that sees its 'exit' (`recoverCellsOf` in src/internal/shm/world.ts).
 * - Semaphores are not covered by design: a semaphore has no owner (any thread may release what
 *   another took), so a permit a thread took may be a signal it consumed, and giving it back would
 *   invent one. Python and weft/multiprocessing keep them taken too.
 * - A thread started by a worker that is killed is killed with it, and its 'exit' is seen by no
 *   one.
 */
import { isMainThread } from 'node:worker_threads';

export interface Recoverable {
  /**
   * Gives back what the calling thread holds, marking the primitive for the next waiter.
   * `abnormal`: the thread threw or exits with a non-zero code (see the notes).
   */
  recoverFromDeath(abnormal: boolean): void;
}

const touched = new Set<WeakRef<Recoverable>>();
const cleanup = new FinalizationRegistry<WeakRef<Recoverable>>((ref) => touched.delete(ref));

export const tracking = !isMainThread;

// An executor's worker thread runs no `Thread` end (thread-worker.ts calls `recoverAll` itself,
// earlier, before its slot is marked finished): it gives back what its tasks left held when it
// exits — at shutdown, or by a task's process.exit(). A second call finds nothing left to do.
if (tracking) process.once('exit', (code) => recoverAll(code !== 0));

export function track(x: Recoverable): void {
  if (!tracking) return;
  const ref = new WeakRef(x);
  touched.add(ref);
  cleanup.register(x, ref);
}

export function recoverAll(abnormal: boolean): void {
  for (const ref of touched) ref.deref()?.recoverFromDeath(abnormal);
  touched.clear();
}
