/**
 * Bug bash of multiprocessing's synchronisation primitives and queues, checked against Python's
 * multiprocessing (CPython 3.11).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Barrier,
  BrokenBarrierError,
  Condition,
  Lock,
  Process,
  Queue,
  RLock,
} from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import {
  countAction,
  holdThenNotifyViaOtherHandle,
  waitAloneAtBarrier,
  waitLastAtBarrier,
} from './fixtures/bb6-targets.js';

checkLeaks({ graceMs: 3000 });

/** A second handle on `obj` in this process, as a queue item brings one. */
async function roundTrip<T>(obj: T): Promise<T> {
  const q = new Queue<T>();
  q.put(obj);
  const back = await q.get({ timeout: 10_000 });
  q.close();
  return back;
}

describe('multiprocessing locks are held per thread, whatever handle took them', () => {
  test('a hold taken through one handle is released and seen by notify through another', async () => {
    for (const lock of [new Lock(), new RLock()]) {
      const cond = await roundTrip(new Condition(lock));
      assert.notEqual(cond.lock, lock, 'the queue item brings a second handle');
      await lock.acquire();
      // Python: the same lock, held — notify is allowed and release through either works.
      cond.notify();
      cond.notifyAll();
      cond.release();
      assert.equal(lock.locked(), false);
      assert.throws(() => lock.release(), /not held/);
      assert.throws(() => cond.notify(), /acquire the Condition's lock first/);
      // And the other way round, with acquireSync.
      assert.equal(cond.acquireSync(), true);
      lock.release();
      assert.equal(cond.lock.locked(), false);
    }
  });

  test('an RLock taken twice through two handles needs two releases, through either', async () => {
    const a = new RLock();
    const b = await roundTrip(a);
    await a.acquire();
    a.acquireSync();
    b.release();
    assert.equal(a.locked(), true);
    b.release();
    assert.equal(b.locked(), false);
    assert.throws(() => a.release(), /not held/);
  });

  test('a child holding the lock through args notifies through the Condition a queue brought', async () => {
    const lock = new Lock();
    const inbox = new Queue<Condition>();
    const out = new Queue<string>();
    const p = new Process({ target: holdThenNotifyViaOtherHandle, args: [lock, inbox, out] });
    p.start();
    inbox.put(new Condition(lock));
    const seen = [];
    for (let i = 0; i < 3; i++) seen.push(await out.get({ timeout: 30_000 }));
    await p.join();
    assert.deepEqual(seen, ['two handles', 'notified', 'released']);
    assert.equal(p.exitcode, 0);
    assert.equal(lock.locked(), false);
  });
});

describe('Barrier.nWaiting is 0 while the barrier is broken, as in Python', () => {
  test('after abort() and after a timeout, nobody is counted as waiting', async () => {
    const b = new Barrier(3);
    const waits = [b.wait(), b.wait()];
    // Both waits are at the broker once nWaiting counts them (the snapshot sees this thread's
    // earlier requests).
    assert.equal(b.nWaiting(), 2);
    assert.equal(b.broken(), false);
    b.abort();
    for (const w of waits) await assert.rejects(w, BrokenBarrierError);
    assert.equal(b.broken(), true);
    assert.equal(b.nWaiting(), 0);
    await b.reset();
    assert.deepEqual([b.nWaiting(), b.broken()], [0, false]);
    await assert.rejects(b.wait({ timeout: 20 }), BrokenBarrierError);
    assert.deepEqual([b.nWaiting(), b.broken()], [0, true]);
    await b.reset();
    // Whole again: three parties pass, with distinct indices.
    const idx = await Promise.all([b.wait(), b.wait(), b.wait()]);
    assert.deepEqual([...idx].sort(), [0, 1, 2]);
    assert.equal(b.nWaiting(), 0);
  });
});

describe('a Barrier passed to a child keeps its action and default timeout, as Python pickles them', () => {
  for (const sync of [false, true]) {
    test(`the action runs in the child when the child is the party with index 0 (${sync ? 'waitSync' : 'wait'})`, async () => {
      const b = new Barrier(2, { action: countAction });
      const out = new Queue<[number, number]>();
      const p = new Process({ target: waitLastAtBarrier, args: [b, out, sync] });
      p.start();
      // The child waits once this party is waiting: it arrives last, and index 0 is its.
      const mine = await b.wait();
      const [theirs, runsThere] = await out.get({ timeout: 30_000 });
      await p.join();
      assert.deepEqual([mine, theirs], [1, 0]);
      assert.equal(runsThere, 1, 'the action ran once, in the child');
      assert.equal(p.exitcode, 0);
    });
  }

  test("a child's wait without a timeout of its own breaks at the Barrier's default timeout", async () => {
    const b = new Barrier(2, { timeout: 200 });
    const out = new Queue<string>();
    const p = new Process({ target: waitAloneAtBarrier, args: [b, out] });
    p.start();
    try {
      assert.equal(await out.get({ timeout: 30_000 }), 'BrokenBarrierError');
      assert.equal(await out.get({ timeout: 30_000 }), 'sync BrokenBarrierError');
    } finally {
      if (p.exitcode === null) p.kill();
      await p.join();
    }
    assert.equal(b.broken(), true);
  });

  test('a handle revived in the thread that made it runs the very action, a closure included', async () => {
    let runs = 0;
    const made = new Barrier(1, {
      action: () => {
        runs++;
      },
    });
    const b = await roundTrip(made);
    assert.notEqual(b, made);
    assert.equal(await b.wait(), 0);
    assert.equal(b.waitSync(), 0);
    assert.equal(runs, 2);
  });
});
