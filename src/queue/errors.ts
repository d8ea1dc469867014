/** Errors of `weft/queue`, with Python's names (`queue.Empty`, `queue.Full`, `queue.ShutDown`). */
import { WeftError } from '../internal/errors.js';
import { NotCloneableError, registerErrorClass } from '../internal/serialize.js';
import { OwnerDiedError } from '../threading/errors.js';

/**
 * `OwnerDiedError` is threading's (the same class, so one `instanceof` serves both): a queue
 * raises it when a thread died inside a put or get, holding the queue's internal lock.
 */
export { NotCloneableError, OwnerDiedError };

/** `getNowait()` on an empty queue, or a `get` whose timeout passed. */
export class Empty extends WeftError {
  static override readonly kind: string = 'Empty';
  constructor(message = 'The queue is empty', options?: ErrorOptions) {
    super(message, 'ERR_WEFT_QUEUE_EMPTY', options);
  }
}

/** `putNowait()` on a full queue (by count or by bytes), or a `put` whose timeout passed. */
export class Full extends WeftError {
  static override readonly kind: string = 'Full';
  constructor(message = 'The queue is full', options?: ErrorOptions) {
    super(message, 'ERR_WEFT_QUEUE_FULL', options);
  }
}

/** `put` on a queue that was shut down, or `get` on one shut down and empty (Python 3.13). */
export class ShutDown extends WeftError {
  static override readonly kind: string = 'ShutDown';
  constructor(message = 'The queue is shut down', options?: ErrorOptions) {
    super(message, 'ERR_WEFT_QUEUE_SHUTDOWN', options);
  }
}

/** An item whose bytes could never fit the queue's buffer (raise `maxbytes`). */
export class ItemTooLargeError extends WeftError {
  static override readonly kind: string = 'ItemTooLargeError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'ERR_WEFT_QUEUE_ITEM_TOO_LARGE', options);
  }
}

// By name too: the broker's errors, and names a user's class cannot take (error-registry.ts).
for (const cls of [Empty, Full, ShutDown, ItemTooLargeError])
  registerErrorClass(cls, { byName: true });
