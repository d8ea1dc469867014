/**
 * Owner death when a worker cannot recover what it holds itself: an executor worker ended by a
 * forced cancellation, by a task's process.exit(), or at shutdown. The thread that sees the
 * worker exit hands its Lock and RLock cells back (recoverCellsOf); the next acquirer gets
 * OwnerDiedError instead of waiting for ever. Every wait here has a timeout far above how long the
 * recovery takes, so a missing recovery fails the test instead of hanging it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BrokenThreadPool, CancelledError, ThreadPoolExecutor } from '../../src/futures/index.js';
import { recoverCellsOf } from '../../src/internal/shm/world.js';
import { Event, Lock, OwnerDiedError, RLock, Semaphore } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { holdThen } from './fixtures/tasks.js';

checkLeaks({ graceMs: 3000 });

/** Far above a worker's exit and the recovery after it; reached only when recovery is missing. */
const PATIENCE = 15_000;

describe('owner death of an executor worker', () => {
  test('a forced cancellation of a task holding a Lock wakes the parked waiter with OwnerDiedError', async () => {
    await using ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    const lock = new Lock();
    const held = new Event();
    const f = ex.submit(holdThen, lock, 1, null, held, 'spin');
    assert.equal(await held.wait({ timeout: PATIENCE }), true);
    // Parked before the holder is ended: the recovery must wake it, not a later look.
    const waiting = lock.acquire({ timeout: PATIENCE });
    assert.equal(f.cancel({ force: true }), true);
    await assert.rejects(f.result(), CancelledError);
    await assert.rejects(waiting, OwnerDiedError);
    // Reported once; the lock is free afterwards.
    assert.equal(lock.locked(), false);
    assert.equal(await lock.acquire({ timeout: PATIENCE }), true);
    lock.release();
  });

  test('an RLock held three deep by a force-cancelled task is free again after one acquire and one release', async () => {
    await using ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    const r = new RLock();
    const held = new Event();
    const f = ex.submit(holdThen, r, 3, null, held, 'spin');
    assert.equal(await held.wait({ timeout: PATIENCE }), true);
    f.cancel({ force: true });
    await assert.rejects(f.result(), CancelledError);
    await assert.rejects(r.acquire({ timeout: PATIENCE }), OwnerDiedError);
    // The dead owner's depth is not inherited: one acquire, one release.
    assert.equal(await r.acquire({ timeout: PATIENCE }), true);
    r.release();
    assert.equal(r.locked(), false);
  });

  test('a task that exits its worker while holding a Lock breaks the pool and leaves the lock recovered', async () => {
    await using ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    const lock = new Lock();
    const held = new Event();
    const f = ex.submit(holdThen, lock, 1, null, held, 'exit');
    await assert.rejects(f.result(), BrokenThreadPool);
    assert.equal(held.isSet(), true);
    await assert.rejects(lock.acquire({ timeout: PATIENCE }), OwnerDiedError);
    assert.equal(await lock.acquire({ timeout: PATIENCE }), true);
    lock.release();
  });

  test('at shutdown a worker gives back the RLock its task left held but not the Semaphore permit', async () => {
    const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    const rlock = new RLock();
    const sem = new Semaphore(1);
    const held = new Event();
    assert.equal(await ex.submit(holdThen, rlock, 1, sem, held, 'return').result(), 'left held');
    // As in Python, the worker keeps them while it lives.
    assert.equal(rlock.locked(), true);
    assert.equal(await sem.acquire({ blocking: false }), false);
    await ex.shutdown();
    await assert.rejects(rlock.acquire({ timeout: PATIENCE }), OwnerDiedError);
    // A semaphore has no owner (Python, weft/multiprocessing): the permit stays taken.
    assert.equal(sem.value, 0);
    assert.equal(await sem.acquire({ blocking: false }), false);
  });

  test('a Lock a task left held stays held after a normal shutdown, and any thread may release it (bug bash l2)', async () => {
    const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    const lock = new Lock();
    const held = new Event();
    assert.equal(await ex.submit(holdThen, lock, 1, null, held, 'return').result(), 'left held');
    await ex.shutdown();
    // A Lock has no owner (Python): the worker's normal exit releases nothing, and reports nothing.
    assert.equal(lock.locked(), true);
    assert.equal(await lock.acquire({ blocking: false }), false);
    lock.release();
    assert.equal(await lock.acquire({ timeout: PATIENCE }), true);
    lock.release();
  });
});

describe('recoverCellsOf', () => {
  test('marks only the cells the dead tid holds, wakes their waiters, and finds nothing the second time', async () => {
    const dead = 0x3fff_fff0; // a tid no thread of this process has
    const theirs = new Lock();
    const mine = new Lock();
    const free = new Lock();
    const c = theirs._core;
    // As if thread `dead` had taken it and been killed.
    assert.equal(Atomics.compareExchange(c.a, c.st, 0, dead), 0);
    mine.acquireSync();
    const waiting = theirs.acquire({ timeout: PATIENCE });
    assert.equal(recoverCellsOf(dead), 1);
    await assert.rejects(waiting, OwnerDiedError);
    assert.equal(recoverCellsOf(dead), 0);
    assert.equal(mine.locked(), true);
    assert.equal(free.locked(), false);
    mine.release();
  });
});
