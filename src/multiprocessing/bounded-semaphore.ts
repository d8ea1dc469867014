import { describeValue } from '../internal/errors.js';
import { broker } from '../internal/process/broker-client.js';
import { Semaphore } from './semaphore.js';
import { registerKind, type SharedInit } from './shared-object.js';

/**
 * Python's `multiprocessing.BoundedSemaphore`: releasing above the initial value is an error.
 * Because the count lives in the broker, `release` returns a Promise that rejects with a
 * RangeError (Python's ValueError) in that case.
 */
export class BoundedSemaphore extends Semaphore {
  /** @internal */
  static _bounded = true;
  protected override _kind(): string {
    return 'mp:BoundedSemaphore';
  }
  override release(n = 1): Promise<void> {
    if (!Number.isInteger(n) || n < 1)
      throw new RangeError(
        `Semaphore.release(n): n must be an integer >= 1: received ${describeValue(n)}`,
      );
    return broker()
      .request('semRelease', this._id, [n])
      .then(
        () => undefined,
        (e: Error) => {
          throw new RangeError(e.message);
        },
      );
  }
  /** @internal */
  static override _revive(init: SharedInit): BoundedSemaphore {
    return new BoundedSemaphore(0, init);
  }
}

registerKind('mp:BoundedSemaphore', (s) => BoundedSemaphore._revive(s), import.meta.url);
