/**
 * A notify racing a waiter's exit must not leave a token for nobody. Condition kept REG (waiters
 * registered) and TOKENS with TOKENS ≤ REG. Interleavings: notify read REG = 1, the only waiter
 * timed out (REG 0, no token yet, so it reported a timeout), then notify added its token; or the
 * waiter took its token (TOKENS 0) and notify, before the waiter's REG−−, saw one waiter without
 * a token. Either way TOKENS > REG, and the next wait took that token at once: it returned true
 * though no notify had been issued while it waited (Python's returns false).
 *
 * Stress (the windows are a few instructions wide): a thread waits with timeout 0 in a loop
 * while this one notifies in a loop, both under the lock; a wait that says "notified" while the
 * notify counter (bumped under the lock) did not move is the defect. Without the fix a run
 * counted about one such wait per 2,000 on an idle 2-core machine.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Condition, Thread } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { until } from '../support/until.js';
import { conditionTimeoutWaiter } from './fixtures/tasks.js';

checkLeaks();

const WAITS = 300_000;

test('a wait returns true only for a notify issued while it waited', async () => {
  const cond = new Condition();
  const a = new Int32Array(new SharedArrayBuffer(32));
  const t = new Thread({ target: conditionTimeoutWaiter, args: [cond, a.buffer, WAITS] });
  t.start();
  await until(() => Atomics.load(a, 4) !== 0, 'the waiter thread to start');
  while (Atomics.load(a, 2) === 0) {
    cond.acquireSync();
    Atomics.add(a, 0, 1);
    cond.notify(1);
    cond.release();
  }
  await t.join();
  assert.equal(Atomics.load(a, 1), 0, `${Atomics.load(a, 1)} waits said notified with no notify`);
  // Quiet now: no waiter, no token left over.
  assert.deepEqual(Array.from(cond._a).slice(1, 4), [0, 0, 0]);
});
