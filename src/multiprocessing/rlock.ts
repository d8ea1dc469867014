import { Lock } from './lock.js';
import { registerKind, type SharedInit } from './shared-object.js';

/** Python's `multiprocessing.RLock`: re-entrant for the thread (of a process) holding it. */
export class RLock extends Lock {
  /** @internal */
  static _recursive = true;
  protected override _kind(): string {
    return 'mp:RLock';
  }
  /** @internal */
  static override _revive(init: SharedInit): RLock {
    return new RLock(init);
  }
}

registerKind('mp:RLock', (s) => RLock._revive(s), import.meta.url);
