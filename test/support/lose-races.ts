import { AGAIN } from '../../src/internal/shm/wait.js';

/** Anything the shared-memory wait engine attempts: a Parkable, a LockCore, a Semaphore. */
export interface Attempting {
  attempt(): unknown;
}

/**
 * Makes the first `n` attempts of `target` fail as if another thread won each race, while the
 * shared word keeps the value it really has: replays, deterministically, a waiter that lost a
 * race just before it parked. Returns the count of attempts failed so far.
 */
export function loseRaces(target: Attempting, n: number): () => number {
  const real = target.attempt.bind(target);
  let lost = 0;
  target.attempt = () => {
    if (lost < n) {
      lost++;
      return AGAIN;
    }
    return real();
  };
  return () => lost;
}
