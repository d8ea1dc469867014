/**
 * A timer of any delay. Node fires a `setTimeout` longer than 2^31 − 1 ms after 1 ms (with a
 * TimeoutOverflowWarning); Python waits whatever the timeout. A longer delay waits here in
 * chunks of Node's longest, and an infinite one arms nothing (a deadline that never comes keeps
 * nothing alive). No imports: the broker thread and the threading module use it as well as
 * weft/asyncio's timers (waiter.ts `startTimer`).
 */

/** The longest delay Node's timers take (2^31 - 1 ms); a longer one fires after 1 ms. */
export const MAX_TIMER = 2_147_483_647;

export type LongTimer = NodeJS.Timeout | ChunkedTimer;

type Callback = (a: any, b: any) => void;

class ChunkedTimer {
  current: NodeJS.Timeout;
  constructor(
    /** What is left to wait once the current chunk is over (ms). */
    public left: number,
    readonly fn: Callback,
    readonly a: unknown,
    readonly b: unknown,
  ) {
    this.current = setTimeout(chunkOver, MAX_TIMER, this);
    this.left -= MAX_TIMER;
  }
}

function chunkOver(t: ChunkedTimer): void {
  if (t.left > MAX_TIMER) {
    t.current = setTimeout(chunkOver, MAX_TIMER, t);
    t.left -= MAX_TIMER;
  } else t.current = setTimeout(t.fn, t.left, t.a, t.b);
}

/**
 * Calls `fn(a, b)` after `ms` milliseconds, however long; null, arming nothing, for Infinity.
 * Two argument slots, so that callers need no closure per timer.
 */
export function setLongTimeout<A, B>(
  ms: number,
  fn: (a: A, b: B) => void,
  a: A,
  b: B,
): LongTimer | null {
  if (!(ms > MAX_TIMER)) return setTimeout(fn, ms, a, b);
  if (ms === Number.POSITIVE_INFINITY) return null;
  return new ChunkedTimer(ms, fn, a, b);
}

export function clearLongTimeout(t: LongTimer | null): void {
  if (t === null) return;
  clearTimeout(t instanceof ChunkedTimer ? t.current : t);
}
