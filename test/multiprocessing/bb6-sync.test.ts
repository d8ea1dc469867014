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
  Event,
  JoinableQueue,
  Lock,
  Process,
  Queue,
  RLock,
} from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import {
  abortWhenTold,
  countAction,
  holdThenNotifyViaOtherHandle,
  takeOneThenEnd,
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
    test(`the action runs in the child when the child arrives last (${sync ? 'waitSync' : 'wait'})`, async () => {
      const b = new Barrier(2, { action: countAction });
      const out = new Queue<[number, number]>();
      const p = new Process({ target: waitLastAtBarrier, args: [b, out, sync] });
      p.start();
      // The child waits once this party is waiting: it arrives last, with index 1, as in Python.
      const mine = await b.wait();
      const [theirs, runsThere] = await out.get({ timeout: 30_000 });
      await p.join();
      assert.deepEqual([mine, theirs], [0, 1]);
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

describe('Barrier action runs before any party is released, as in Python', () => {
  test('the last party runs it; the others go on only once it is done', async () => {
    const order: string[] = [];
    const b = new Barrier(3, {
      action: async () => {
        order.push('action start');
        await new Promise((r) => setTimeout(r, 50));
        order.push('action end');
      },
    });
    const party = async (): Promise<void> => {
      order.push(`released ${await b.wait()}`);
    };
    await Promise.all([party(), party(), party()]);
    // In any order, once it is done.
    assert.deepEqual(order.slice(0, 2), ['action start', 'action end']);
    assert.deepEqual(order.slice(2).sort(), ['released 0', 'released 1', 'released 2']);
    // The next generation passes too.
    assert.deepEqual((await Promise.all([b.wait(), b.wait(), b.wait()])).sort(), [0, 1, 2]);
  });

  for (const sync of [false, true]) {
    test(`an action that throws breaks the barrier: its party gets the error, the others BrokenBarrierError (${sync ? 'waitSync' : 'wait'})`, async () => {
      const boom = new Error('boom');
      const b = new Barrier(2, {
        action: () => {
          throw boom;
        },
      });
      const first = b.wait();
      // The first party is at the broker once nWaiting counts it.
      assert.equal(b.nWaiting(), 1);
      if (sync)
        assert.throws(
          () => b.waitSync(),
          (e) => e === boom,
        );
      else await assert.rejects(b.wait(), (e) => e === boom);
      await assert.rejects(first, BrokenBarrierError);
      assert.deepEqual([b.broken(), b.nWaiting()], [true, 0]);
      await assert.rejects(b.wait(), BrokenBarrierError);
    });
  }

  test('an abort() from another process while the action runs waits for it', async () => {
    const go = new Event();
    const out = new Queue<string>();
    const b = new Barrier(2, {
      action: async () => {
        go.set();
        assert.equal(await out.get({ timeout: 30_000 }), 'not broken yet');
      },
    });
    const p = new Process({ target: abortWhenTold, args: [b, go, out] });
    p.start();
    try {
      assert.deepEqual((await Promise.all([b.wait(), b.wait()])).sort(), [0, 1]);
      assert.equal(b.broken(), true);
    } finally {
      await p.join();
    }
    assert.equal(p.exitcode, 0);
  });

  for (const sync of [false, true]) {
    test(`an action that aborts the barrier and then throws: its party still gets its error, as in Python (${sync ? 'waitSync' : 'wait'})`, async () => {
      const boom = new Error('boom');
      const b: Barrier = new Barrier(2, {
        action: () => {
          b.abort();
          throw boom;
        },
      });
      // The abort breaks the first party before the action has thrown: handled from the start.
      const first = assert.rejects(b.wait(), BrokenBarrierError);
      assert.equal(b.nWaiting(), 1);
      if (sync)
        assert.throws(
          () => b.waitSync(),
          (e) => e === boom,
        );
      else await assert.rejects(b.wait(), (e) => e === boom);
      await first;
      assert.equal(b.broken(), true);
    });
  }

  test('an action that resets the barrier and then throws: its party gets its error and the barrier ends broken, as in Python', async () => {
    const boom = new Error('boom');
    const b: Barrier = new Barrier(2, {
      action: async () => {
        await b.reset();
        throw boom;
      },
    });
    const res = await Promise.allSettled([b.wait(), b.wait()]);
    const reasons = res.map((r) => (r.status === 'rejected' ? r.reason : r.value));
    assert.equal(
      reasons.filter((e) => e === boom).length,
      1,
      'one party gets what the action threw',
    );
    assert.equal(reasons.filter((e) => e instanceof BrokenBarrierError).length, 1);
    assert.equal(b.broken(), true);
    await assert.rejects(b.wait(), BrokenBarrierError);
  });

  test('an abort() made by the action breaks its own generation', async () => {
    const b: Barrier = new Barrier(2, { action: () => b.abort() });
    const res = await Promise.allSettled([b.wait(), b.wait()]);
    assert.deepEqual(
      res.map((r) => r.status === 'rejected' && r.reason instanceof BrokenBarrierError),
      [true, true],
    );
    assert.equal(b.broken(), true);
  });
});

describe("Barrier.wait({ timeout: null }) is the default timeout, as Python's timeout=None", () => {
  test('null breaks at the default timeout; Infinity waits for ever', async () => {
    const b = new Barrier(2, { timeout: 30 });
    // The signal only stops a wait that would never time out (the bug this test is for).
    await assert.rejects(
      b.wait({ timeout: null, signal: AbortSignal.timeout(20_000) }),
      BrokenBarrierError,
    );
    assert.throws(() => b.waitSync({ timeout: null }), BrokenBarrierError);
    await b.reset();
    const forever = b.wait({ timeout: Number.POSITIVE_INFINITY });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(b.broken(), false);
    assert.deepEqual(await Promise.all([forever, b.wait()]), [0, 1]);
  });
});

describe("JoinableQueue.taskDone counts per queue, as Python's task_done", () => {
  test('items put but not taken here may be marked done; one more is refused', async () => {
    const q = new JoinableQueue<number>();
    q.put(1);
    q.put(2);
    assert.equal(await q.get({ timeout: 10_000 }), 1);
    q.taskDone();
    // Python: the count is the queue's; this thread took only one item.
    q.taskDone();
    assert.throws(
      () => q.taskDone(),
      // Python's ValueError: a RangeError (a RuntimeError before 2026-12-05).
      (e) =>
        e instanceof RangeError &&
        (e as { code?: string }).code === 'ERR_WEFT_TASK_DONE' &&
        /too many/.test(e.message),
    );
    assert.equal(await q.join({ timeout: 10_000 }), true);
    q.close();
  });

  test('an item a child took and the parent marked done does not count against the child', async () => {
    const q = new JoinableQueue<string>();
    const out = new Queue<string>();
    const go = new Event();
    const p = new Process({ target: takeOneThenEnd, args: [q, out, go] });
    p.start();
    q.put('job');
    assert.equal(await out.get({ timeout: 30_000 }), 'job');
    q.taskDone();
    go.set();
    await p.join();
    assert.equal(p.exitcode, 0);
    // Not "a consumer died with 1 item taken": the item was marked done.
    assert.equal(await q.join({ timeout: 10_000 }), true);
  });
});

describe('Barrier options are an object, as threading.Barrier takes them', () => {
  test("Python's Barrier(n, action) is refused, not run without its action", () => {
    const NewBarrier = Barrier as unknown as new (n: number, o?: unknown) => Barrier;
    assert.throws(() => new NewBarrier(2, () => 'act'), {
      name: 'TypeError',
      message:
        'Barrier options must be an object ({ action, timeout }) or left out: received function (anonymous) (pass an action as { action: fn })',
    });
    assert.throws(() => new NewBarrier(2, 5), /^TypeError: Barrier options must be an object/);
    assert.throws(() => new NewBarrier(2, null), /^TypeError: Barrier options must be an object/);
    assert.throws(
      () => new NewBarrier(2, { action: 'act' }),
      /^TypeError: Barrier action must be a function: received "act"$/,
    );
    assert.equal(new Barrier(2, { action: null }).parties, 2);
  });
});
