import type { Future } from '../futures/future.js';
import { TimeoutError } from '../internal/errors.js';
import { kShared, type SharedState } from '../internal/serialize.js';
import { parseWait, type WaitOptions } from '../internal/wait-options.js';
import { refuseToSend } from './errors.js';

/**
 * Python's `multiprocessing.pool.AsyncResult`: what `applyAsync` and `mapAsync` return.
 */
export class AsyncResult<T> {
  /** @internal */
  constructor(readonly _future: Future<T>) {}

  /** @internal Refused in a Process's args, a queue item, a task's arguments (see refuseToSend). */
  [kShared](): SharedState {
    refuseToSend('An AsyncResult', 'pass its value once it is ready (await get())');
  }

  /**
   * Resolves to the result; rejects with the call's error, or TimeoutError after `timeout` ms.
   *
   * **Cancellation:** an aborted `signal` rejects with its reason; the call runs on, and nothing
   * of the wait is left behind (no timer, no listener).
   * @throws TimeoutError, the call's own error, CancelledError after `terminate()`.
   */
  get(options?: WaitOptions): Promise<T> {
    let timeout: number | null;
    let signal: AbortSignal | null;
    try {
      ({ timeout, signal } = parseWait('AsyncResult.get', options));
    } catch (e) {
      return Promise.reject(e);
    }
    const f = this._future;
    if (timeout === null && signal === null) return f.result();
    return f.result({ timeout, ...(signal ? { signal } : {}) }).catch((e: unknown) => {
      // The wait's deadline (a fresh error), not a call that itself failed with a TimeoutError.
      if (e instanceof TimeoutError && e !== f._errorOf()) {
        throw new TimeoutError(`AsyncResult.get: the result was not ready within ${timeout} ms`);
      }
      throw e;
    });
  }

  /**
   * Waits until ready or `timeout` ms pass (never rejects for the call's outcome).
   *
   * **Cancellation:** an aborted `signal` rejects with its reason.
   */
  async wait(options?: WaitOptions): Promise<void> {
    const { timeout, signal } = parseWait('AsyncResult.wait', options);
    try {
      await this._future.exception({ timeout, ...(signal ? { signal } : {}) });
    } catch (e) {
      if (signal?.aborted && e === signal.reason) throw e;
    }
  }

  ready(): boolean {
    return this._future.done();
  }

  /**
   * Whether the call succeeded.
   * @throws RangeError (Python's ValueError, `ERR_WEFT_NOT_READY`) when not ready.
   */
  successful(): boolean {
    if (!this._future.done()) {
      throw Object.assign(new RangeError('AsyncResult is not ready'), {
        code: 'ERR_WEFT_NOT_READY',
      });
    }
    // By state, not by value: a call can fail with `undefined` (JavaScript throws anything).
    return this._future._succeeded();
  }
}
