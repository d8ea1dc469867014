/**
 * node:test's mock timers driving weft's timers, for tests that must fire a weft timer at an
 * exact point (between a wake-up and the resumption it queued, say).
 *
 * weft's timers are entries of one deadline heap (src/internal/timer-heap.ts) that runs an entry
 * once `performance.now()` has reached its deadline, whenever its one Node timer fires. Mocking
 * `setTimeout` alone would fire that Node timer on `tick` and find nothing due: here the clock
 * jumps forward by each tick too. By default it goes on running in between (`real + ticks`);
 * `{ frozenAt }` stops it at a whole number of milliseconds, for tests that tick to an exact
 * deadline. The heap's Node timer is re-armed with the mock on entry and with Node's own on
 * exit (`using clock = mockClock();`).
 */
import { mock } from 'node:test';
import { _rearmTimerNode } from '../../src/internal/timer-heap.js';

export interface MockClock extends Disposable {
  /** Moves the mocked timers and the clock `ms` milliseconds forward. */
  tick(ms: number): void;
}

export function mockClock(options: { frozenAt?: number } = {}): MockClock {
  const realNow = performance.now.bind(performance);
  const frozen = options.frozenAt;
  let offset = 0;
  _rearmTimerNode();
  mock.timers.enable({ apis: ['setTimeout'] });
  performance.now = frozen === undefined ? () => realNow() + offset : () => frozen + offset;
  _rearmTimerNode();
  return {
    tick(ms: number): void {
      offset += ms;
      mock.timers.tick(ms);
    },
    [Symbol.dispose](): void {
      // The own property hid Performance.prototype.now: deleting it brings the real one back.
      delete (performance as { now?: unknown }).now;
      _rearmTimerNode();
      mock.timers.reset();
      _rearmTimerNode();
    },
  };
}
