import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { asCompleted, Future, run, wait } from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

// Python's `timeout` and `return_when` are keyword-only: `asyncio.wait(fs, 5)` is a TypeError.
// Here the options are one object; a bare number meant as a timeout must not be ignored.
describe('wait() and asCompleted() options that are not an object', () => {
  test('wait(aws, 1000) and wait(aws, null) reject with TypeError instead of waiting for all', async () => {
    await run(async () => {
      const f = new Future<number>();
      for (const bad of [1000, null, 'x']) {
        await assert.rejects(
          wait([f], bad as never),
          (e: unknown) =>
            e instanceof TypeError && /wait\(\) options must be an object/.test(e.message),
        );
      }
      assert.equal(f.done(), false);
      f.cancel();
    });
  });

  test('asCompleted(aws, 1000) and asCompleted(aws, null) throw TypeError', async () => {
    await run(async () => {
      const f = new Future<number>();
      for (const bad of [1000, null]) {
        assert.throws(
          () => asCompleted([f], bad as never),
          (e: unknown) =>
            e instanceof TypeError && /asCompleted\(\) options must be an object/.test(e.message),
        );
      }
      f.cancel();
    });
  });
});
