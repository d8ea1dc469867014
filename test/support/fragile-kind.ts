/**
 * A shared kind whose reviver always throws: an item holding one cannot be revived where it is
 * got (a SharedMemory block unlinked since the put behaves so). For the tests of a get that
 * takes such an item and gives the rest of it up.
 */
import { kShared, registerSharedKind, type SharedState } from '../../src/internal/serialize.js';

export class RevivalError extends Error {
  override name = 'RevivalError';
}

/**
 * Registers `kind` and returns its class. `preload` is a module every thread or process loads
 * anyway: the test file itself must never be imported by a worker.
 */
export function fragileKind(kind: string, preload: string): new () => object {
  registerSharedKind(
    kind,
    () => {
      throw new RevivalError('this object cannot be revived here');
    },
    preload,
  );
  return class Fragile {
    [kShared](): SharedState {
      return { kind, state: {} };
    }
  };
}
