// gevent's timers on weft's deadline heap (src/internal/timer-heap.ts): as in gevent, whose
// libev loop never runs a timer before its time, a Timeout, a sleep, a spawnLater and a
// joinall timeout never end before their delay, and greenlets sleeping different delays wake in
// deadline order, even for delays within a millisecond of each other.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { joinall, sleep, spawn, spawnLater, Timeout } from '../../src/gevent/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

/** Busy-waits a random fraction of a millisecond: the next timer is armed at another point of
 * Node's millisecond clock. */
function misalign(): void {
  const until = performance.now() + Math.random();
  while (performance.now() < until);
}

interface Armed {
  ms: number;
  /** The sleep's deadline is in [lo, hi]: the clock read just before and just after arming it. */
  lo: number;
  hi: number;
  sleep: Promise<undefined>;
}

/** Arms `sleep(ms)`, noting between which readings of the clock its deadline was taken. */
function armedSleep(ms: number): Armed {
  const lo = performance.now() + ms;
  const p = sleep(ms);
  return { ms, lo, hi: performance.now() + ms, sleep: p };
}

/**
 * Null when the sleeps ended in deadline order; else which one ended after a sleep whose
 * deadline was surely later. (Two armed a stall apart, or close together, may have deadlines in
 * another order than their delays: only an order the deadlines contradict is wrong.)
 */
function outOfOrder(ended: Armed[]): string | null {
  for (let i = 0; i < ended.length; i++) {
    for (let j = i + 1; j < ended.length; j++) {
      const first = ended[i] as Armed;
      const then = ended[j] as Armed;
      if (then.hi < first.lo)
        return `sleep(${then.ms}) ended after sleep(${first.ms}), due ${first.lo - then.hi} ms later: ${ended.map((x) => x.ms)}`;
    }
  }
  return null;
}

describe("gevent's timers on the deadline heap", () => {
  // Before the heap, about half of these ended early by performance.now().
  test('a Timeout, a sleep, a spawnLater and a joinall timeout never end before their delay', async () => {
    const early: string[] = [];
    const g = spawn(async () => {
      for (let i = 0; i < 40; i++) {
        let ms = 0.1 + Math.random() * 3;
        misalign();
        let t0 = performance.now();
        try {
          using _ = new Timeout(ms).start();
          await sleep(10_000);
        } catch (e) {
          if (!(e instanceof Timeout)) throw e;
        }
        let took = performance.now() - t0;
        if (took < ms) early.push(`Timeout(${ms}) expired after ${took}`);

        ms = 0.1 + Math.random() * 3;
        misalign();
        t0 = performance.now();
        await sleep(ms);
        took = performance.now() - t0;
        if (took < ms) early.push(`sleep(${ms}) took ${took}`);

        ms = 0.1 + Math.random() * 3;
        misalign();
        t0 = performance.now();
        const started = (await spawnLater(ms, () => performance.now()).get()) as number;
        if (started - t0 < ms) early.push(`spawnLater(${ms}) started after ${started - t0}`);

        ms = 0.1 + Math.random() * 3;
        const sleeper = spawn(() => sleep(10_000));
        misalign();
        t0 = performance.now();
        await joinall([sleeper], { timeout: ms });
        took = performance.now() - t0;
        if (took < ms) early.push(`joinall({ timeout: ${ms} }) returned after ${took}`);
        await sleeper.kill();
      }
    });
    await g.get();
    assert.deepEqual(early, []);
  });

  test('greenlets sleeping 3, 2.2, 2.5 and 2 ms wake in deadline order', async () => {
    const wrong: string[] = [];
    for (let i = 0; i < 30; i++) {
      const woke: Armed[] = [];
      const nap = async (ms: number): Promise<void> => {
        const armed = armedSleep(ms);
        await armed.sleep;
        woke.push(armed);
      };
      misalign();
      await joinall([spawn(nap, 3), spawn(nap, 2.2), spawn(nap, 2.5), spawn(nap, 2)]);
      const late = outOfOrder(woke);
      if (late !== null) wrong.push(late);
    }
    assert.deepEqual(wrong, []);
  });
});
