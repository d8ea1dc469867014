import { Semaphore } from './semaphore.js';

/**
 * A Semaphore that refuses to be released more often than it was acquired: releasing past its
 * initial value throws `RangeError` (Python's ValueError), which catches a double release.
 */
export class BoundedSemaphore extends Semaphore {
  constructor(value = 1) {
    super(value);
    // Semaphore.release refuses to free more than `_bound` permits (Infinity for a Semaphore).
    this._bound = value;
  }
}
