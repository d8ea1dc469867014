/**
 * Pool options against CPython 3.11 (helper-103's bug-bash): map's `chunksize=None` (its
 * default, worked out from the items), and callbacks checked at the call. A callback that was
 * not a function was called when the result came: its TypeError went to stderr and the result
 * was delivered as if nothing were wrong (CPython's result handler thread dies and the pool
 * hangs).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Pool } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { double } from './fixtures/pool-tasks.js';

checkLeaks({ graceMs: 3000 });

describe('Pool options (helper-103)', () => {
  test('a callback that is not a function is a TypeError at the call, and nothing runs', async () => {
    const pool = new Pool(1);
    try {
      assert.throws(() => pool.applyAsync(double, [1], undefined, { callback: 5 as never }), {
        name: 'TypeError',
        message: /Pool\.applyAsync: callback must be a function or null: received 5/,
      });
      assert.throws(
        () => pool.applyAsync(double, [1], undefined, { errorCallback: 'x' as never }),
        { name: 'TypeError', message: /Pool\.applyAsync: errorCallback must be a function/ },
      );
      assert.throws(() => pool.applyAsync(double, [1], undefined, 5 as never), {
        name: 'TypeError',
        message: /Pool\.applyAsync: options must be an object/,
      });
      assert.throws(() => pool.mapAsync(double, [1], undefined, { callback: {} as never }), {
        name: 'TypeError',
        message: /Pool\.mapAsync: callback must be a function/,
      });
      assert.throws(
        () => pool.starmapAsync(double, [[1]], undefined, { errorCallback: 1 as never }),
        { name: 'TypeError', message: /Pool\.starmapAsync: errorCallback must be a function/ },
      );
      assert.throws(() => pool.imap(double, [1], 1, { progress: 5 as never }), {
        name: 'TypeError',
        message: /^Pool\.imap: progress must be/,
      });
      // Nothing was submitted: the pool started no child.
      assert.deepEqual(pool.pids(), []);
      // null callbacks are none; a null chunksize is Python's None, map's default.
      assert.deepEqual(
        await pool.mapAsync(double, [1, 2], null, { callback: null, errorCallback: null }).get(),
        [2, 4],
      );
      assert.deepEqual(await pool.map(double, [1, 2, 3], null), [2, 4, 6]);
      assert.deepEqual(await pool.starmap(double, [[4]], null), [8]);
    } finally {
      pool.terminate();
      await pool.join();
    }
  });
});
