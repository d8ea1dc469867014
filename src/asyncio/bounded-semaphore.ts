import { Semaphore } from './semaphore.js';

/**
 * A Semaphore that refuses to be released more often than it was acquired: releasing past its
 * initial value throws `RangeError` (Python's ValueError), which catches a double release.
 */
export class BoundedSemaphore extends Semaphore {
  private readonly bound: number;

  constructor(value = 1) {
    super(value);
    this.bound = value;
    this._bound = value;
  }

  protected override checkRelease(n: number): void {
    if (this._value + n > this.bound) {
      throw new RangeError(
        `BoundedSemaphore released too many times: ${this._value} of ${this.bound} permits are free, releasing ${n} more`,
      );
    }
  }
}
