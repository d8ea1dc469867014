/**
 * Owner death: what a worker thread still holds when it ends is handed back, marked, so that
 * the next waiter learns it (`OwnerDiedError`) instead of waiting for ever.
 *
 * Each worker thread remembers (weakly) every Lock, RLock and Semaphore it touched; when its run
 * ends — returning, throwing, or the thread exiting — `recoverAll` asks each one to recover what
 * this thread holds. Tracking costs one Set insertion when an object first reaches a thread, and
 * nothing per acquire for locks (the holder is in the lock word). The main thread does not track:
 * its end is the end of the process.
 */
import { isMainThread } from 'node:worker_threads';

export interface Recoverable {
  /** Gives back what the calling thread holds, marking the primitive for the next waiter. */
  recoverFromDeath(): void;
}

const touched = new Set<WeakRef<Recoverable>>();
const cleanup = new FinalizationRegistry<WeakRef<Recoverable>>((ref) => touched.delete(ref));

export const tracking = !isMainThread;

export function track(x: Recoverable): void {
  if (!tracking) return;
  const ref = new WeakRef(x);
  touched.add(ref);
  cleanup.register(x, ref);
}

export function recoverAll(): void {
  for (const ref of touched) ref.deref()?.recoverFromDeath();
  touched.clear();
}
