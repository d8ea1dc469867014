/**
 * Helpers for the tests of weft's timer heap (src/internal/timer-heap.ts) in asyncio and gevent:
 * sleeps armed with the readings of the clock around them, and the check that they ended in an
 * order their deadlines allow.
 */

/** Busy-waits a random fraction of a millisecond: the next timer is armed at another point of
 * Node's millisecond clock. */
export function misalign(): void {
  const until = performance.now() + Math.random();
  while (performance.now() < until);
}

export interface Armed {
  ms: number;
  /** The sleep's deadline is in [lo, hi]: the clock read just before and just after arming it. */
  lo: number;
  hi: number;
  sleep: Promise<unknown>;
}

/** Arms `sleep(ms)` (asyncio's or gevent's), noting between which readings its deadline was taken. */
export function armedSleep(ms: number, sleep: (ms: number) => Promise<unknown>): Armed {
  const lo = performance.now() + ms;
  const p = sleep(ms);
  return { ms, lo, hi: performance.now() + ms, sleep: p };
}

/**
 * Null when the sleeps ended in deadline order; else which one ended after a sleep whose
 * deadline was surely later. (Two armed a stall apart, or close together, may have deadlines in
 * another order than their delays: only an order the deadlines contradict is wrong.)
 */
export function outOfOrder(ended: Armed[]): string | null {
  for (let i = 0; i < ended.length; i++) {
    for (let j = i + 1; j < ended.length; j++) {
      const first = ended[i] as Armed;
      const then = ended[j] as Armed;
      if (then.hi < first.lo)
        return `sleep(${then.ms}) ended after sleep(${first.ms}), due ${first.lo - then.hi} ms later: ${ended.map((x) => x.ms)}`;
    }
  }
  return null;
}
