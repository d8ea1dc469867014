// The deadline heap under every timer of weft/asyncio (src/internal/timer-heap.ts). CPython's
// loop keeps its timers in a heap and runs one once loop.time() has reached its deadline, in
// deadline order. Node's own timers count whole milliseconds of a clock truncated when armed:
// with one setTimeout per timer, a timer ended up to about 1 ms early by performance.now(), and
// deadlines within a millisecond of each other fired in arming order.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  createTask,
  Event,
  gather,
  getRunningLoop,
  run,
  sleep,
  timeout,
  timeoutAt,
  wait,
  waitFor,
} from '../../src/asyncio/index.js';
import { _timerHeapSize } from '../../src/internal/timer-heap.js';
import { startTimer, startTimerAt, stopTimer } from '../../src/internal/waiter.js';
import { type Armed, armedSleep as armedWith, misalign, outOfOrder } from '../support/deadlines.js';
import { checkLeaks } from '../support/leaks.js';
import { mockClock } from './mock-clock.js';

checkLeaks();

const MAX_TIMER = 2 ** 31 - 1;

/** Node's 'Timeout' resources that keep the process alive. */
/** `sleep(ms)` armed with the clock's readings around it (test/support/deadlines.ts). */
const armedSleep = (ms: number): Armed => armedWith(ms, sleep);

function liveNodeTimers(): number {
  return process.getActiveResourcesInfo().filter((k) => k === 'Timeout').length;
}

describe('a timer never ends before its delay, as CPython runs none before its deadline', () => {
  // Before the heap, about half of these waits ended early: 200 of them all but surely meet one.
  test('sleep(ms) lasts at least ms by performance.now() and loop.time(), whole or fractional', async () => {
    await run(async () => {
      const loop = getRunningLoop();
      const short: string[] = [];
      for (let i = 0; i < 100; i++) {
        for (const ms of [1 + (i % 3), 0.1 + Math.random() * 3]) {
          misalign();
          const t0 = performance.now();
          const l0 = loop.time();
          await sleep(ms);
          const took = performance.now() - t0;
          const tookLoop = loop.time() - l0;
          if (took < ms || tookLoop < ms)
            short.push(`sleep(${ms}) took ${took} ms (loop.time(): ${tookLoop})`);
        }
      }
      assert.deepEqual(short, []);
    });
  });

  test('callLater, callAt and a primitive wait with a timeout run once their time has come', async () => {
    await run(async () => {
      const loop = getRunningLoop();
      const early: string[] = [];
      for (let i = 0; i < 60; i++) {
        misalign();
        await new Promise<void>((resolve) => {
          const h = loop.callLater(Math.random() * 3, () => {
            if (loop.time() < h.when()) early.push(`callLater ran ${h.when() - loop.time()} early`);
            resolve();
          });
        });
        misalign();
        const when = loop.time() + Math.random() * 3;
        await new Promise<void>((resolve) => {
          loop.callAt(when, () => {
            if (loop.time() < when) early.push(`callAt ran ${when - loop.time()} early`);
            resolve();
          });
        });
        misalign();
        const ms = 0.1 + Math.random() * 3;
        const t0 = performance.now();
        assert.equal(await new Event().wait({ timeout: ms }), false);
        const took = performance.now() - t0;
        if (took < ms) early.push(`Event.wait({ timeout: ${ms} }) took ${took}`);
      }
      assert.deepEqual(early, []);
    });
  });

  test('a timeout() scope and a waitFor expire only once their deadline has passed', async () => {
    await run(async () => {
      const early: string[] = [];
      for (let i = 0; i < 60; i++) {
        misalign();
        const ms = 0.1 + Math.random() * 3;
        const t0 = performance.now();
        try {
          await using _ = timeout(ms);
          await sleep(10_000);
        } catch {}
        let took = performance.now() - t0;
        if (took < ms) early.push(`timeout(${ms}) expired after ${took}`);
        misalign();
        const t1 = performance.now();
        await waitFor(sleep(10_000), ms).catch(() => {});
        took = performance.now() - t1;
        if (took < ms) early.push(`waitFor(…, ${ms}) expired after ${took}`);
      }
      assert.deepEqual(early, []);
    });
  });
});

describe('timers run in deadline order, ties in arming order', () => {
  // Before the heap, delays within a millisecond of each other fired in arming order: in 40 runs
  // of 40 here.
  test('sleep(3) armed before sleep(2.2), and sleep(2) after sleep(2.5), end by deadline', async () => {
    await run(async () => {
      const wrong: string[] = [];
      for (let i = 0; i < 40; i++) {
        const ended: Armed[] = [];
        const nap = async (ms: number): Promise<void> => {
          const armed = armedSleep(ms);
          await armed.sleep;
          ended.push(armed);
        };
        misalign();
        await gather(nap(3), nap(2.2), nap(2.5), nap(2));
        const late = outOfOrder(ended);
        if (late !== null) wrong.push(late);
      }
      assert.deepEqual(wrong, []);
    });
  });

  test('callAt(a time past) runs before a callLater(0) made earlier', async () => {
    await run(async () => {
      const loop = getRunningLoop();
      for (let i = 0; i < 10; i++) {
        const order: string[] = [];
        const done = new Event();
        // Deadlines a second apart: a stall of the machine between two of these lines (Node
        // 22 under a full suite once took more than the 1 ms the test first allowed) moves the
        // later-armed deadlines on, and deadline order is what is checked.
        loop.callLater(0, () => order.push('callLater(0)'));
        loop.callAt(loop.time() - 1000, () => order.push('callAt(past)'));
        loop.callLater(-2000, () => order.push('callLater(-2000)'));
        loop.callLater(1, () => done.set());
        await done.wait();
        assert.deepEqual(order, ['callLater(-2000)', 'callAt(past)', 'callLater(0)']);
      }
    });
  });

  test('equal deadlines run in arming order, whatever kind of timer', async () => {
    await run(async () => {
      const loop = getRunningLoop();
      // A machine stalled past the deadline while the timers were being armed makes another
      // scenario (the scope expires at once, from the ready queue): tried again then.
      for (let attempt = 1; ; attempt++) {
        const order: string[] = [];
        // Each armed at another point of Node's millisecond clock: before the heap, a later one
        // could get a shorter delay than an earlier one and fire first (10 runs of 10 here).
        const start = loop.time();
        const when = start + 200;
        for (let i = 0; i < 20; i++) {
          misalign();
          loop.callAt(when, () =>
            order.push(`callAt ${i}${scope.expired() ? ' after expiry' : ''}`),
          );
        }
        // Armed after the 20, before the last: its expiry runs between them.
        misalign();
        const scope = timeoutAt(when);
        misalign();
        loop.callAt(when, () => order.push(`callAt last${scope.expired() ? ' after expiry' : ''}`));
        const armedIn = loop.time() - start;
        try {
          await sleep(10_000);
        } catch {
          order.push('timed out');
        }
        scope[Symbol.dispose]();
        if (armedIn >= 200 && attempt < 5) continue;
        const expected = Array.from({ length: 20 }, (_, i) => `callAt ${i}`);
        assert.deepEqual(
          order,
          [...expected, 'callAt last after expiry', 'timed out'],
          `armed in ${armedIn} ms`,
        );
        break;
      }
    });
  });

  test('a timer stopped by a timer of the same batch does not run', async () => {
    await run(async () => {
      const loop = getRunningLoop();
      const order: string[] = [];
      const when = loop.time() + 2;
      // The heap's own path: c2 is already out of the heap, due in the batch, when c1 stops it.
      startTimerAt(
        when,
        () => {
          order.push('c1');
          stopTimer(c2);
        },
        undefined,
      );
      const c2 = startTimerAt(when, () => order.push('c2'), undefined);
      // A handle cancelled by a callback that runs before it, as CPython's.
      loop.callAt(when, () => {
        order.push('a');
        b.cancel();
      });
      const b = loop.callAt(when, () => order.push('b'));
      await sleep(10);
      assert.deepEqual(order, ['c1', 'a']);
      assert.equal(_timerHeapSize(), 0);
    });
  });
});

// CPython's loop moves the timers due to its ready queue as each iteration begins (behind what
// the last iteration queued); a deadline already past when armed is due at the next one. weft
// fired such a timer from Node's shortest timer, a millisecond on, after the whole ready queue.
describe('deadlines due when armed run within the turn, in CPython order', () => {
  test('callLater(0) runs as the next iteration begins: behind what is ready, before what that queues', async () => {
    // CPython 3.11: ['A', 'D', 'B later0', 'C (queued by A)']
    await run(async () => {
      const loop = getRunningLoop();
      const log: string[] = [];
      loop.callSoon(() => {
        log.push('A');
        loop.callSoon(() => log.push('C (queued by A)'));
      });
      loop.callLater(0, () => log.push('B later0'));
      loop.callSoon(() => log.push('D'));
      await sleep(0);
      await sleep(0);
      await sleep(0);
      assert.deepEqual(log, ['A', 'D', 'B later0', 'C (queued by A)']);
    });
  });

  test('a task woken by callLater(0) resumes in its place among tasks that yield', async () => {
    // CPython 3.11: ['x0', 'y0', 'x1', 'y1', 'main woke', 'x2', 'y2']
    await run(async () => {
      const loop = getRunningLoop();
      const log: string[] = [];
      const fut = loop.createFuture<number>();
      loop.callLater(0, () => fut.setResult(1));
      const yielder = async (n: string): Promise<void> => {
        for (let i = 0; i < 3; i++) {
          log.push(`${n}${i}`);
          await sleep(0);
        }
      };
      const ts = [createTask(() => yielder('x')), createTask(() => yielder('y'))];
      await fut;
      log.push('main woke');
      await gather(...ts);
      assert.deepEqual(log, ['x0', 'y0', 'x1', 'y1', 'main woke', 'x2', 'y2']);
    });
  });

  test('wait() with a timeout of 0 returns where CPython returns, while another task yields', async () => {
    // CPython 3.11: ['z0', 'z1', 'wait returned', 'z2', 'z3']
    await run(async () => {
      const loop = getRunningLoop();
      const log: string[] = [];
      const z = createTask(async () => {
        for (let i = 0; i < 4; i++) {
          log.push(`z${i}`);
          await sleep(0);
        }
      });
      const never = loop.createFuture();
      const { done, pending } = await wait([never], { timeout: 0 });
      log.push('wait returned');
      await z;
      assert.deepEqual([done.size, pending.size], [0, 1]);
      assert.deepEqual(log, ['z0', 'z1', 'wait returned', 'z2', 'z3']);
    });
  });

  test("a deadline past when armed fires in the same turn of Node's loop, in deadline order, ties in arming order", async () => {
    // Counts the turns of Node's loop (one immediate each) until the timers have run: Node's
    // shortest timer lets many go by first. Five rounds: the first ones of a process may take
    // that long just to compile their code.
    for (let round = 0; round < 5; round++) {
      let turns = 0;
      let counting = true;
      const turn = (): void => {
        turns++;
        if (counting) setImmediate(turn);
      };
      setImmediate(turn);
      const order: string[] = [];
      const now = performance.now();
      await new Promise<void>((resolve) => {
        startTimerAt(now - 1, () => order.push('a'), undefined);
        startTimerAt(now - 1, () => order.push('b'), undefined);
        startTimerAt(now - 2, () => order.push('earlier'), undefined);
        startTimer(0, () => resolve(), undefined);
      });
      counting = false;
      assert.deepEqual(order, ['earlier', 'a', 'b']);
      assert.ok(turns <= 2, `round ${round}: the timers ran after ${turns} turns of Node's loop`);
    }
  });
});

describe('a stopped timer leaves the heap and keeps nothing alive', () => {
  test('a cancelled sleep and a left timeout() scope leave no live Node timer and never fire', async () => {
    await run(async () => {
      const before = liveNodeTimers();
      const fired: string[] = [];
      const t = createTask(async () => {
        await sleep(30);
        fired.push('sleep');
      });
      await sleep(0);
      {
        using _ = timeout(30);
      }
      const h = getRunningLoop().callLater(30, () => fired.push('callLater'));
      assert.equal(_timerHeapSize(), 2);
      assert.ok(liveNodeTimers() > before);
      t.cancel();
      h.cancel();
      await sleep(0);
      assert.equal(_timerHeapSize(), 0);
      assert.equal(liveNodeTimers(), before);
      await sleep(60);
      assert.deepEqual(fired, []);
    });
  });

  test('arming and stopping 1e5 timeouts, in any order, leaves only the live ones', async () => {
    await run(async () => {
      const fast = async (): Promise<string> => 'fast';
      for (let i = 0; i < 100_000; i++) await waitFor(fast(), 1000 + (i % 7));
      assert.equal(_timerHeapSize(), 0);
      const ev = new Event();
      const waits = Array.from({ length: 1000 }, (_, i) =>
        startTimer(10_000 + ((i * 7919) % 1000), () => ev.set(), undefined),
      );
      for (let i = 0; i < 1000; i += 2) stopTimer(waits[i] ?? null);
      assert.equal(_timerHeapSize(), 500);
      for (let i = 999; i > 0; i -= 2) stopTimer(waits[i] ?? null);
      assert.equal(_timerHeapSize(), 0);
      assert.equal(ev.isSet(), false);
    });
  });
});

describe('delays past 2^31 - 1 ms on the heap', () => {
  test('a long deadline arms Node for its longest delay, and a short one armed after it still fires first', () => {
    // The heap compares deadlines with performance.now(): mocked with Node's timers, and stopped
    // at a whole millisecond, so that the ticks reach the deadline exactly.
    using clock = mockClock({ frozenAt: 1_000_000 });
    const tick = (ms: number): void => clock.tick(ms);
    const fired: string[] = [];
    startTimer(MAX_TIMER + 3e9, (what) => fired.push(what), 'long');
    startTimer(10, (what) => fired.push(what), 'short');
    tick(10);
    assert.deepEqual(fired, ['short']);
    tick(MAX_TIMER);
    tick(MAX_TIMER);
    assert.deepEqual(fired, ['short']);
    assert.equal(_timerHeapSize(), 1);
    tick(3e9 - MAX_TIMER - 11);
    assert.deepEqual(fired, ['short']);
    tick(1);
    assert.deepEqual(fired, ['short', 'long']);
    assert.equal(_timerHeapSize(), 0);
  });
});
