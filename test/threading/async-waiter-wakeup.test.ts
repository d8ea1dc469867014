/**
 * A wake-up for one waiter (`notify(word, 1)` in Lock/RLock release, `notify(word, n)` in
 * Semaphore.release(n)) goes to the first waiter in V8's list for the word, async ones
 * included. An async waiter's wake-up runs on its own thread's event loop; if that thread is
 * blocked in a sync wait (here `Event.waitSync`, in real code a `joinSync`, `getSync`, …), the
 * wake-up is spent on it and a thread parked in `acquireSync` sleeps on with the lock free. When
 * the blocked thread waits for that very thread, nothing ever moves again (Python's lock would
 * simply be taken by the sync waiter).
 *
 * Here: the main thread holds the primitive; thread X starts an async acquire, then blocks on
 * `gate`; thread Y parks in acquireSync after X (so X's registration is first in V8's list);
 * the main thread releases. Y must get in, give it back, and open the gate; then X's acquire
 * succeeds too. With the wake-up spent on X, Y sleeps on: no report from Y within TIMEOUT (Y
 * itself waits four times that), and the main thread's get throws Empty.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { C_ASYNC_WAITERS, C_WAITERS } from '../../src/internal/shm/world.js';
import { Queue } from '../../src/queue/index.js';
import { Event, Lock, RLock, Semaphore, Thread } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { until } from '../support/until.js';
import {
  acquireSyncThenOpen,
  asyncWaiterThenBlock,
  leaveAsyncWaitsPending,
} from './fixtures/tasks.js';

checkLeaks();

/** How long the main thread gives Y to report: generous for a loaded machine. */
const TIMEOUT = 8_000;

interface Subject {
  prim: Lock | RLock | Semaphore;
  waiters(): number;
}

const makers: (readonly [string, () => Subject])[] = [
  ...[Lock, RLock].map(
    (Kind) =>
      [
        Kind.name,
        () => {
          const l = new Kind();
          return { prim: l, waiters: () => Atomics.load(l._core.a, l._core.st + C_WAITERS) };
        },
      ] as const,
  ),
  [
    'Semaphore',
    () => {
      const s = new Semaphore(1);
      return { prim: s, waiters: () => Atomics.load(s._a, 1) };
    },
  ] as const,
];

for (const [name, make] of makers) {
  describe(`${name}: a release while an async waiter's thread is blocked`, () => {
    test('still wakes the thread parked in acquireSync', async () => {
      const { prim, waiters } = make();
      assert.equal(prim.acquireSync(), true);
      const gate = new Event();
      const out = new Queue<string>();
      // X and Y wait far longer than the main thread gives Y: a timed-out acquire tries once
      // more and would get in, hiding the lost wake-up.
      const x = new Thread({ target: asyncWaiterThenBlock, args: [prim, gate, out, 4 * TIMEOUT] });
      x.start();
      assert.equal(await out.get({ timeout: 30_000 }), 'parked');
      const y = new Thread({ target: acquireSyncThenOpen, args: [prim, gate, out, 4 * TIMEOUT] });
      y.start();
      try {
        await until(() => waiters() >= 2, 'X and Y to count themselves as waiters');
        // Y counted itself; give it time to reach its park (if it has not, it just gets in).
        await sleep(200);
        prim.release();
        // Y needs a moment; TIMEOUT is for a loaded machine. A lost wake-up: Empty.
        assert.equal(await out.get({ timeout: TIMEOUT }), 'sync:true');
        assert.equal(await out.get({ timeout: 30_000 }), 'async:true');
      } finally {
        gate.set(); // unblocks X after a failure, so that both threads end
        await x.join();
        await y.join();
      }
      assert.equal(waiters(), 0);
    });
  });
}

describe('an async wait still parked when its thread ends', () => {
  test('gives back its waiter counts (no spare wake-up per release from then on)', async () => {
    const lock = new Lock();
    assert.equal(lock.acquireSync(), true);
    const sem = new Semaphore(0);
    const ev = new Event();
    const q = new Queue<number>();
    const end = new Event();
    const out = new Queue<string>();
    const counts = (): number[] => [
      Atomics.load(lock._core.a, lock._core.st + C_WAITERS),
      Atomics.load(lock._core.a, lock._core.st + C_ASYNC_WAITERS),
      Atomics.load(sem._a, 1), // WAITERS
      Atomics.load(sem._a, 4), // ASYNC_WAITERS
      Atomics.load(ev._a, 1), // WAITERS
      Atomics.load(q._core.a, 32), // GET_WAITERS
      Atomics.load(q._core.a, 36), // ASYNC_GETTERS
    ];
    const t = new Thread({
      target: leaveAsyncWaitsPending,
      args: [lock, sem, ev, q, end, out],
    });
    t.start();
    try {
      assert.equal(await out.get({ timeout: 30_000 }), 'pending');
      assert.deepEqual(counts(), [1, 1, 1, 1, 1, 1, 1]);
    } finally {
      end.set();
      await t.join();
    }
    assert.deepEqual(counts(), [0, 0, 0, 0, 0, 0, 0]);
    lock.release();
  });
});
