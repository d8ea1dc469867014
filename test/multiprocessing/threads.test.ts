/**
 * multiprocessing's objects used from threads of one process (and from a process pool's worker): every thread must reach the one
 * broker of the process, whichever thread used it first and whenever each thread was started.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ProcessPoolExecutor, ThreadPoolExecutor } from '../../src/futures/index.js';
import { Queue } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { getInThread, makeQueueInThread, putFromThread, ready } from './fixtures/targets.js';

checkLeaks({ graceMs: 3000 });

describe('multiprocessing from threads', () => {
  // A worker started before anything in this process used the broker: its copy of the
  // environment will never name the broker.
  let early: ThreadPoolExecutor;
  before(async () => {
    assert.equal(process.env.WEFT_BROKER, undefined, 'this file must start with no broker');
    early = new ThreadPoolExecutor({ maxWorkers: 1 });
    assert.equal(await early.submit(ready).result(), true);
  });
  after(() => early.shutdown());

  test('a queue first made in a pool worker is the one the main thread sees, after the pool ends', async () => {
    // The worker claims the broker; the main thread starts it (a worker's would end with it).
    const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    const q = (await ex.submit(makeQueueInThread).result()) as Queue<string>;
    await ex.shutdown();
    assert.equal(await q.get({ timeout: 10_000 }), 'made in a thread');
  });

  test('a worker started before the main thread used the broker shares its queues', async () => {
    const q = new Queue<string>();
    q.putNowait('from main');
    assert.equal(await early.submit(getInThread, q).result(), 'from main');
    await early.submit(putFromThread, q, 'from the early worker').result();
    assert.equal(await q.get({ timeout: 10_000 }), 'from the early worker');
  });

  test('what a process pool task put arrives though the pool shuts down right after', async () => {
    const q = new Queue<string>();
    const ex = new ProcessPoolExecutor({ maxWorkers: 1 });
    await ex.submit(putFromThread, q, 'from a pool process').result();
    await ex.shutdown();
    assert.equal(await q.get({ timeout: 10_000 }), 'from a pool process');
  });
});
