/**
 * Validation of the options every waiting call takes: `{ blocking | block, timeout, signal }`.
 * One place, so every primitive answers bad input with the same words.
 */
import { describeValue } from './errors.js';

export interface WaitOptions {
  /**
   * Milliseconds; `undefined`/`null`/`Infinity` waits for ever. A negative timeout is 0 for most
   * waits, and a RangeError where Python raises ValueError (see `NegativeTimeout`).
   */
  timeout?: number | null;
  signal?: AbortSignal;
}

export interface ParsedWait {
  timeout: number | null;
  signal: AbortSignal | null;
}

/**
 * What a negative timeout means, as in Python, which is not uniform:
 * - `'zero'`: a wait that has already run out. Python's `Event.wait`, `Condition.wait`,
 *   `Thread.join`, `Semaphore.acquire` and `Barrier.wait` compute a deadline and find it passed;
 *   asyncio's and gevent's timeouts do the same. The default.
 * - `'reject'`: `queue.Queue.get`/`put` (blocking) raise ValueError "'timeout' must be a
 *   non-negative number": a RangeError here.
 * - `'lock'`: `Lock.acquire`/`RLock.acquire` raise ValueError too, except for -1, their
 *   documented "wait for ever".
 */
export type NegativeTimeout = 'zero' | 'reject' | 'lock';

export function parseWait(
  what: string,
  options: WaitOptions | undefined,
  negative: NegativeTimeout = 'zero',
): ParsedWait {
  if (options === undefined || options === null) return { timeout: null, signal: null };
  if (typeof options !== 'object') {
    throw new TypeError(`${what}: options must be an object: received ${describeValue(options)}`);
  }
  const { timeout, signal } = options;
  let t: number | null = null;
  if (timeout !== undefined && timeout !== null) {
    if (typeof timeout !== 'number' || Number.isNaN(timeout)) {
      throw new TypeError(
        `${what}: timeout must be a number of milliseconds: received ${describeValue(timeout)}`,
      );
    }
    if (timeout >= 0) t = timeout === Number.POSITIVE_INFINITY ? null : timeout;
    else if (negative === 'zero') t = 0;
    else if (negative === 'lock' && timeout === -1) t = null;
    else {
      throw new RangeError(
        `${what}: timeout must be a non-negative number of milliseconds: received ${timeout}${negative === 'lock' ? ' (-1, null or no timeout waits for ever)' : ' (null or no timeout waits for ever)'}`,
      );
    }
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(
      `${what}: signal must be an AbortSignal: received ${describeValue(signal)}`,
    );
  }
  return { timeout: t, signal: signal ?? null };
}

export interface ParsedAcquire extends ParsedWait {
  blocking: boolean;
}

/** The `{ blocking, timeout, signal }` of an acquire: `parseWait` and `parseBlocking` in one. */
export function parseAcquire(
  what: string,
  options: (WaitOptions & { blocking?: boolean }) | undefined,
  negative: NegativeTimeout = 'zero',
): ParsedAcquire {
  // The common case (a contended acquire with no options) allocates one object, as before.
  if (options === undefined || options === null)
    return { timeout: null, signal: null, blocking: true };
  const { timeout, signal } = parseWait(what, options, negative);
  return { timeout, signal, blocking: parseBlocking(what, options.blocking, 'blocking') };
}

export function parseBlocking(what: string, value: unknown, name: string): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'boolean') {
    throw new TypeError(`${what}: ${name} must be a boolean: received ${describeValue(value)}`);
  }
  return value;
}
