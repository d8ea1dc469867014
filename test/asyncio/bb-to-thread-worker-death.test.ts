/**
 * A worker of the loop's default executor dying mid-call (here by process.exit in the call):
 * that call fails with BrokenThreadPool, as weft/futures breaks the pool, and the calls after
 * it run on a new default executor. They used to fail with the same BrokenThreadPool for the
 * rest of run(): one dead worker ended toThread for good, where Python's to_thread (whose
 * threads cannot die apart from the process) never stops working.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { getRunningLoop, run, toThread } from '../../src/asyncio/index.js';
import { add } from '../futures/fixtures/tasks.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

const broken = { name: 'BrokenThreadPool', code: 'ERR_WEFT_BROKEN_THREAD_POOL' };

describe('toThread after a worker of the default executor died', () => {
  test('the dying call fails with BrokenThreadPool; later calls run, in order', async () => {
    await run(async () => {
      assert.equal(await toThread(add, 1, 1), 2, 'the pool runs');
      await assert.rejects(
        toThread(() => {
          process.exit(3);
        }),
        broken,
      );
      const results = await Promise.all([1, 2, 3].map((i) => toThread(add, i, 10)));
      assert.deepEqual(results, [11, 12, 13]);
      // runInExecutor(null, …) is the same executor; twice broken, twice replaced.
      await assert.rejects(
        getRunningLoop().runInExecutor(null, () => {
          process.exit(4);
        }),
        broken,
      );
      assert.equal(await getRunningLoop().runInExecutor(null, add, 20, 22), 42);
    });
  });

  test('an executor passed in stays broken, as in weft/futures (only the default is replaced)', async () => {
    const { ThreadPoolExecutor } = await import('../../src/futures/index.js');
    const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    try {
      await run(async () => {
        const loop = getRunningLoop();
        await assert.rejects(
          loop.runInExecutor(ex, () => {
            process.exit(5);
          }),
          broken,
        );
        await assert.rejects(loop.runInExecutor(ex, add, 1, 2), broken);
      });
    } finally {
      await ex.shutdown({ wait: false });
    }
  });
});
