/**
 * multiprocessing Lock deadlock detection (weft's own; Python hangs): the broker walks the
 * wait-for chain before an untimed acquire parks (src/internal/process/broker-deadlock.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createTask, run, sleep } from '../../src/asyncio/index.js';
import {
  Condition,
  DeadlockError,
  Event,
  Lock,
  Process,
  Queue,
  RLock,
} from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import {
  holdBAwaitAReleaseBLater,
  holdBThenTakeA,
  notifyThenTakeL2,
  waitHoldingL2,
} from './fixtures/deadlock-targets.js';

checkLeaks({ graceMs: 3000 });

const PATIENCE = 30_000;

describe('a Lock held by the waiting thread itself', () => {
  test('acquireSync of a Lock this thread holds is a DeadlockError, not a hang', () => {
    const l = new Lock();
    assert.equal(l.acquireSync(), true);
    assert.throws(
      () => l.acquireSync(),
      (e) =>
        e instanceof DeadlockError &&
        e.code === 'ERR_WEFT_DEADLOCK' &&
        /process 'MainProcess' \(pid \d+\) would wait for ever for Lock [\d.]+, which it holds itself \(a Lock is not reentrant: use an RLock\)/.test(
          e.message,
        ) &&
        e.cycle.length === 1,
    );
    // The failed wait left nothing behind: the lock is still this thread's, once.
    assert.equal(l.locked(), true);
    l.release();
    assert.equal(l.locked(), false);
  });

  test('the asyncio task that holds a Lock awaiting it again is told; another task of the thread waits', async () => {
    const l = new Lock();
    await run(async () => {
      await l.acquire();
      await assert.rejects(l.acquire(), DeadlockError);
      const other = createTask(async () => {
        await l.acquire();
        l.release();
        return 'got it';
      });
      await sleep(50);
      assert.equal(other.done(), false, 'another task waits: this one may release');
      l.release();
      assert.equal(await other, 'got it');
    });
    assert.equal(l.locked(), false);
  });

  test("a hold taken with acquireSync is the thread's: an async acquire of it waits, as in weft/threading", async () => {
    const l = new Lock();
    await run(async () => {
      l.acquireSync();
      // The same task asks again, asynchronously: another task of the thread may release it.
      const again = l.acquire();
      createTask(async () => {
        await sleep(50);
        l.release();
      });
      assert.equal(await again, true);
      l.release();
    });
    assert.equal(l.locked(), false);
  });

  test('an RLock re-enters, and timed or non-blocking waits are never told', async () => {
    const r = new RLock();
    assert.equal(r.acquireSync(), true);
    assert.equal(r.acquireSync(), true);
    r.release();
    r.release();
    const l = new Lock();
    l.acquireSync();
    assert.equal(l.acquireSync({ timeout: 50 }), false);
    assert.equal(l.acquireSync({ blocking: false }), false);
    assert.equal(await l.acquire({ timeout: 50 }), false);
    l.release();
  });
});

describe('two processes taking two Locks in opposite order', () => {
  // Not async child + blocking parent: the documented gap (see the control test below).
  for (const [child, parent] of [
    ['async', 'async'],
    ['sync', 'sync'],
  ] as const) {
    test(`child ${child}, parent ${parent}: the wait that closes the cycle is told, naming both processes and both locks`, async () => {
      const a = new Lock();
      const b = new Lock();
      const ready = new Event();
      const out = new Queue<string>();
      await a.acquire();
      const p = new Process({
        target: holdBThenTakeA,
        args: [a, b, ready, child === 'sync', out],
        name: 'teller-2',
      });
      p.start();
      try {
        assert.equal(await ready.wait({ timeout: PATIENCE }), true);
        let told: DeadlockError | null = null;
        try {
          if (parent === 'sync') b.acquireSync();
          else await b.acquire();
        } catch (e) {
          if (!(e instanceof DeadlockError)) throw e;
          told = e;
        }
        if (told !== null) {
          // The parent was told: it gives a up, the child goes on.
          a.release();
          assert.equal(await out.get({ timeout: PATIENCE }), 'child got a');
          assert.match(
            told.message,
            /^Deadlock: process 'MainProcess' \(pid \d+\) waits for Lock [\d.]+ held by process 'teller-2' \(pid \d+\), which waits for Lock [\d.]+ held by process 'MainProcess' \(pid \d+\)$/,
          );
          assert.equal(told.cycle.length, 2);
          assert.equal(told.cycle[0]?.holder, told.cycle[1]?.waiter);
          assert.equal(told.cycle[1]?.holder, told.cycle[0]?.waiter);
        } else {
          // Both parked blocking: whichever closed the cycle was told — here the child.
          assert.equal(child, 'sync');
          const got = await out.get({ timeout: PATIENCE });
          assert.match(got, /^child: DeadlockError: Deadlock: process 'teller-2'/);
          b.release();
          a.release();
        }
      } finally {
        await p.join({ timeout: PATIENCE });
      }
      assert.equal(p.exitcode, 0);
      assert.deepEqual([a.locked(), b.locked()], [false, false]);
    });
  }

  test('a timed wait on the same cycle is not told: it times out', async () => {
    const a = new Lock();
    const b = new Lock();
    const ready = new Event();
    const out = new Queue<string>();
    await a.acquire();
    const p = new Process({ target: holdBThenTakeA, args: [a, b, ready, false, out] });
    p.start();
    try {
      assert.equal(await ready.wait({ timeout: PATIENCE }), true);
      assert.equal(await b.acquire({ timeout: 100 }), false);
      a.release();
      assert.equal(await out.get({ timeout: PATIENCE }), 'child got a');
    } finally {
      await p.join({ timeout: PATIENCE });
    }
    assert.equal(p.exitcode, 0);
  });

  test('a blocking waiter is not told of a cycle through a thread that awaits: a timer there releases', async () => {
    const a = new Lock();
    const b = new Lock();
    const ready = new Event();
    const out = new Queue<string>();
    await a.acquire();
    // 3 s: the parent's acquireSync reaches the broker while b is still held, however loaded the
    // machine (with a short timer b could be free first, and the walk would never run).
    const p = new Process({ target: holdBAwaitAReleaseBLater, args: [a, b, ready, 3000, out] });
    p.start();
    try {
      assert.equal(await ready.wait({ timeout: PATIENCE }), true);
      // The child awaits a (held here) and holds b; its own timer releases b.
      assert.equal(b.acquireSync(), true);
      b.release();
      a.release();
      assert.equal(await out.get({ timeout: PATIENCE }), 'child done');
    } finally {
      await p.join({ timeout: PATIENCE });
    }
    assert.equal(p.exitcode, 0);
  });
});

describe("a Condition's lock, taken again after wait", () => {
  test('the asyncio task that waited holds it again: awaiting it once more is told, as before the wait', async () => {
    const cond = new Condition(new Lock());
    await run(async () => {
      await cond.acquire();
      await assert.rejects(cond.lock.acquire(), DeadlockError);
      createTask(async () => {
        await cond.acquire();
        cond.notify();
        cond.release();
      });
      assert.equal(await cond.wait({ timeout: PATIENCE }), true);
      // Before the fix the re-acquire recorded no task, and this hung.
      await assert.rejects(cond.lock.acquire(), DeadlockError);
      cond.release();
    });
  });

  test('a cycle through a waiter parked re-acquiring its lock is told to the process that closes it', async () => {
    const l2 = new Lock();
    const cond = new Condition(new Lock());
    const ready = new Event();
    const out = new Queue<string>();
    const waiter = new Process({
      target: waitHoldingL2,
      args: [l2, cond, ready, out],
      name: 'waiter',
    });
    const notifier = new Process({
      target: notifyThenTakeL2,
      args: [l2, cond, ready, out],
      name: 'notifier',
    });
    waiter.start();
    notifier.start();
    try {
      // The notifier is told (the waiter is parked in waitSync's re-acquire, holding l2); it
      // lets go of the Condition's lock, and the waiter wakes.
      const got = [await out.get({ timeout: PATIENCE }), await out.get({ timeout: PATIENCE })];
      assert.match(
        got[0] ?? '',
        /^notifier: DeadlockError: Deadlock: process 'notifier' \(pid \d+\) waits for Lock [\d.]+ held by process 'waiter' \(pid \d+\), which waits for Lock [\d.]+ held by process 'notifier'/,
      );
      assert.equal(got[1], 'waiter woke: true');
    } finally {
      await waiter.join({ timeout: PATIENCE });
      await notifier.join({ timeout: PATIENCE });
    }
    assert.deepEqual([waiter.exitcode, notifier.exitcode], [0, 0]);
  });
});
