/**
 * A cycle of one thread waiting asynchronously and one waiting blocking, closed by the blocking
 * one: its walk stops being sure at the async waiter, so that waiter walks again and is told
 * (src/threading/lock-core.ts, "Re-walks"). Before, the async waiter had walked once, before the
 * blocking wait was recorded, and nobody was told: both waited for ever. Also: the thread as
 * one owner outside asyncio tasks, several waits of one thread, a re-walk's report checked again
 * before it is given, and Condition.wait's re-acquire told of a deadlock.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { run as asyncioRun, sleep as asyncioSleep, createTask } from '../../src/asyncio/index.js';
import { H_REWALK, ownSlot, T_WAITING_FOR, worldWords } from '../../src/internal/shm/world.js';
import { Queue } from '../../src/queue/index.js';
import { Condition, DeadlockError, Event, Lock, RLock } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { waiters } from '../support/lock-waiters.js';
import { type PieceThread, piece as pieceOf, pieceThreads } from '../support/piece-threads.js';
import { until } from '../support/until.js';
import {
  hammerLocks,
  holdThenAwait,
  holdThenBlock,
  holdTwoThenBlock,
  notifyThenBlock,
} from './fixtures/deadlock-async.js';

/** Far above a thread's start and end; reached only when something is missing. */
const PATIENCE = 15_000;

checkLeaks();

/**
 * The file's threads, started once and sent each test's work (a thread is slow to start); the
 * messages of the deadlocks name them.
 */
const pool = pieceThreads(['blocker', 'awaiter', 'notifier', 'hammer']);
before(() => pool.start());
after(() => pool.close());
const [blocker, awaiter, notifier, hammer] = pool.threads as [
  PieceThread,
  PieceThread,
  PieceThread,
  PieceThread,
];
/** `fn(...args)` run by `t`, with a Thread's start(), join() and ident. */
const piece = <A extends unknown[]>(t: PieceThread, fn: (...args: A) => unknown, args: A) =>
  pieceOf(t, fn, args, PATIENCE);

/**
 * `done` resolves once this thread's re-walks for the next request are done. Call it after this
 * thread's wait parked (its watcher of H_REWALK then waits already; a wake-up of the watcher
 * already on its way is let run first, so that it waits again before the probe): a notify wakes
 * the waiters of a word in the order they came, and each wake-up is settled as its own task, so
 * the watcher re-walks (and wakes a wait it found a cycle for) before `done` resolves, and that
 * wait's wake-up comes after.
 */
async function rewalkProbe(): Promise<{ done: Promise<void> }> {
  await new Promise((r) => setTimeout(r, 20));
  const w = worldWords();
  const r = Atomics.waitAsync(w, H_REWALK, Atomics.load(w, H_REWALK), PATIENCE);
  assert.equal(r.async, true, 'no re-walk request before the wait that makes one');
  const done = (r.value as Promise<string>).then((v) => {
    assert.equal(v, 'ok', 'the re-walk request');
  });
  return { done };
}

/** How `p` settles, or 'still waiting' after PATIENCE (a hang made into a failure). */
function settled(p: Promise<unknown>): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise((r) => {
    timer = setTimeout(() => r('still waiting'), PATIENCE);
  });
  return Promise.race([
    p.then(
      (v) => ({ value: v }),
      (e: unknown) => e,
    ),
    late,
  ]).finally(() => clearTimeout(timer));
}

for (const Kind of [Lock, RLock]) {
  describe(`${Kind.name}: an async waiter, then a blocking one closing the cycle`, () => {
    test('the async waiter is told, naming both threads and both locks; after its release the blocking one goes on', async () => {
      const l1 = new Kind();
      const l2 = new Kind();
      const held = new Event();
      const go = new Event();
      const out = new Queue<string>();
      const w = piece(blocker, holdThenBlock, [l1, l2, held, go, out]);
      await l2.acquire();
      w.start();
      assert.equal(await held.wait({ timeout: PATIENCE }), true);
      // Walks now: the worker holds l1 and waits for nothing, so no cycle yet; it parks.
      const y = l1.acquire();
      await until(() => waiters(l1) > 0, 'this thread to park on l1');
      // The worker's blocking wait for l2 closes the cycle.
      go.set();
      const outcome = await settled(y);
      assert.ok(
        outcome instanceof DeadlockError,
        `expected a DeadlockError, got ${String(outcome)}`,
      );
      const msg = (outcome as DeadlockError).message;
      assert.match(msg, /MainThread/);
      assert.match(msg, /blocker/);
      assert.match(msg, new RegExp(`${l1.name}\\b`));
      assert.match(msg, new RegExp(`${l2.name}\\b`));
      assert.equal((outcome as DeadlockError).cycle.length, 2);
      // The worker still waits; this release is its wake-up.
      assert.equal(l1.locked(), true);
      l2.release();
      assert.equal(await out.get({ timeout: PATIENCE }), 'got');
      await w.join();
      assert.equal(l1.locked(), false);
      assert.equal(l2.locked(), false);
    });

    test('roles in other threads: an async waiter in one worker is told, the blocking one in another gets the lock', async () => {
      // (The blocking waiter is not the main thread: its parked event loop could not run the test.)
      const l1 = new Kind();
      const l2 = new Kind();
      const heldB = new Event();
      const goB = new Event();
      const heldA = new Event();
      const outA = new Queue<string>();
      const outB = new Queue<string>();
      const b = piece(blocker, holdThenBlock, [l1, l2, heldB, goB, outB]);
      const a = piece(awaiter, holdThenAwait, [l2, l1, heldA, outA]);
      b.start();
      assert.equal(await heldB.wait({ timeout: PATIENCE }), true);
      a.start();
      assert.equal(await heldA.wait({ timeout: PATIENCE }), true);
      await until(() => waiters(l1) > 0, 'the awaiter to park on l1');
      goB.set();
      const told = await outA.get({ timeout: PATIENCE });
      assert.match(told, /^DeadlockError: /);
      assert.match(told, /awaiter/);
      assert.match(told, /blocker/);
      assert.match(told, new RegExp(`${l1.name}\\b`));
      assert.match(told, new RegExp(`${l2.name}\\b`));
      // The awaiter released l2 after its error: the blocking waiter got it.
      assert.equal(await outB.get({ timeout: PATIENCE }), 'got');
      await a.join();
      await b.join();
      assert.equal(l1.locked(), false);
      assert.equal(l2.locked(), false);
    });

    test('not a deadlock: another asyncio task holds l2 and releases it from a timer', async () => {
      const l1 = new Kind();
      const l2 = new Kind();
      const held = new Event();
      const go = new Event();
      const out = new Queue<string>();
      const w = piece(blocker, holdThenBlock, [l1, l2, held, go, out]);
      const order: string[] = [];
      await asyncioRun(async () => {
        let letGo!: () => void;
        const released = new Promise<void>((r) => {
          letGo = r;
        });
        const x = createTask(async () => {
          await l2.acquire();
          await released;
          // From a timer: this thread's event loop is free while task y waits.
          await new Promise((r) => setTimeout(r, 20));
          order.push('x releases l2');
          l2.release();
        });
        await until(() => l2.locked(), 'task x to take l2');
        w.start();
        assert.equal(await held.wait({ timeout: PATIENCE }), true);
        const y = createTask(async () => {
          await l1.acquire();
          order.push('y got l1');
          l1.release();
        });
        await until(() => waiters(l1) > 0, 'task y to park on l1');
        const rewalked = await rewalkProbe();
        go.set();
        // The worker's walk stops at this thread (l2's holder, task x, is not the waiting task
        // y) and asks for re-walks: y walks again. Once it has, a wake-up of y (had its re-walk
        // found the cycle) is the next task to run.
        await rewalked.done;
        await asyncioSleep(0.02);
        assert.equal(y.done(), false, 'task y is not told: task x may release l2');
        letGo();
        await x;
        await y;
      });
      assert.equal(await out.get({ timeout: PATIENCE }), 'got');
      await w.join();
      assert.deepEqual(order, ['x releases l2', 'y got l1']);
      assert.equal(l1.locked(), false);
      assert.equal(l2.locked(), false);
    });
  });
}

describe('the other order: the blocking waiter first, then the async one', () => {
  test('not a deadlock either: task y is not told while another task x holds l2 (it used to be)', async () => {
    const l1 = new Lock();
    const l2 = new Lock();
    const held = new Event();
    const go = new Event();
    const out = new Queue<string>();
    const w = piece(blocker, holdThenBlock, [l1, l2, held, go, out]);
    const order: string[] = [];
    let told: unknown = null;
    await asyncioRun(async () => {
      let letGo!: () => void;
      const released = new Promise<void>((r) => {
        letGo = r;
      });
      const x = createTask(async () => {
        await l2.acquire();
        await released;
        order.push('x releases l2');
        l2.release();
      });
      await until(() => l2.locked(), 'task x to take l2');
      w.start();
      assert.equal(await held.wait({ timeout: PATIENCE }), true);
      go.set();
      // The worker's blocking wait for l2 recorded (not just counted): y's walk will pass it.
      const slot = ownSlot(w.ident as number);
      await until(
        () => waiters(l2) > 0 && Atomics.load(worldWords(), slot + T_WAITING_FOR) !== 0,
        'the worker to park on l2',
      );
      const y = createTask(async () => {
        try {
          await l1.acquire();
        } catch (err) {
          told = err;
          letGo();
          return;
        }
        order.push('y got l1');
        l1.release();
      });
      await until(() => waiters(l1) > 0 || y.done(), 'task y to park on l1');
      await asyncioSleep(0.02);
      letGo();
      await x;
      await y;
    });
    assert.equal(told, null, `task y was told: ${String(told)}`);
    assert.equal(await out.get({ timeout: PATIENCE }), 'got');
    await w.join();
    assert.deepEqual(order, ['x releases l2', 'y got l1']);
    assert.equal(l1.locked(), false);
    assert.equal(l2.locked(), false);
  });

  test('a deadlock: the same task holds l2 and awaits l1 (told, as before)', async () => {
    const l1 = new Lock();
    const l2 = new Lock();
    const held = new Event();
    const go = new Event();
    const out = new Queue<string>();
    const w = piece(blocker, holdThenBlock, [l1, l2, held, go, out]);
    await asyncioRun(async () => {
      await l2.acquire();
      w.start();
      assert.equal(await held.wait({ timeout: PATIENCE }), true);
      go.set();
      const slot = ownSlot(w.ident as number);
      await until(
        () => waiters(l2) > 0 && Atomics.load(worldWords(), slot + T_WAITING_FOR) !== 0,
        'the worker to park on l2',
      );
      const outcome = await settled(l1.acquire());
      assert.ok(
        outcome instanceof DeadlockError,
        `expected a DeadlockError, got ${String(outcome)}`,
      );
      l2.release();
    });
    assert.equal(await out.get({ timeout: PATIENCE }), 'got');
    await w.join();
    assert.equal(l1.locked(), false);
    assert.equal(l2.locked(), false);
  });
});

describe('outside any asyncio task, the thread is the one owner of what it holds', () => {
  test('a direct async re-acquire of a Lock by other code of the holding thread waits for the release', async () => {
    const l = new Lock();
    await l.acquire();
    const again = settled(l.acquire());
    await until(() => waiters(l) > 0, 'the second acquire to park');
    setTimeout(() => l.release(), 20);
    assert.deepEqual(await again, { value: true });
    l.release();
    assert.equal(l.locked(), false);
  });

  for (const first of ['the async waiter', 'the blocking waiter']) {
    test(`a cycle through such a lock is reported to the async waiter (${first} waits first)`, async () => {
      // Code outside any task holds l2 (and could release it from a timer); other code outside
      // any task awaits l1, held by a worker that then waits for l2 blocking. As decided: told.
      const l1 = new Lock();
      const l2 = new Lock();
      const held = new Event();
      const go = new Event();
      const out = new Queue<string>();
      const w = piece(blocker, holdThenBlock, [l1, l2, held, go, out]);
      await l2.acquire();
      w.start();
      assert.equal(await held.wait({ timeout: PATIENCE }), true);
      let y: Promise<unknown>;
      if (first === 'the async waiter') {
        y = settled(l1.acquire());
        await until(() => waiters(l1) > 0, 'this thread to park on l1');
        go.set();
      } else {
        go.set();
        const slot = ownSlot(w.ident as number);
        await until(
          () => waiters(l2) > 0 && Atomics.load(worldWords(), slot + T_WAITING_FOR) !== 0,
          'the worker to park on l2',
        );
        y = settled(l1.acquire());
      }
      const outcome = await y;
      assert.ok(
        outcome instanceof DeadlockError,
        `expected a DeadlockError, got ${JSON.stringify(outcome)}`,
      );
      assert.match(outcome.message, new RegExp(`${l1.name}\\b.*${l2.name}\\b`));
      l2.release();
      assert.equal(await out.get({ timeout: PATIENCE }), 'got');
      await w.join();
      assert.equal(l1.locked(), false);
      assert.equal(l2.locked(), false);
    });
  }
});

describe('several waits of one thread', () => {
  test('a task still waiting stays visible when another task of its thread stops waiting', async () => {
    // y1 holds l2 and awaits l1 (the worker's); y2 awaits l3 (the worker's) and gets it; then
    // the worker waits for l2 blocking. y2's end used to clear the thread's record although y1
    // still waited: the worker's walk stopped at this thread and y1 waited for ever.
    const [l1, l2, l3] = [new Lock(), new Lock(), new Lock()];
    const [held, rel, blk] = [new Event(), new Event(), new Event()];
    const out = new Queue<string>();
    const b = piece(blocker, holdTwoThenBlock, [l1, l2, l3, held, rel, blk, out]);
    const order: string[] = [];
    await asyncioRun(async () => {
      b.start();
      assert.equal(await held.wait({ timeout: PATIENCE }), true);
      const y1 = createTask(async () => {
        await l2.acquire();
        try {
          return await settled(l1.acquire());
        } finally {
          order.push('y1 releases l2');
          l2.release();
        }
      });
      await until(() => waiters(l1) > 0, 'task y1 to park on l1');
      const y2 = createTask(async () => {
        await l3.acquire();
        order.push('y2 got l3');
        l3.release();
      });
      await until(() => waiters(l3) > 0, 'task y2 to park on l3');
      rel.set();
      await y2;
      blk.set();
      const outcome = await y1;
      assert.ok(
        outcome instanceof DeadlockError,
        `expected a DeadlockError for y1, got ${JSON.stringify(outcome)}`,
      );
      assert.match(outcome.message, /MainThread/);
      assert.match(outcome.message, /blocker/);
      assert.match(outcome.message, new RegExp(`${l1.name}\\b.*${l2.name}\\b`));
    });
    assert.equal(await out.get({ timeout: PATIENCE }), 'got');
    await b.join();
    assert.deepEqual(order, ['y2 got l3', 'y1 releases l2']);
    for (const l of [l1, l2, l3]) assert.equal(l.locked(), false);
  });
});

describe('a re-walk told a wait of a cycle', () => {
  test('the cycle broken before the wait parks again: it walks again, is not told, and gets its lock', async () => {
    const l1 = new Lock();
    const l2 = new Lock();
    const held = new Event();
    const go = new Event();
    const out = new Queue<string>();
    const w = piece(blocker, holdThenBlock, [l1, l2, held, go, out]);
    // Blocking code of this thread holds l2: a cycle through it is reported to an async waiter.
    l2.acquireSync();
    w.start();
    assert.equal(await held.wait({ timeout: PATIENCE }), true);
    const y = settled(l1.acquire());
    await until(() => waiters(l1) > 0, 'this thread to park on l1');
    const rewalked = await rewalkProbe();
    go.set();
    // The worker's request: this thread's re-walk finds the cycle and wakes y, whose wake-up
    // comes after this one. l2 is released first: when y finds l1 still held, the cycle is gone.
    await rewalked.done;
    l2.release();
    assert.deepEqual(await y, { value: true });
    l1.release();
    assert.equal(await out.get({ timeout: PATIENCE }), 'got');
    await w.join();
    assert.equal(l1.locked(), false);
    assert.equal(l2.locked(), false);
  });
});

describe('Condition.wait: a deadlock of the re-acquire leaves the lock not held', () => {
  for (const make of [() => new Condition(), () => new Condition(new Lock())]) {
    const kind = make().lock.constructor.name;
    test(`${kind}: wait() rejects with DeadlockError, the lock held by the other thread, not by this one`, async () => {
      const cond = make();
      const l2 = new Lock();
      const out = new Queue<string>();
      await l2.acquire();
      await cond.acquire();
      const b = piece(notifier, notifyThenBlock, [cond, l2, out]);
      b.start();
      // The notifier takes the lock once wait() gives it up, notifies, and then waits for l2
      // holding it: this wait's re-acquire closes the cycle, or its re-walk finds it.
      const outcome = await settled(cond.wait());
      assert.ok(
        outcome instanceof DeadlockError,
        `expected a DeadlockError, got ${JSON.stringify(outcome)}`,
      );
      assert.equal(cond.lock._core.isOwned(), false);
      assert.equal(cond.lock.locked(), true);
      l2.release();
      assert.equal(await out.get({ timeout: PATIENCE }), 'got');
      await b.join();
      assert.equal(cond.lock.locked(), false);
    });

    test(`${kind}: cond.run gives that DeadlockError back and releases nothing (the other thread's hold stays)`, async () => {
      const cond = make();
      const l2 = new Lock();
      const out = new Queue<string>();
      await l2.acquire();
      const b = piece(notifier, notifyThenBlock, [cond, l2, out]);
      const outcome = await settled(
        cond.run(async () => {
          b.start();
          await cond.wait();
        }),
      );
      assert.ok(
        outcome instanceof DeadlockError,
        `expected a DeadlockError, got ${String(outcome)}`,
      );
      assert.equal(cond.lock.locked(), true, "the notifier's hold is left alone");
      l2.release();
      assert.equal(await out.get({ timeout: PATIENCE }), 'got');
      await b.join();
      assert.equal(cond.lock.locked(), false);
    });
  }
});

describe('stress', () => {
  test('4 threads taking Locks and RLocks in random orders, blocking or async, untimed or timed: no hang, every lock free at the end', async () => {
    const locks = [new Lock(), new RLock(), new Lock(), new RLock()];
    const out = new Queue<string>();
    // The file's four threads.
    const threads = [blocker, awaiter, notifier, hammer].map((t, i) =>
      piece(t, hammerLocks, [locks, 1001 + i, 60, out]),
    );
    for (const t of threads) t.start();
    const results: string[] = [];
    for (const _ of threads) results.push(await out.get({ timeout: 4 * PATIENCE }));
    for (const t of threads) await t.join();
    for (const r of results) assert.match(r, /^done \d+\/\d+\/\d+$/, results.join(' | '));
    for (const l of locks) assert.equal(l.locked(), false, `${l.name} left held`);
  });
});
