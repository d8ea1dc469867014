/**
 * A party that arrives while a generation is passing (its last arrival is running the action)
 * belongs to the next generation, as in Python (`Barrier._enter` waits while the barrier drains).
 * It used to be counted into the passing generation: its index came out as `parties` (out of
 * range), it took itself for the last arrival, ran the action again and let itself through
 * alone; the generation it should have joined then never counted it.
 *
 * Deterministic: Barrier(2). Thread A arrives first; the main thread arrives last, and its action
 * waits until thread C says it is arriving, plus a pause for C to get there. C must wait for a
 * partner: once the main thread's generation has passed, C is counted in the next one, and the
 * main thread's second arrival lets C through with index 0.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Queue } from '../../src/queue/index.js';
import { Barrier, Thread } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { until } from '../support/until.js';
import { barrierArriveReport, hookedBarrierAction } from './fixtures/tasks.js';

checkLeaks();

/** Generous for a loaded machine; nothing here waits that long when all is well. */
const LONG = 30_000;

test('a party arriving while the barrier passes waits for the next generation', async () => {
  const b = new Barrier(2, { action: hookedBarrierAction });
  const out = new Queue<string>();
  const arriving = new Queue<string>();
  let actions = 0;
  const g = globalThis as { weftTestBarrierHook?: () => void };
  g.weftTestBarrierHook = () => {
    actions++;
    if (actions > 1) return;
    // The first generation is passing: let C arrive now.
    assert.equal(arriving.getSync({ timeout: LONG }), 'C');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
  };
  const a = new Thread({ target: barrierArriveReport, args: [b, out, null, 'A', LONG] });
  const c = new Thread({ target: barrierArriveReport, args: [b, out, arriving, 'C', LONG] });
  try {
    a.start();
    await until(() => b.nWaiting === 1, 'A to wait at the barrier', LONG);
    c.start();
    assert.equal(b.waitSync({ timeout: LONG }), 1);
    assert.equal(await out.get({ timeout: LONG }), 'A:0');
    // C is the first party of the next generation, not a second last one of this one.
    await until(
      () => b.nWaiting === 1 || out.qsize() > 0,
      'C to wait in the next generation',
      LONG,
    );
    assert.equal(out.qsize(), 0, 'C went through without a partner');
    assert.equal(b.waitSync({ timeout: LONG }), 1);
    assert.equal(await out.get({ timeout: LONG }), 'C:0');
    assert.equal(actions, 2);
    assert.equal(b.broken, false);
  } finally {
    delete g.weftTestBarrierHook;
    b.abort(); // frees a party left waiting after a failure
    await a.join();
    await c.join();
  }
});
