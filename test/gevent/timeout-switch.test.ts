import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Event, joinall, sleep, spawn, Timeout } from '../../src/gevent/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

// gevent 22.10.2: a Timeout's timer callback throws into its greenlet itself, so the greenlet
// runs before the next timer callback due in the same loop iteration. Two Timeouts (10 and
// 11 ms) expire in one iteration (the main greenlet blocks the loop for 30 ms): A, thrown into
// first, still sees B's Timeout pending. Python prints
// ['c0', 'c1', 'c2', 'A caught, tB pending=True', 'B caught'].
test('a Timeout’s expiry throws into its greenlet, which runs before the next expiry', async () => {
  await spawn(async () => {
    const log: string[] = [];
    const ev = new Event();
    const tB = new Timeout(11);
    const a = spawn(async () => {
      const t = new Timeout(10).start();
      try {
        await ev.wait();
      } catch (e) {
        if (e !== t) throw e;
        log.push(`A caught, tB pending=${tB.pending}`);
      }
    });
    const b = spawn(async () => {
      tB.start();
      try {
        await ev.wait();
      } catch (e) {
        if (e !== tB) throw e;
        log.push('B caught');
      }
    });
    await sleep(0);
    // Both deadlines pass while the loop is blocked: they fire in the same turn.
    const end = performance.now() + 30;
    while (performance.now() < end) {}
    const c = spawn(async () => {
      for (let i = 0; i < 3; i++) {
        log.push(`c${i}`);
        await sleep(0);
      }
    });
    await joinall([a, b, c]);
    assert.deepEqual(log, ['c0', 'c1', 'c2', 'A caught, tB pending=true', 'B caught']);
  }).get();
});
