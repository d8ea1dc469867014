/**
 * toThread/runInExecutor with an argument that cannot be copied to the worker: the TypeError
 * says which argument, counted from 1 (V8's message names only the value: "() => 1 could not
 * be cloned."), the call is never run, and the default executor goes on serving later calls.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { getRunningLoop, run, toThread } from '../../src/asyncio/index.js';
import { add } from '../futures/fixtures/tasks.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

describe('toThread: an argument that cannot be sent', () => {
  test('the TypeError names the argument by its position', async () => {
    await run(async () => {
      await assert.rejects(
        toThread(
          (a: number, b: string, c: unknown) => [a, b, c],
          1,
          'x',
          () => 1,
        ),
        (e: Error) => {
          assert.ok(e instanceof TypeError, String(e));
          assert.match(e.message, /: argument 3 of task #\d+ cannot be sent to a worker \(/);
          assert.match(e.message, /could not be cloned/);
          return true;
        },
      );
      await assert.rejects(
        getRunningLoop().runInExecutor(null, (s: unknown) => s, Symbol('s')),
        (e: Error) => e instanceof TypeError && /: argument 1 of task #\d+ /.test(e.message),
      );
      // The pool is not broken by it: the next calls run, in order.
      const results = await Promise.all([1, 2, 3].map((i) => toThread(add, i, 10)));
      assert.deepEqual(results, [11, 12, 13]);
    });
  });
});
