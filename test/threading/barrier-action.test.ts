/**
 * A Barrier's action in a thread that has not rebuilt it yet (bug bash b2). A barrier revived in a
 * worker rebuilds its action in the background (a module import); a last party that waited with
 * `waitSync` right after the barrier arrived in a queue item broke the barrier with "The barrier
 * action is not loaded in this thread yet", where Python runs the action. Now an async wait
 * waits for the action, and a blocking last party hands it to a waiting party that has it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Queue } from '../../src/queue/index.js';
import { Barrier, Thread, Value } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { until } from '../support/until.js';
import { elsewhereAction, elsewhereCountIn } from './fixtures/elsewhere-action.js';
import { barrierPartyFromQueue, countAction, countActionIn } from './fixtures/tasks.js';

checkLeaks();

const PATIENCE = 15_000;

/**
 * A barrier reaches a worker in a queue item; this thread waits too. Its action is `countAction`
 * (in the module of the worker's target, so loaded there) or, `elsewhere`, one whose module the
 * worker never loaded.
 */
async function lastPartyFromQueue(
  sync: boolean,
  elsewhere = false,
): Promise<{ mine: number; theirs: string; runs: number }> {
  const runs = Value('i', 0);
  countActionIn(runs);
  elsewhereCountIn(runs);
  const b = new Barrier(2, { action: elsewhere ? elsewhereAction : countAction });
  const q = new Queue<Barrier>();
  const out = new Queue<string>();
  const t = new Thread({ target: barrierPartyFromQueue, args: [q, runs, out, sync] });
  t.start();
  try {
    const mine = b.wait({ timeout: PATIENCE });
    await until(() => b.nWaiting === 1, 'this thread to wait at the barrier');
    // The worker is the last party, waiting as soon as the barrier arrives.
    q.putSync(b);
    return { mine: await mine, theirs: await out.get({ timeout: PATIENCE }), runs: runs.value };
  } finally {
    await t.join();
  }
}

test('a last party blocking (waitSync) right after the barrier arrived runs the action itself when its module is loaded there (bug bash b2)', async () => {
  const r = await lastPartyFromQueue(true);
  // index 1 for the worker; the action ran once, in its thread, before anyone was released.
  assert.deepEqual(r, { mine: 0, theirs: '1:1:1', runs: 1 });
});

test('a last party blocking (waitSync) that cannot have the action hands it to a party that has it', async () => {
  const r = await lastPartyFromQueue(true, true);
  // The action ran once, before the worker was released, and not in its thread.
  assert.deepEqual(r, { mine: 0, theirs: '1:1:0', runs: 1 });
});

test('a last party waiting asynchronously right after the barrier arrived runs the action itself', async () => {
  const r = await lastPartyFromQueue(false);
  assert.deepEqual(r, { mine: 0, theirs: '1:1:1', runs: 1 });
});

test('when no waiting party can run the action, the barrier breaks with an error saying why', async () => {
  const runs = Value('i', 0);
  elsewhereCountIn(runs);
  const b = new Barrier(1, { action: elsewhereAction });
  const q = new Queue<Barrier>();
  const out = new Queue<string>();
  const t = new Thread({ target: barrierPartyFromQueue, args: [q, runs, out, true] });
  t.start();
  q.putSync(b);
  const theirs = await out.get({ timeout: PATIENCE });
  await t.join();
  assert.match(
    theirs,
    /^BrokenBarrierError: The barrier action cannot run: it is not loaded in this thread yet/,
  );
  assert.equal(runs.value, 0);
  assert.equal(b.broken, true);
});
