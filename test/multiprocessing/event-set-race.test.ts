/**
 * A set that reaches the broker without a generation (a thread without the slab) raises
 * FLAG in the slab word and then pumps the waiters, who check FLAG again: a clear from a
 * process on the slab in between leaves every waiter parked before that set parked.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readySlab } from '../../src/internal/process/lock-slab.js';
import { Event, Process, Queue } from '../../src/multiprocessing/index.js';
import { clearer, setter } from './fixtures/event-race-targets.js';

test('waiters parked before a broker-made set are woken though a slab clear follows at once', async (t) => {
  const ev = new Event();
  await ev.wait({ timeout: 0 });
  if (readySlab() === null) {
    t.skip('no lock slab here: the race needs a slab clear');
    return;
  }
  const go = new Queue<number>();
  const done = new Queue<string>();
  process.env.WEFT_LOCK_SLAB = '0';
  const s = new Process({ target: setter, args: [ev, go, done] });
  s.start();
  delete process.env.WEFT_LOCK_SLAB;
  const c = new Process({ target: clearer, args: [ev, 100_000, done] });
  c.start();
  await done.get({ timeout: 60_000 });
  const got: boolean[] = [];
  for (let r = 0; r < 150; r++) {
    const w = ev.wait({ timeout: 1500 });
    await new Event().wait({ timeout: 0 }); // parked
    await go.put(r);
    await done.get({ timeout: 60_000 });
    got.push(await w);
  }
  await go.put(-1);
  await s.join();
  c.terminate();
  await c.join();
  assert.deepEqual(
    got,
    got.map(() => true),
  );
});
