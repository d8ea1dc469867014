import { type ErrorClass, registerErrorClass } from '../internal/error-registry.js';
import { WeftError } from '../internal/errors.js';

export {
  BrokenBarrierError,
  CancelledError,
  DeadlockError,
  ExceptionGroup,
  InvalidStateError,
  RuntimeError,
  TimeoutError,
  WeftError,
} from '../internal/errors.js';

/** `getNowait()` on an empty queue, or `get({ timeout })` that timed out. */
export class QueueEmpty extends WeftError {
  static override readonly kind: string = 'QueueEmpty';
  constructor(message = 'The queue is empty') {
    super(message, 'ERR_WEFT_QUEUE_EMPTY');
  }
}

/** `putNowait()` on a full queue, or `put({ timeout })` that timed out. */
export class QueueFull extends WeftError {
  static override readonly kind: string = 'QueueFull';
  constructor(message = 'The queue is full') {
    super(message, 'ERR_WEFT_QUEUE_FULL');
  }
}

/** `put` on a queue that was shut down, or `get` on one shut down and empty (Python 3.13). */
export class QueueShutDown extends WeftError {
  static override readonly kind: string = 'QueueShutDown';
  constructor(message = 'The queue is shut down') {
    super(message, 'ERR_WEFT_QUEUE_SHUTDOWN');
  }
}

// Each class of this module comes back from a thread or a process as itself (error-registry.ts).
for (const cls of [QueueEmpty, QueueFull, QueueShutDown]) registerErrorClass(cls as ErrorClass);
