import { C_WAITERS } from '../../src/internal/shm/world.js';
import type { Lock, RLock } from '../../src/threading/index.js';

/** The threads parked (or about to park) on a threading lock: its cell's WAITERS word. */
export function waiters(lock: Lock | RLock): number {
  const c = lock._core;
  return Atomics.load(c.a, c.st + C_WAITERS);
}
