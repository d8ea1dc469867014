// gevent's timers on weft's deadline heap (src/internal/timer-heap.ts): as in gevent, whose
// libev loop never runs a timer before its time, a Timeout, a sleep, a spawnLater and a
// joinall timeout never end before their delay, and greenlets sleeping different delays wake in
// deadline order, even for delays within a millisecond of each other.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { joinall, sleep, spawn, spawnLater, Timeout } from '../../src/gevent/index.js';
import { type Armed, armedSleep as armedWith, misalign, outOfOrder } from '../support/deadlines.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

/** `sleep(ms)` armed with the clock's readings around it (test/support/deadlines.ts). */
const armedSleep = (ms: number): Armed => armedWith(ms, sleep);

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

  test("a greenlet's sleep resumes it in the batch its timer fires, before a later spawnLater", async () => {
    // gevent 22.10: the sleep's timer switches to the greenlet itself, so it runs before a
    // spawn_later due in the same batch and armed after the sleep: ['sleep', 'later'] (checked
    // with /usr/bin/python3). weft/asyncio's sleep waits one iteration more (CPython's handle).
    const order: string[] = [];
    const g = spawn(async () => {
      await sleep(10);
      order.push('sleep');
    });
    await sleep(0); // g has armed its timer
    const later = spawnLater(10, () => {
      order.push('later');
    });
    const end = performance.now() + 30;
    while (performance.now() < end) {
      // busy: both deadlines pass before the loop runs again
    }
    await joinall([g, later]);
    assert.deepEqual(order, ['sleep', 'later']);
  });
});
