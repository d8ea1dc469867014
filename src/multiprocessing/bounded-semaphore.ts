import { Semaphore } from './semaphore.js';
import { registerKind, type SharedInit } from './shared-object.js';

/**
 * Python's `multiprocessing.BoundedSemaphore`: releasing above the initial value is an error, a
 * RangeError (Python's ValueError). A release checks the bound in the calling thread when it
 * gives the permits back in the lock slab (nobody waits); when it goes to the broker (waiters,
 * or no slab) it waits for the broker's answer (a round trip, this thread parked meanwhile).
 */
export class BoundedSemaphore extends Semaphore {
  /** @internal */
  static _bounded = true;
  protected override _kind(): string {
    return 'mp:BoundedSemaphore';
  }
  /** @internal */
  protected override _releaseAtBroker(n: number): void {
    this._releaseAtBrokerSync(n);
  }
  /** @internal */
  static override _revive(init: SharedInit): BoundedSemaphore {
    return new BoundedSemaphore(0, init);
  }
}

registerKind('mp:BoundedSemaphore', (s) => BoundedSemaphore._revive(s), import.meta.url);
