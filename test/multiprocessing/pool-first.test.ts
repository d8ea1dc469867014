/**
 * Process pools whose workers were started before anything in this process used
 * multiprocessing: a task handed a queue must reach the same broker as the parent. (A file of
 * its own: nothing else in this process may have started the broker first.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProcessPoolExecutor } from '../../src/futures/index.js';
import { Pool, Queue } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { putFromThread, square } from './fixtures/targets.js';

checkLeaks({ graceMs: 3000 });

describe('process pools started before the broker', () => {
  test('Pool and ProcessPoolExecutor workers forked before the first queue put into it', async () => {
    assert.equal(process.env.WEFT_BROKER, undefined, 'this file must start with no broker');
    await using pool = new Pool(1);
    await using ex = new ProcessPoolExecutor({ maxWorkers: 1 });
    assert.deepEqual(await pool.map(square, [1, 2, 3]), [1, 4, 9]);
    assert.equal(await ex.submit(square, 3).result(), 9);
    const q = new Queue<string>();
    await pool.apply(putFromThread, [q, 'from the pool']);
    await ex.submit(putFromThread, q, 'from the executor').result();
    const got = [await q.get({ timeout: 10_000 }), await q.get({ timeout: 10_000 })].sort();
    assert.deepEqual(got, ['from the executor', 'from the pool']);
  });
});
