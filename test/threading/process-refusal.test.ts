/**
 * A weft/threading Lock or RLock sent to a child process (bug bash t33c). It crossed as
 * `{ cell: N }`, an index into the memory of the process that made it, so the child got a lock
 * that locked nothing of the parent's; Condition, Semaphore, Event, Value and Barrier were refused
 * already (their state holds a SharedArrayBuffer, which a process channel refuses). A lock's state
 * now carries the buffer its cell lives in, and is refused the same way.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProcessPoolExecutor } from '../../src/futures/index.js';
import { Lock, RLock } from '../../src/threading/index.js';
import { describeArgs } from '../multiprocessing/fixtures/pipe-targets.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

test('a threading Lock or RLock given to a process pool fails that call with a TypeError', async () => {
  const ex = new ProcessPoolExecutor({ maxWorkers: 1 });
  try {
    for (const make of [() => new Lock(), () => new RLock()]) {
      const lock = make();
      lock.acquireSync();
      const bad = ex.submit(describeArgs, lock);
      const good = ex.submit(describeArgs, 'x');
      await assert.rejects(bad.result(), (e: unknown) => {
        assert.ok(e instanceof TypeError, String(e));
        assert.match(e.message, /weft\/multiprocessing/);
        return true;
      });
      assert.deepEqual(await good, ['string']);
      // Still this process's lock, held as it was.
      assert.equal(lock.locked(), true);
      lock.release();
    }
  } finally {
    await ex.shutdown();
  }
});
