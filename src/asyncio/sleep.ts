import { describeValue } from '../internal/errors.js';
import { parseWait } from '../internal/wait-options.js';
import { Waiter } from '../internal/waiter.js';
import { yieldCurrentTask } from './task.js';

/**
 * Suspends the current task for `ms` milliseconds and resolves to `value` (`asyncio.sleep`).
 *
 * `sleep(0)` (or any `ms <= 0`) yields once: every task already ready runs before this one
 * resumes, as in Python. A sleep ends once `performance.now()` (the clock of `loop.time()`) has
 * passed its deadline, never before, in deadline order with every other timer of weft
 * (src/internal/timer-heap.ts). Timers keep the process alive while they run. Any delay is
 * waited in full (Node's own timers fire one past 2^31 - 1 ms after 1 ms); `Infinity` arms no
 * timer, so such a sleep ends only by cancellation, and inside `run()` counts as blocked for
 * deadlock reports.
 *
 * When the timer fires, the task resumes in the loop iteration after it, as in CPython, where
 * the timer's handle sets the sleep's future and the task's wake-up is queued behind the
 * callbacks of that iteration: a `callLater` callback due in the same batch runs first, even one
 * armed after the sleep.
 *
 * **Cancellation:** cancelling the task (or aborting `signal`) ends the sleep at once with the
 * `CancelledError` (or the signal's reason); the timer is cleared.
 */
export function sleep<T = undefined>(
  ms = 0,
  value?: T,
  options?: { signal?: AbortSignal },
): Promise<T> {
  return sleepFor(ms, value, options, true);
}

/**
 * @internal `sleep` for weft/gevent: there the timer wakes the greenlet itself, in the iteration
 * the timer fires, as gevent's timer watcher switches to the sleeping greenlet directly.
 */
export function sleepDirect<T = undefined>(
  ms = 0,
  value?: T,
  options?: { signal?: AbortSignal },
): Promise<T> {
  return sleepFor(ms, value, options, false);
}

function wakeNow(w: Waiter<any>, value: unknown): void {
  w.wake(value);
}

function sleepFor<T>(
  ms: number,
  value: T | undefined,
  options: { signal?: AbortSignal } | undefined,
  // CPython's TimerHandle (asyncio): the wake is a callback of the ready queue, so the resume
  // comes after; gevent's timer wakes the greenlet from the timer itself.
  viaHandle: boolean,
): Promise<T> {
  if (typeof ms !== 'number' || Number.isNaN(ms)) {
    return Promise.reject(
      new TypeError(`sleep() expects a number of milliseconds: received ${describeValue(ms)}`),
    );
  }
  // Validated as every waiting call's options are, and reported by rejecting, as an async
  // function would; the common call passes none.
  let signal: AbortSignal | undefined;
  if (options !== undefined) {
    try {
      signal = parseWait('sleep', options).signal ?? undefined;
    } catch (e) {
      return Promise.reject(e);
    }
  }
  if (ms <= 0 && signal === undefined) {
    // The common yield of a task: no timer, no signal, no Waiter (src/internal/yield.ts).
    const p = yieldCurrentTask(value as T);
    if (p !== null) return p;
  }
  if (signal?.aborted) return Promise.reject(signal.reason);
  const w = new Waiter<T>(null);
  if (signal) w.setSignal(signal);
  const p = w.block();
  if (ms <= 0) w.wake(value as T);
  else if (viaHandle) w.setTimeoutHandle(ms, wakeNow, value);
  else w.setTimeout(ms, (x) => wakeNow(x, value));
  return p;
}
