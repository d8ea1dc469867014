import { CancelledError } from '../internal/errors.js';

/**
 * Raised inside a greenlet by `kill()` (gevent's `GreenletExit`). A greenlet that ends with it
 * is not a failure: it counts as `successful()` and the error becomes its `value`.
 *
 * A subclass of asyncio's `CancelledError`, since killing a greenlet is cancelling its task:
 * `catch (e) { if (e instanceof CancelledError) … }` clean-up code sees kills too.
 */
export class GreenletExit extends CancelledError {
  static override readonly kind: string = 'GreenletExit';
  override readonly code: string = 'ERR_WEFT_GREENLET_EXIT';
  constructor(message = 'The greenlet was killed') {
    super(message);
  }
}
