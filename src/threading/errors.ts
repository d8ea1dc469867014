/**
 * Errors of `weft/threading`. The shared classes (`DeadlockError`, `BrokenBarrierError`,
 * `TimeoutError`) come from src/internal/errors.ts and are re-exported here, as Python's
 * `threading` module re-exports `BrokenBarrierError`.
 */
import { registerErrorClass } from '../internal/error-registry.js';
import { WeftError } from '../internal/errors.js';

export {
  BrokenBarrierError,
  DeadlockError,
  RuntimeError,
  TimeoutError,
} from '../internal/errors.js';

/**
 * The thread holding a `Lock` or `RLock` ended without releasing it (semaphores have no owner and
 * never raise it). Like a POSIX
 * robust mutex's `EOWNERDEAD`: the waiter that learns it gets this error, and the lock is free
 * again afterwards, so the program can repair what the dead thread left half-done and go on.
 */
export class OwnerDiedError extends WeftError {
  static override readonly kind: string = 'OwnerDiedError';
  constructor(
    message = 'The thread holding the lock ended without releasing it',
    options?: ErrorOptions,
  ) {
    super(message, 'ERR_WEFT_OWNER_DIED', options);
  }
}

// By name too: the broker's errors, and names a user's class cannot take (error-registry.ts).
registerErrorClass(OwnerDiedError, { byName: true });
