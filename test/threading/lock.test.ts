import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { run as asyncioRun, sleep as asyncioSleep, createTask } from '../../src/asyncio/index.js';
import { Queue } from '../../src/queue/index.js';
import {
  Barrier,
  DeadlockError,
  Event,
  Lock,
  OwnerDiedError,
  RLock,
  RuntimeError,
  setExcepthook,
  Thread,
  Value,
} from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { waiters } from '../support/lock-waiters.js';
import {
  type PieceHandle,
  type PieceThread,
  piece,
  pieceThreads,
} from '../support/piece-threads.js';
import { until } from '../support/until.js';
import {
  acquireAndDie,
  acquireAndThrow,
  holdFor,
  holdThenWaitWhenTold,
  incrementAsync,
  incrementSync,
  lockInOrderUntimed,
  releaseFromOtherThread,
  releaseWhenReady,
} from './fixtures/tasks.js';

/** Far above a thread's start and end; reached only when something is missing. */
const PATIENCE = 15_000;

checkLeaks();

/**
 * Four threads started once for the file and sent the work of the tests that need other threads
 * for a while (a thread is slow to start); the deadlock test's messages name alpha and beta. A
 * test about a thread's end starts a thread of its own.
 */
const pool = pieceThreads(['alpha', 'beta', 'gamma', 'delta']);
before(() => pool.start());
after(() => pool.close());
const [alpha, beta, gamma, delta] = pool.threads as [
  PieceThread,
  PieceThread,
  PieceThread,
  PieceThread,
];

async function runThreads(threads: PieceHandle[]): Promise<void> {
  for (const t of threads) t.start();
  for (const t of threads) await t.join();
}

for (const Kind of [Lock, RLock]) {
  describe(`${Kind.name} on one thread`, () => {
    test('acquire then release leaves it free', async () => {
      const l = new Kind();
      assert.equal(await l.acquire(), true);
      assert.equal(l.locked(), true);
      l.release();
      assert.equal(l.locked(), false);
      assert.equal(l.acquireSync(), true);
      l.release();
    });

    test('release when not held throws RuntimeError with a code', () => {
      const l = new Kind();
      assert.throws(
        () => l.release(),
        (e: unknown) =>
          e instanceof RuntimeError && (e as RuntimeError).code === 'ERR_WEFT_LOCK_NOT_HELD',
      );
    });

    test('bad options are typed errors', async () => {
      const l = new Kind();
      await assert.rejects(l.acquire({ timeout: 'soon' as never }), TypeError);
      await assert.rejects(l.acquire({ blocking: 1 as never }), TypeError);
      assert.throws(() => l.acquireSync({ signal: {} as never }), TypeError);
      await assert.rejects(l.acquire({ blocking: false, timeout: 5 }), RangeError);
    });

    test('run and hold release on exit, also when fn throws', async () => {
      const l = new Kind();
      assert.equal(await l.run(() => 7), 7);
      await assert.rejects(
        l.run(() => Promise.reject(new Error('x'))),
        /x/,
      );
      assert.equal(l.locked(), false);
      {
        using _ = await l.hold();
        assert.equal(l.locked(), true);
      }
      assert.equal(l.locked(), false);
      assert.equal(
        l.runSync(() => 3),
        3,
      );
    });
  });
}

describe('Lock', () => {
  test('acquire of a held lock by the same task or a sync acquire by the same thread is a DeadlockError', async () => {
    const l = new Lock();
    // Deliberate change (bug bash t40): only the holding asyncio task itself is told; another
    // task of the thread may release it, so it waits (see the next test).
    await asyncioRun(async () => {
      await l.acquire();
      await assert.rejects(
        l.acquire(),
        (e: unknown) => e instanceof DeadlockError && /RLock/.test((e as Error).message),
      );
    });
    assert.throws(() => l.acquireSync(), DeadlockError);
    // Timed and non-blocking waits are not deadlocks: they end by themselves.
    assert.equal(await l.acquire({ timeout: 20 }), false);
    assert.equal(l.acquireSync({ blocking: false }), false);
    l.release();
    assert.equal(waiters(l), 0);
  });

  test('async acquire of a Lock held by another task of the same thread waits for its release (bug bash t40)', async () => {
    const l = new Lock();
    const order: string[] = [];
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    const job = (n: number, hold: Promise<void> | null) =>
      l.run(async () => {
        order.push(`in ${n}`);
        await hold;
        order.push(`out ${n}`);
        return n;
      });
    const first = job(1, released);
    const second = job(2, null);
    // The second waits while the first holds the lock, then gets it.
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, ['in 1']);
    assert.equal(waiters(l), 1);
    release();
    assert.deepEqual(await Promise.all([first, second]), [1, 2]);
    assert.deepEqual(order, ['in 1', 'out 1', 'in 2', 'out 2']);
    // The same between two asyncio tasks, with the holder task known.
    const inTasks = await asyncioRun(async () => {
      const a = createTask(() => job(3, asyncioSleep(20)));
      const b = createTask(() => job(4, null));
      return [await a, await b];
    });
    assert.deepEqual(inTasks, [3, 4]);
    assert.equal(l.locked(), false);
  });

  test('an aborted acquire rejects with the reason and leaves no waiter', async () => {
    const l = new Lock();
    const held = new Event();
    const t = piece(alpha, holdFor, [l, held, 1000]);
    t.start();
    assert.equal(await held.wait({ timeout: 10000 }), true);
    const ac = new AbortController();
    const p = l.acquire({ signal: ac.signal });
    setImmediate(() => ac.abort(new Error('no longer needed')));
    await assert.rejects(p, /no longer needed/);
    assert.equal(waiters(l), 0);
    const already = AbortSignal.abort(new Error('before'));
    await assert.rejects(l.acquire({ signal: already }), /before/);
    assert.throws(() => l.acquireSync({ signal: already }), /before/);
    await t.join();
    assert.equal(await l.acquire(), true);
    l.release();
  });

  test('a timed acquire of a lock held by another thread resolves false', async () => {
    const l = new Lock();
    const held = new Event();
    const t = piece(alpha, holdFor, [l, held, 1500]);
    t.start();
    await held.wait();
    assert.equal(await l.acquire({ timeout: 30 }), false);
    assert.equal(l.acquireSync({ timeout: 30 }), false);
    assert.equal(waiters(l), 0);
    // Untimed: waits until the holder lets go.
    assert.equal(await l.acquire(), true);
    l.release();
    await t.join();
  });

  test('4 threads incrementing under the lock lose no update (sync and async)', async () => {
    const l = new Lock();
    const counter = Value('i', 0);
    const n = 5000;
    await runThreads([
      piece(alpha, incrementSync, [l, counter, n]),
      piece(beta, incrementSync, [l, counter, n]),
      piece(gamma, incrementAsync, [l, counter, n]),
      piece(delta, incrementAsync, [l, counter, n]),
    ]);
    assert.equal(counter.value, 4 * n);
    assert.equal(l.locked(), false);
  });

  test('property: any split of increments over 1-3 threads keeps mutual exclusion', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 2000 }), { minLength: 1, maxLength: 3 }),
        async (ns) => {
          const l = new Lock();
          const counter = Value('i', 0);
          await runThreads(
            ns.map((n, i) => piece(pool.threads[i]!, incrementSync, [l, counter, n])),
          );
          return counter.value === ns.reduce((a, b) => a + b, 0);
        },
      ),
      { numRuns: 4 },
    );
  });

  test('two threads taking two locks in opposite order get a DeadlockError naming both', async () => {
    const a = new Lock();
    const b = new Lock();
    const ready = new Barrier(2);
    const out = new Queue<string>();
    const t1 = piece(alpha, lockInOrderUntimed, [a, b, ready, out]);
    const t2 = piece(beta, lockInOrderUntimed, [b, a, ready, out]);
    t1.start();
    t2.start();
    const first = await out.get({ timeout: 20000 });
    const second = await out.get({ timeout: 20000 });
    await t1.join();
    await t2.join();
    const results = [first, second];
    const deadlocks = results.filter((r) => r.startsWith('DeadlockError'));
    assert.ok(deadlocks.length >= 1, `expected a DeadlockError, got ${results.join(' | ')}`);
    assert.match(deadlocks[0]!, /alpha/);
    assert.match(deadlocks[0]!, /beta/);
    assert.match(deadlocks[0]!, new RegExp(a.name));
    assert.match(deadlocks[0]!, new RegExp(b.name));
    assert.equal(a.locked(), false);
    assert.equal(b.locked(), false);
  });

  test('a thread ending abnormally while holding the lock gives the next waiter OwnerDiedError, then the lock is free', async () => {
    const prev = setExcepthook(() => {});
    try {
      const l = new Lock();
      const t = new Thread({ target: acquireAndThrow, args: [l] });
      t.start();
      await t.join();
      await assert.rejects(l.acquire(), OwnerDiedError);
      assert.equal(l.locked(), false);
      assert.equal(await l.acquire(), true);
      l.release();
    } finally {
      setExcepthook(prev);
    }
  });

  test('a Lock left held by a thread that returned stays held, and another thread may release it (hand-off, bug bash l2)', async () => {
    const l = new Lock();
    const a = new Thread({ target: acquireAndDie, args: [l] });
    a.start();
    await a.join();
    // As in Python: a Lock has no owner, and a thread's end releases nothing.
    assert.equal(l.locked(), true);
    assert.match(String(l), /^<locked /);
    let settled = false;
    const waiting = l.acquire({ timeout: PATIENCE }).finally(() => {
      settled = true;
    });
    await until(() => waiters(l) > 0, 'the waiter to park');
    assert.equal(settled, false, 'the waiter waits for the release, not for an owner-death report');
    const ready = new Event();
    const out = new Queue<string>();
    // Another thread releases it (one of the file's: its end is not the point here).
    const b = piece(alpha, releaseWhenReady, [l, ready, out]);
    b.start();
    ready.set();
    assert.equal(await out.get({ timeout: PATIENCE }), 'released');
    assert.equal(await waiting, true);
    l.release();
    assert.equal(l.locked(), false);
    await b.join();
  });

  test('a sync waiter whose chain reaches a thread waiting asynchronously is not told of a deadlock (bug bash d1)', async () => {
    const l1 = new Lock();
    const l2 = new Lock();
    const held = new Event();
    const go = new Event();
    const out = new Queue<string>();
    await asyncioRun(async () => {
      // Task x of this thread holds l2, and will release it: other code than task y's wait below.
      let letGo!: () => void;
      const released = new Promise<void>((r) => {
        letGo = r;
      });
      const x = createTask(async () => {
        await l2.acquire();
        await released;
        l2.release();
      });
      await until(() => l2.locked(), 'task x to take l2');
      const w = piece(alpha, holdThenWaitWhenTold, [l1, l2, held, go, out]);
      w.start();
      assert.equal(await held.wait({ timeout: PATIENCE }), true);
      // An async wait for l1 (held by the worker): this thread's event loop stays free.
      const y = createTask(() => l1.acquire());
      await until(() => waiters(l1) > 0, 'the async waiter to park');
      // The worker now waits, blocking, for l2: its walk reaches this thread, which is not
      // blocked; nor is task y told (re-walking): l2 is task x's.
      go.set();
      await until(() => waiters(l2) > 0, 'the worker to park on l2');
      letGo();
      await x;
      assert.equal(await out.get({ timeout: PATIENCE }), 'got');
      assert.equal(await y, true);
      l1.release();
      await w.join();
    });
    assert.equal(l1.locked(), false);
    assert.equal(l2.locked(), false);
  });
});

describe('RLock', () => {
  test('the owner re-enters; it is free after as many releases', () => {
    const r = new RLock();
    r.acquireSync();
    r.acquireSync();
    assert.equal(r.isOwned(), true);
    r.release();
    assert.equal(r.locked(), true);
    r.release();
    assert.equal(r.locked(), false);
    assert.throws(() => r.release(), RuntimeError);
  });

  test('async acquires by two asyncio tasks of one thread exclude each other; the holding task, blocking code and code outside tasks re-enter (bug bash c3)', async () => {
    const r = new RLock();
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((res) => {
      release = res;
    });
    const job = (n: number, hold: Promise<void> | null) =>
      r.run(async () => {
        order.push(`in ${n}`);
        await hold;
        order.push(`out ${n}`);
      });
    await asyncioRun(async () => {
      const first = createTask(() => job(1, gate));
      const second = createTask(() => job(2, null));
      await until(() => waiters(r) === 1, 'the second task waiting');
      // Not re-entered by the second task: it waits for the first one's release.
      assert.deepEqual(order, ['in 1']);
      release();
      await Promise.all([first, second]);
      assert.deepEqual(order, ['in 1', 'out 1', 'in 2', 'out 2']);
      // The task that holds it re-enters, nested, as blocking code of the thread does.
      assert.match(await r.run(() => r.run(() => String(r))), /count=2>$/);
    });
    // Outside any task the thread is the owner, as in Python: nested async holds re-enter.
    assert.match(await r.run(() => r.run(() => String(r))), /count=2>$/);
    r.runSync(() => r.runSync(() => assert.match(String(r), /count=2>$/)));
    assert.equal(r.locked(), false);
  });

  test('release from a thread that does not own it is a RuntimeError', async () => {
    const r = new RLock();
    await r.acquire();
    const out = new Queue<string>();
    const t = piece(alpha, releaseFromOtherThread, [r, out]);
    t.start();
    assert.equal(await out.get(), 'RuntimeError');
    await t.join();
    r.release();
  });

  test('owner death of an RLock is reported once', async () => {
    const r = new RLock();
    const t = new Thread({ target: acquireAndDie, args: [r] });
    t.start();
    await t.join();
    assert.throws(() => r.acquireSync(), OwnerDiedError);
    assert.equal(r.acquireSync(), true);
    r.release();
  });
});
