import type { Future } from '../futures/future.js';
import { RuntimeError } from './errors.js';

/**
 * Python's `multiprocessing.pool.AsyncResult`: what `applyAsync` and `mapAsync` return.
 */
export class AsyncResult<T> {
  /** @internal */
  constructor(readonly _future: Future<T>) {}

  /** Resolves to the result; rejects with the call's error, or TimeoutError after `timeout` ms. */
  get(options: { timeout?: number | null } = {}): Promise<T> {
    return this._future.result({ timeout: options.timeout ?? null });
  }

  /** Waits until ready or `timeout` ms pass (never rejects). */
  async wait(options: { timeout?: number | null } = {}): Promise<void> {
    await this._future.exception({ timeout: options.timeout ?? null }).catch(() => undefined);
  }

  ready(): boolean {
    return this._future.done();
  }

  /** Whether the call succeeded. @throws RuntimeError (Python's ValueError) when not ready. */
  successful(): boolean {
    if (!this._future.done())
      throw new RuntimeError('AsyncResult is not ready', 'ERR_WEFT_NOT_READY');
    return !this._future.cancelled() && this._future._errorOf() === undefined;
  }
}
