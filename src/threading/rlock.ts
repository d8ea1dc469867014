import { registerSharedKind } from '../internal/serialize.js';
import { LockBase } from './lock-base.js';

/**
 * Python's `threading.RLock`: a lock its owner may acquire again; it is free when the owner has
 * released it as many times as it acquired it. Only the owner thread may release it.
 *
 * Who re-enters: the thread, in blocking code (`acquireSync`, `runSync`, `holdSync`), as in
 * Python; in async code (`acquire`, `run`, `hold`), only the asyncio task that took it with an
 * async acquire. Any other async acquire by the holding thread waits for the release, as for a
 * `Lock`: two async functions of one thread never hold it at once (a `Condition` on it relies on
 * that). Async code outside any asyncio task cannot re-enter it asynchronously.
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
