/**
 * Wait-for walks through a thread that waits asynchronously go on only through the wait of the
 * asyncio task holding the lock they came by (src/threading/lock-core.ts, "Which task holds a
 * lock"). Before, such a thread counted as one waiter: a task holding a lock and another task of
 * the same thread awaiting one made a "cycle" no lock order had, and untimed acquires were told
 * of deadlocks that were none (hundreds per run under contention, with every task taking its
 * locks in one order).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { run as asyncioRun, sleep as asyncioSleep, createTask } from '../../src/asyncio/index.js';
import { ownSlot, T_WAITING_FOR, worldWords } from '../../src/internal/shm/world.js';
import { Queue } from '../../src/queue/index.js';
import { Condition, DeadlockError, Event, Lock, RLock, Thread } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { waiters } from '../support/lock-waiters.js';
import { until } from '../support/until.js';
import { notifyThenBlock } from './fixtures/deadlock-async.js';
import {
  hiddenWait,
  holderAndWaiter,
  orderedSubsets,
  taskHoldThenAwait,
} from './fixtures/task-hops.js';

/** Far above a thread's start and end; reached only when something is missing. */
const PATIENCE = 15_000;

checkLeaks();

describe('a thread whose tasks hold one lock and await another is not one waiter', () => {
  // Worker 'A': task a1 holds l2 and waits for no lock; task a2 holds nothing and awaits l1.
  // Here: task b1 takes l1, then awaits l2. No cycle: a1 releases l2, b1 goes on and releases
  // l1, a2 gets it. b1 used to be told "MainThread waits for l2 held by 'A', which waits for l1
  // held by 'MainThread'" (A's recorded wait is a2's, but l2 is a1's).
  for (const order of ['b1 parks first', 'a2 parks first']) {
    test(`${order}: nobody is told, every acquire succeeds`, async () => {
      const l1 = new Lock();
      const l2 = new Lock();
      const [held, go2, gate] = [new Event(), new Event(), new Event()];
      const out = new Queue<string>();
      const a = new Thread({
        target: holderAndWaiter,
        args: [l1, l2, held, go2, gate, out],
        name: 'A',
      });
      const log: string[] = [];
      await asyncioRun(async () => {
        a.start();
        assert.equal(await held.wait({ timeout: PATIENCE }), true);
        const b1 = createTask(async () => {
          await l1.acquire();
          try {
            if (order === 'a2 parks first') {
              go2.set();
              await until(() => waiters(l1) > 0, 'task a2 to park on l1');
            }
            await l2.acquire();
            log.push('b1 got l2');
            l2.release();
          } catch (err) {
            log.push(`b1 ${(err as Error).name}: ${(err as Error).message}`);
          } finally {
            l1.release();
          }
        });
        await until(() => waiters(l2) > 0 || b1.done(), 'task b1 to park on l2');
        if (order === 'b1 parks first') {
          go2.set();
          await until(() => waiters(l1) > 0, 'task a2 to park on l1');
        }
        // Time for the walks and re-walks of both waits (a false report would come now).
        await asyncioSleep(0.3);
        gate.set();
        await b1;
      });
      log.push(await out.get({ timeout: PATIENCE }), await out.get({ timeout: PATIENCE }));
      await a.join();
      assert.deepEqual(log, ['b1 got l2', 'a1 releases l2', 'a2 got l1']);
      assert.equal(l1.locked(), false);
      assert.equal(l2.locked(), false);
    });
  }

  test('a real cycle through the task that holds the lock is still told (to the task closing it)', async () => {
    // Worker: task a1 holds l2, then awaits l1; task a2 holds l3 meanwhile. Here: task b1 holds
    // l1 and awaits l2. a1's walk: l1 is b1's, whose wait is recorded; l2 is a1's own.
    const [l1, l2, l3] = [new Lock(), new Lock(), new Lock()];
    const [held, go] = [new Event(), new Event()];
    const out = new Queue<string>();
    const w = new Thread({
      target: taskHoldThenAwait,
      args: [l2, l1, l3, held, go, out],
      name: 'worker',
    });
    await asyncioRun(async () => {
      w.start();
      assert.equal(await held.wait({ timeout: PATIENCE }), true);
      const b1 = createTask(async () => {
        await l1.acquire();
        try {
          await l2.acquire();
          l2.release();
          return 'b1 got l2';
        } finally {
          l1.release();
        }
      });
      await until(() => waiters(l2) > 0, 'task b1 to park on l2');
      go.set();
      const told = await out.get({ timeout: PATIENCE });
      assert.match(told, /^DeadlockError: /);
      assert.match(told, /'MainThread'/);
      assert.match(told, /'worker'/);
      assert.equal(await b1, 'b1 got l2');
    });
    await w.join();
    for (const l of [l1, l2, l3]) assert.equal(l.locked(), false);
  });
});

describe('a cycle through a task whose wait another task of its thread hides', () => {
  test("the waiter closing it finds the hidden wait in the thread's task-wait table: it is told", async () => {
    // Worker: task a1 holds l2 and awaits l1 (b1's); then task a2 awaits l3 (held here), and
    // the worker records a2's wait. b1 then awaits l2: a real cycle (b1 → l2 → a1 → l1 → b1).
    // b1's walk reaches the worker by a1's lock, finds a2's wait recorded, and a1's in the
    // worker's task-wait table: b1 is told, while l3 is still held (not only once a2's wait
    // ends and hands the record back to a1). (Before the table, b1's walk stopped there and
    // a1's re-walk told a1; deadlock-multitask.test.ts has cycles only the table finds.)
    const [l1, l2, l3] = [new Lock(), new Lock(), new Lock()];
    const [held, go1, go2] = [new Event(), new Event(), new Event()];
    const out = new Queue<string>();
    const t = new Thread({
      target: hiddenWait,
      args: [l1, l2, l3, held, go1, go2, out],
      name: 'worker',
    });
    const record = () => Atomics.load(worldWords(), ownSlot(t.ident as number) + T_WAITING_FOR);
    await asyncioRun(async () => {
      await l3.acquire();
      t.start();
      assert.equal(await held.wait({ timeout: PATIENCE }), true);
      let goB1!: () => void;
      const b1Go = new Promise<void>((r) => {
        goB1 = r;
      });
      const b1 = createTask(async () => {
        await l1.acquire();
        try {
          await b1Go;
          await l2.acquire();
          l2.release();
          return 'b1 got l2';
        } catch (err) {
          return `b1 ${(err as Error).name}: ${(err as Error).message}`;
        } finally {
          l1.release();
        }
      });
      await until(() => l1.locked(), 'task b1 to take l1');
      go1.set();
      await until(() => waiters(l1) > 0, 'task a1 to park on l1');
      go2.set();
      await until(() => record() === -(l3._core.cell + 1), "the worker to record a2's wait for l3");
      goB1();
      const told = await b1;
      assert.match(told, /^b1 DeadlockError: /);
      assert.match(told, /'worker'/);
      assert.match(told, /'MainThread'/);
      assert.equal(await out.get({ timeout: PATIENCE }), 'a1 got l1');
      assert.equal(l3.locked(), true);
      l3.release();
    });
    assert.equal(await out.get({ timeout: PATIENCE }), 'a2 got l3');
    await t.join();
    for (const l of [l1, l2, l3]) assert.equal(l.locked(), false);
  });
});

describe('stress: tasks of 2 workers take random subsets of 3 Locks in index order', () => {
  test('no DeadlockError (there is no cycle to tell), every lock free at the end', async () => {
    const locks = [new Lock(), new Lock(), new Lock()];
    const out = new Queue<string>();
    const threads = [1, 2].map(
      (k) =>
        new Thread({ target: orderedSubsets, args: [locks, 7 + k, 10, 10, out], name: `c${k}` }),
    );
    for (const t of threads) t.start();
    const results: { ok: number; errors: number; first: string | null }[] = [];
    for (const _ of threads) results.push(JSON.parse(await out.get({ timeout: 4 * PATIENCE })));
    for (const t of threads) await t.join();
    assert.deepEqual(
      results.map((r) => [r.ok, r.errors]),
      [
        [100, 0],
        [100, 0],
      ],
      `first error: ${results.find((r) => r.first !== null)?.first}`,
    );
    for (const l of locks) assert.equal(l.locked(), false, `${l.name} left held`);
  });
});

describe('Condition.run whose fn catches the DeadlockError of its wait', () => {
  for (const make of [() => new Condition(new Lock()), () => new Condition(new RLock())]) {
    const kind = make().lock.constructor.name;
    test(`${kind}: run releases nothing (the lock is the notifier's), resolves with fn's value`, async () => {
      // The re-acquire's DeadlockError leaves the lock not held, and the notifier takes it; fn
      // catches the error. run used to release all the same: the notifier's Lock (its own
      // release then threw "not held" in the notifier), or, for an RLock, it threw "held by
      // thread 'notifier'" over fn's value.
      const cond = make();
      const l2 = new Lock();
      const out = new Queue<string>();
      await l2.acquire();
      const b = new Thread({ target: notifyThenBlock, args: [cond, l2, out], name: 'notifier' });
      const result = await cond.run(async () => {
        b.start();
        try {
          await cond.wait();
          return 'woken';
        } catch (err) {
          if (err instanceof DeadlockError) return 'fallback';
          throw err;
        }
      });
      assert.equal(result, 'fallback');
      assert.equal(cond.lock.locked(), true, "the notifier's hold is left alone");
      assert.equal(cond.lock._core.isOwned(), false);
      l2.release();
      assert.equal(await out.get({ timeout: PATIENCE }), 'got');
      await b.join();
      assert.equal(cond.lock.locked(), false);
    });

    test(`${kind}: an fn that releases the lock itself is still told by run's release (as Python's with)`, async () => {
      // Python 3.11-3.13: `with cond: cond.release()` raises RuntimeError on the way out.
      const cond = make();
      await assert.rejects(
        cond.run(() => cond.release()),
        (err: Error) => err.name === 'RuntimeError' && /not held/.test(err.message),
      );
      assert.throws(
        () => cond.runSync(() => cond.release()),
        (err: Error) => err.name === 'RuntimeError' && /not held/.test(err.message),
      );
      assert.equal(cond.lock.locked(), false);
    });
  }
});
