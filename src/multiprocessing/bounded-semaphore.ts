import { checkReleaseCount } from '../internal/errors.js';
import { brokerSync } from '../internal/process/broker-sync.js';
import { Semaphore } from './semaphore.js';
import { registerKind, type SharedInit } from './shared-object.js';

/**
 * Python's `multiprocessing.BoundedSemaphore`: releasing above the initial value is an error.
 * Because the count lives in the broker, `release` asks it synchronously (a round trip, this
 * thread parked meanwhile) and throws a RangeError (Python's ValueError) in that case.
 */
export class BoundedSemaphore extends Semaphore {
  /** @internal */
  static _bounded = true;
  protected override _kind(): string {
    return 'mp:BoundedSemaphore';
  }
  /** Returns `n` permits. @throws RangeError when that would exceed the initial value. */
  override release(n = 1): void {
    checkReleaseCount(n);
    try {
      brokerSync().request('semRelease', this._id, [n]);
    } catch (e) {
      if ((e as Error)?.name === 'ValueError') throw new RangeError((e as Error).message);
      throw e;
    }
  }
  /** @internal */
  static override _revive(init: SharedInit): BoundedSemaphore {
    return new BoundedSemaphore(0, init);
  }
}

registerKind('mp:BoundedSemaphore', (s) => BoundedSemaphore._revive(s), import.meta.url);
