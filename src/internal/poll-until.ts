/** Waiting for a state that no event announces, by looking at it at an interval. */
import { startTimer, stopTimer } from './waiter.js';

/**
 * Resolves once `ended()` is true, checked now and every `everyMs` (the interval holds the loop
 * meanwhile); `timeout` (ms) resolves it early, as join's does; `signal` rejects it with its
 * reason. For ends no event tells of: a parent's, another thread's child's (multiprocessing), a thread's seen from
 * a thread that did not start it (the world's table).
 */
export function pollUntil(
  ended: () => boolean,
  everyMs: number,
  timeout: number | null = null,
  signal: AbortSignal | null = null,
): Promise<void> {
  if (ended()) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      if (ended()) done();
    }, everyMs);
    const timer = timeout === null ? null : startTimer(timeout, done, undefined);
    function stop(): void {
      clearInterval(poll);
      stopTimer(timer);
      signal?.removeEventListener('abort', onAbort);
    }
    function done(): void {
      stop();
      resolve();
    }
    function onAbort(): void {
      stop();
      reject(signal?.reason);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
