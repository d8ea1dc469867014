import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Future, ThreadPoolExecutor } from '../../src/futures/index.js';
import type { PoolExecutor } from '../../src/futures/pool-executor.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

/**
 * `_chunk` with argument lists of different lengths (multiprocessing Pool's starmap) runs one
 * call each and gathers them: the gathered future must fail when a part failed, whatever the
 * value it failed with — JavaScript can throw `undefined`.
 */
describe('PoolExecutor._chunk of calls run one by one', () => {
  test('a part failed with undefined fails the whole chunk, not a result of undefined', async () => {
    const ex = new ThreadPoolExecutor({ maxWorkers: 1 }) as unknown as PoolExecutor;
    const parts: Future<unknown>[] = [];
    // The parts, under the test's control (the engine's worker turns a thrown undefined into an
    // Error; a part completed any other way can carry it as it is).
    (ex as unknown as { _submitCall: () => Future<unknown> })._submitCall = () => {
      const f = new Future<unknown>();
      parts.push(f);
      return f;
    };
    const all = ex._chunk((...a: unknown[]) => a.length, [[1], [2, 3]]);
    assert.equal(parts.length, 2);
    parts[0]?.setResult(1);
    parts[1]?.setException(undefined);
    assert.equal(all.done(), true);
    assert.equal(all._succeeded(), false);
    await assert.rejects(all.result(), (e: unknown) => e === undefined);
    await ex.shutdown();
  });

  test('parts that all succeed give their results in order', async () => {
    await using ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    const all = (ex as unknown as PoolExecutor)._chunk(
      (...a: number[]) => a.length,
      [[1], [2, 3], []],
    );
    assert.deepEqual(await all.result(), [1, 2, 0]);
  });
});
