import { Semaphore } from './semaphore.js';

/**
 * gevent's `BoundedSemaphore(value=1)`: a `Semaphore` that refuses to hold more free permits
 * than it started with — a `release()` past that throws `RangeError` (gevent's ValueError), which
 * catches a permit released twice.
 */
export class BoundedSemaphore extends Semaphore {
  private readonly initial: number;

  constructor(value = 1) {
    super(value);
    this.initial = value;
  }

  /** @throws RangeError when every permit is free already. */
  override release(): number {
    if (this._counter >= this.initial) {
      throw new RangeError(
        `Semaphore released too many times: all ${this.initial} permits of ${this.describe()} are free already`,
      );
    }
    return super.release();
  }
}
