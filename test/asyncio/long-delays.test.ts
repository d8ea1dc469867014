// Delays past 2^31 - 1 ms (about 24.8 days), and Infinity: Node fires such a setTimeout after
// 1 ms (with a TimeoutOverflowWarning); Python waits. Every deadline of weft/asyncio goes
// through one timer (startTimer in src/internal/waiter.ts) that waits in chunks, and arms
// nothing for Infinity. Each test races the long deadline against a short sleep: the deadline
// must not have fired when the sleep ends.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  asCompleted,
  createTask,
  Event,
  getRunningLoop,
  Lock,
  run,
  sleep,
  timeout,
  wait,
  waitFor,
} from '../../src/asyncio/index.js';
import { _timerHeapSize } from '../../src/internal/timer-heap.js';
import { startTimer, stopTimer } from '../../src/internal/waiter.js';
import { checkLeaks } from '../support/leaks.js';
import { mockClock } from './mock-clock.js';

checkLeaks();

const LONG = [3e9, Number.POSITIVE_INFINITY];
const MAX_TIMER = 2 ** 31 - 1;

describe('delays past 2^31 - 1 ms', () => {
  for (const ms of LONG) {
    test(`timeout(${ms}) does not expire before the block ends`, async () => {
      await run(async () => {
        await using t = timeout(ms);
        assert.equal(await sleep(20, 'body finished'), 'body finished');
        assert.equal(t.expired(), false);
      });
    });

    test(`waitFor(aw, ${ms}) waits for aw`, async () => {
      await run(async () => {
        assert.equal(await waitFor(sleep(20, 'ok'), ms), 'ok');
      });
    });

    test(`wait(fs, { timeout: ${ms} }) returns when fs are done`, async () => {
      await run(async () => {
        const t = createTask(() => sleep(20, 'x'));
        const { done, pending } = await wait([t], { timeout: ms });
        assert.equal(pending.size, 0);
        assert.ok(done.has(t));
      });
    });

    test(`asCompleted(fs, { timeout: ${ms} }) yields every result`, async () => {
      await run(async () => {
        const got: string[] = [];
        for await (const v of asCompleted([sleep(20, 'y')], { timeout: ms })) got.push(v);
        assert.deepEqual(got, ['y']);
      });
    });

    test(`loop.callLater(${ms}, cb) does not call cb soon`, async () => {
      await run(async () => {
        const calls: string[] = [];
        const h = getRunningLoop().callLater(ms, () => calls.push('ran'));
        await sleep(20);
        assert.deepEqual(calls, []);
        h.cancel();
      });
    });

    test(`a primitive's wait with timeout ${ms} waits for the wake-up`, async () => {
      await run(async () => {
        const ev = new Event();
        const lock = new Lock();
        await lock.acquire();
        const waits = createTask(() =>
          Promise.all([ev.wait({ timeout: ms }), lock.acquire({ timeout: ms })]),
        );
        await sleep(20);
        ev.set();
        lock.release();
        assert.deepEqual(await waits, [true, true]);
        lock.release();
      });
    });
  }

  test('startTimer waits a delay past 2^31 - 1 ms in full, and stopTimer stops it between chunks', () => {
    // The timer heap compares deadlines with performance.now(): it is mocked along with Node's
    // timers, and stopped at a whole millisecond, so that the ticks reach the deadline exactly.
    using clock = mockClock({ frozenAt: 1_000_000 });
    const tick = (ms: number): void => clock.tick(ms);
    const fired: string[] = [];
    startTimer(MAX_TIMER + 500, (what) => fired.push(what), 'long');
    const stopped = startTimer(2 * MAX_TIMER + 10, (what) => fired.push(what), 'stopped');
    tick(MAX_TIMER);
    assert.equal(fired.join(), '');
    tick(499);
    assert.equal(fired.join(), '');
    tick(1);
    assert.equal(fired.join(), 'long');
    stopTimer(stopped);
    tick(2 * MAX_TIMER);
    assert.equal(fired.join(), 'long');
    assert.equal(
      startTimer(Number.POSITIVE_INFINITY, () => fired.push('never'), null),
      null,
    );
    assert.equal(_timerHeapSize(), 0);
  });
});
