/**
 * Errors of `weft/futures` (Python's `concurrent.futures` names). `CancelledError`,
 * `TimeoutError` and `InvalidStateError` are weft's shared classes, re-exported here.
 */

import { registerErrorClass } from '../internal/error-registry.js';
import { WeftError } from '../internal/errors.js';

export {
  CancelledError,
  InvalidStateError,
  RuntimeError,
  TimeoutError,
} from '../internal/errors.js';

/** An executor can no longer run work: a worker died, or an initializer failed. */
export class BrokenExecutor extends WeftError {
  static override readonly kind: string = 'BrokenExecutor';
  constructor(message: string, options?: ErrorOptions, code = 'ERR_WEFT_BROKEN_EXECUTOR') {
    super(message, code, options);
  }
}

/** A `ThreadPoolExecutor` worker died (exit, uncaught error, out of memory) or its initializer failed. */
export class BrokenThreadPool extends BrokenExecutor {
  static override readonly kind: string = 'BrokenThreadPool';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options, 'ERR_WEFT_BROKEN_THREAD_POOL');
  }
}

/** A `ProcessPoolExecutor` child died (exit, signal, uncaught error) or its initializer failed. */
export class BrokenProcessPool extends BrokenExecutor {
  static override readonly kind: string = 'BrokenProcessPool';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options, 'ERR_WEFT_BROKEN_PROCESS_POOL');
  }
}

// By name too: the broker's errors, and names a user's class cannot take (error-registry.ts).
for (const cls of [BrokenExecutor, BrokenThreadPool, BrokenProcessPool]) {
  registerErrorClass(cls as unknown as new (message: string) => Error, { byName: true });
}
