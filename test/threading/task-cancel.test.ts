/**
 * An asyncio task waiting on a shared-memory primitive (weft/threading, weft/queue) without a
 * `signal` is cancelled as a task waiting on a weft awaitable is: the wait ends, and what arrives
 * later is left for others — no item taken, no permit kept, no lock held for a task that is gone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CancelledError,
  createTask,
  currentTask,
  run,
  sleep,
  TimeoutError,
  timeout,
} from '../../src/asyncio/index.js';
import { Queue } from '../../src/queue/index.js';
import { Event, Lock, Semaphore } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

test('a task cancelled in Queue.get takes no item put after', async () => {
  await run(async () => {
    const q = new Queue<string>();
    const t = createTask(() => q.get());
    await sleep(5);
    t.cancel();
    await assert.rejects(t, CancelledError);
    q.putNowait('item');
    await sleep(5);
    assert.equal(q.qsize(), 1);
    assert.equal(q.getNowait(), 'item');
  });
});

test('a task cancelled in Semaphore.acquire keeps no permit; in Lock.acquire, no lock', async () => {
  await run(async () => {
    const sem = new Semaphore(0);
    const lock = new Lock();
    await lock.acquire();
    const a = createTask(() => sem.acquire());
    const b = createTask(() => lock.acquire());
    await sleep(5);
    a.cancel();
    b.cancel();
    await assert.rejects(a, CancelledError);
    await assert.rejects(b, CancelledError);
    sem.release();
    lock.release();
    await sleep(5);
    assert.equal(sem.value, 1);
    assert.equal(lock.locked(), false);
  });
});

test('timeout() around a threading wait raises TimeoutError, and the task waits again after', async () => {
  await run(async () => {
    const ev = new Event();
    const q = new Queue<number>();
    await assert.rejects(async () => {
      await using _ = timeout(20);
      await ev.wait();
    }, TimeoutError);
    // The task's cancellation was taken back: its next wait is not ended by the old one.
    assert.equal(currentTask()?.cancelling(), 0);
    setTimeout(() => q.putNowait(7), 20);
    assert.equal(await q.get(), 7);
  });
});
