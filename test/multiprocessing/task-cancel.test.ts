/**
 * An asyncio task waiting in the broker (a multiprocessing Queue.get, Lock or Semaphore acquire)
 * without a `signal` is cancelled as a task waiting on a weft awaitable is: the request is
 * withdrawn, and what arrives later is left for others.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CancelledError, createTask, run, sleep } from '../../src/asyncio/index.js';
import { Lock, Queue, Semaphore } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

test('a task cancelled in a multiprocessing Queue.get takes no item put after', async () => {
  await run(async () => {
    const q = new Queue<string>();
    try {
      const t = createTask(() => q.get());
      await sleep(50);
      t.cancel();
      await assert.rejects(t, CancelledError);
      await q.put('item');
      assert.equal(await q.get({ timeout: 5000 }), 'item');
      assert.equal(q.empty(), true);
    } finally {
      q.close();
    }
  });
});

test('a task cancelled in a multiprocessing Semaphore or Lock acquire keeps nothing', async () => {
  await run(async () => {
    const sem = new Semaphore(0);
    const lock = new Lock();
    assert.equal(await lock.acquire(), true);
    const a = createTask(() => sem.acquire());
    const b = createTask(() => lock.acquire());
    await sleep(50);
    a.cancel();
    b.cancel();
    await assert.rejects(a, CancelledError);
    await assert.rejects(b, CancelledError);
    sem.release();
    lock.release();
    assert.equal(await sem.acquire({ timeout: 5000 }), true);
    assert.equal(await lock.acquire({ timeout: 5000 }), true);
    lock.release();
  });
});
