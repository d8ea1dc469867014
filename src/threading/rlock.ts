import { registerSharedKind } from '../internal/serialize.js';
import { LockBase } from './lock-base.js';

/**
 * Python's `threading.RLock`: a lock its owner thread may acquire again; it is free when the
 * owner has released it as many times as it acquired it. Only the owner may release it.
 *
 * Ownership is per thread, not per async task: two async functions of one thread share it.
 *
 * @example
 * const rlock = new RLock();
 * rlock.runSync(() => rlock.runSync(() => work()));   // re-entered, no deadlock
 */
export class RLock extends LockBase {
  constructor() {
    super('RLock');
  }

  /** Whether the calling thread holds it (Python's `_is_owned`). */
  isOwned(): boolean {
    return this._core.isOwned();
  }
}

registerSharedKind(
  'threading.RLock',
  (s) => Reflect.construct(LockBase as unknown as Function, ['RLock', s], RLock) as RLock,
  import.meta.url,
);
