/**
 * The word of a multiprocessing lock's or semaphore's slot in this thread's slab mapping, or null
 * without a slab or a slot (a lock: holder | WAITERS; a semaphore: count | WAITERS; the layout is
 * at the top of src/internal/process/lock-slab.ts).
 */
import { readySlab, wordIndex } from '../../src/internal/process/lock-slab.js';

export function slabWord(o: { _params: { slot?: unknown } }): number | null {
  const a = readySlab();
  const slot = o._params.slot as number;
  return a === null || slot < 0 ? null : Atomics.load(a, wordIndex(slot));
}
