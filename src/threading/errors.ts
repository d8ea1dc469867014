/**
 * Errors of `weft/threading`. The shared classes (`DeadlockError`, `BrokenBarrierError`,
 * `TimeoutError`) come from src/internal/errors.ts and are re-exported here, as Python's
 * `threading` module re-exports `BrokenBarrierError`.
 */
import { WeftError } from '../internal/errors.js';
import { registerErrorClass } from '../internal/serialize.js';

export { BrokenBarrierError, DeadlockError, TimeoutError } from '../internal/errors.js';

/**
 * The thread holding a lock (or a semaphore permit) ended without releasing it. Like a POSIX
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

/**
 * Python's `RuntimeError` as `threading` raises it: releasing a lock that is not held, starting a
 * thread twice, joining a thread that was never started, a `Condition` used without its lock.
 */
export class RuntimeError extends WeftError {
  static override readonly kind: string = 'RuntimeError';
  constructor(message: string, code = 'ERR_WEFT_RUNTIME', options?: ErrorOptions) {
    super(message, code, options);
  }
}

registerErrorClass(OwnerDiedError);
registerErrorClass(RuntimeError);
