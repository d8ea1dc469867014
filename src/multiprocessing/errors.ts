/**
 * Errors of `weft/multiprocessing`: Python's names. `TimeoutError` and `BrokenBarrierError` are
 * weft's shared classes, re-exported.
 */
import { WeftError } from '../internal/errors.js';
import { registerErrorClass } from '../internal/serialize.js';

export { BrokenBarrierError, TimeoutError } from '../internal/errors.js';

/** `get` found the queue empty (non-blocking, or after its timeout). */
export class Empty extends WeftError {
  static override readonly kind: string = 'Empty';
  constructor(message = 'The queue is empty') {
    super(message, 'ERR_WEFT_QUEUE_EMPTY');
  }
}

/** `put` found the queue full (non-blocking, or after its timeout). */
export class Full extends WeftError {
  static override readonly kind: string = 'Full';
  constructor(message = 'The queue is full') {
    super(message, 'ERR_WEFT_QUEUE_FULL');
  }
}

/** A process ended while others depended on it (a consumer that died before `taskDone`). */
export class ProcessError extends WeftError {
  static override readonly kind: string = 'ProcessError';
  constructor(message: string, code = 'ERR_WEFT_PROCESS', options?: ErrorOptions) {
    super(message, code, options);
  }
}

/** Python's RuntimeError/ValueError for misuse: starting twice, joining before start, closing a live process. */
export class RuntimeError extends WeftError {
  static override readonly kind: string = 'RuntimeError';
  constructor(message: string, code = 'ERR_WEFT_RUNTIME', options?: ErrorOptions) {
    super(message, code, options);
  }
}

for (const cls of [Empty, Full, ProcessError, RuntimeError]) {
  registerErrorClass(cls as unknown as new (message: string) => Error);
}
