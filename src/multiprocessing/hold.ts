/**
 * Python's `with lock:` for the cross-process primitives that are held and released (Lock,
 * RLock, Semaphore, BoundedSemaphore): `fn` runs while one hold is taken, and the hold is given
 * back however `fn` ends.
 */
interface Holdable {
  acquire(): Promise<unknown>;
  acquireSync(): unknown;
  release(): void;
}

/** Holds `p` around `fn` (sync or async); the async twin of `holdingSync`. */
export async function holding<R>(p: Holdable, fn: () => R | Promise<R>): Promise<R> {
  await p.acquire();
  try {
    return await fn();
  } finally {
    p.release();
  }
}

/** Holds `p` around synchronous `fn`, blocking the thread while it waits (`acquireSync`). */
export function holdingSync<R>(p: Holdable, fn: () => R): R {
  p.acquireSync();
  try {
    return fn();
  } finally {
    p.release();
  }
}
