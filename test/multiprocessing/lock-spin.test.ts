/**
 * multiprocessing Lock, RLock and Semaphore when the word is taken: a thread watches a lock held
 * by another thread (or a semaphore with no permit) for a moment before it asks the broker
 * (src/internal/process/lock-slab.ts, SPIN), never past WAITERS, so the parked are still served
 * in FIFO order; and a Semaphore's releases are checked against the count's room in the
 * releasing thread, waiters or not. With WEFT_LOCK_SLAB=0 every wait goes through the broker:
 * the same semantics must hold.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  fastSlab,
  SEM_COUNT,
  slabSession,
  WAITERS,
  wordIndex,
} from '../../src/internal/process/lock-slab.js';
import {
  Event,
  Lock,
  Process,
  Queue,
  RLock,
  Semaphore,
  Value,
} from '../../src/multiprocessing/index.js';
import { Thread } from '../../src/threading/index.js';
import { brokerMessages, roundTrip } from '../support/broker-messages.js';
import { checkLeaks } from '../support/leaks.js';
import { slabExpected } from '../support/slab.js';
import { slabWord } from '../support/slab-word.js';
import { churn, holdUntil, spinHammer, takeSync } from './fixtures/lock-spin-targets.js';

checkLeaks({ graceMs: 3000 });

const PATIENCE = 30_000;

/** Counts the lock and semaphore requests this thread sends to the broker while `fn` runs. */
function brokerCalls(fn: () => Promise<void>): Promise<number> {
  return brokerMessages((o) => o === 'acquire' || o.startsWith('sem'), fn, { posts: false });
}

describe('contended locks', () => {
  for (const L of [Lock, RLock]) {
    test(`${L.name}: two processes, a thread and this one hammering it with short holds keep the counter exact`, async () => {
      const lock = new L();
      const counter = Value('i', 0);
      const inside = Value('i', 0);
      const go = new Event();
      const out = new Queue<string>();
      const N = 300;
      const modes = L === RLock ? (['reenter', 'sync'] as const) : (['async', 'sync'] as const);
      const ps = modes.map(
        (how) =>
          new Process({ target: spinHammer, args: [lock, counter, inside, N, how, go, out] }),
      );
      const t = new Thread({
        target: spinHammer,
        args: [lock, counter, inside, N, 'sync', go, out],
      });
      for (const p of ps) p.start();
      t.start();
      go.set();
      let overlaps = 0;
      for (let i = 0; i < N; i++) {
        await lock.acquire();
        if (inside.value !== 0) overlaps++;
        inside.value = 1;
        const c = counter.value;
        await null;
        counter.value = c + 1;
        inside.value = 0;
        lock.release();
      }
      const reports: string[] = [];
      for (let i = 0; i <= modes.length; i++) reports.push(await out.get({ timeout: PATIENCE }));
      for (const p of ps) await p.join({ timeout: PATIENCE });
      await t.join();
      assert.deepEqual(
        ps.map((p) => p.exitcode),
        [0, 0],
      );
      assert.deepEqual(
        reports.sort(),
        [...modes, 'sync'].map((how) => `${how}: 0 overlaps, slab ${slabExpected}`).sort(),
      );
      assert.equal(overlaps, 0);
      assert.equal(counter.value, 4 * N);
      assert.equal(lock.locked(), false);
      if (slabExpected) assert.equal(slabWord(lock), 0, 'free, and no WAITERS left behind');
    });
  }

  test('a waiter parked at the broker gets the lock while another process takes it in a loop', async () => {
    const lock = new Lock();
    const stop = Value('i', 0);
    const started = new Event();
    const out = new Queue<string>();
    const p = new Process({ target: churn, args: [lock, stop, started, out] });
    p.start();
    try {
      assert.equal(await started.wait({ timeout: PATIENCE }), true);
      // Each turn parks behind the churning holder (or finds it free); the holder's release
      // with WAITERS set goes to the broker, which hands it over: never starved.
      for (let i = 0; i < 20; i++) {
        assert.equal(await lock.acquire({ timeout: PATIENCE }), true, `turn ${i}`);
        lock.release();
        assert.equal(lock.acquireSync({ timeout: PATIENCE }), true, `blocking turn ${i}`);
        lock.release();
      }
    } finally {
      stop.value = 1;
    }
    assert.equal(await out.get({ timeout: PATIENCE }), 'churned true');
    await p.join({ timeout: PATIENCE });
    assert.equal(p.exitcode, 0);
  });

  test('tries, timeouts and an abort while another process holds it: false or rejected, nothing left parked', async () => {
    for (const L of [Lock, RLock]) {
      const lock = new L();
      const holding = new Event();
      const go = new Event();
      const p = new Process({ target: holdUntil, args: [lock, holding, go, false] });
      p.start();
      try {
        assert.equal(await holding.wait({ timeout: PATIENCE }), true);
        const held = slabWord(lock);
        // A try never waits, so it does not watch the word either: false without the broker.
        const asked = await brokerCalls(async () => {
          assert.equal(await lock.acquire({ blocking: false }), false);
          assert.equal(lock.acquireSync({ blocking: false }), false);
          assert.equal(await lock.acquire({ timeout: 0 }), false);
        });
        assert.equal(asked, slabExpected ? 0 : 3);
        assert.equal(await lock.acquire({ timeout: 30 }), false);
        assert.equal(lock.acquireSync({ timeout: 30 }), false);
        const ac = new AbortController();
        const waiting = lock.acquire({ signal: ac.signal });
        await roundTrip();
        if (slabExpected) assert.equal(slabWord(lock), (held as number) | WAITERS, 'parked');
        ac.abort();
        await assert.rejects(waiting, { name: 'AbortError' });
        await roundTrip();
        if (slabExpected) assert.equal(slabWord(lock), held, 'WAITERS gone with the last waiter');
        assert.equal(lock.locked(), true);
        go.set();
        assert.equal(await lock.acquire({ timeout: PATIENCE }), true);
        lock.release();
      } finally {
        go.set();
        await p.join({ timeout: PATIENCE });
      }
      assert.equal(p.exitcode, 0);
    }
  });

  test('a holder killed while a thread of this process and this thread wait for the lock', async () => {
    const lock = new Lock();
    const holding = new Event();
    const go = new Event();
    const started = new Event();
    const out = new Queue<string>();
    const p = new Process({ target: holdUntil, args: [lock, holding, go, true] });
    p.start();
    assert.equal(await holding.wait({ timeout: PATIENCE }), true);
    const t = new Thread({ target: takeSync, args: [lock, started, out, PATIENCE] });
    t.start();
    assert.equal(await started.wait({ timeout: PATIENCE }), true);
    const mine = lock.acquire({ timeout: PATIENCE });
    go.set();
    await p.join({ timeout: PATIENCE });
    assert.equal(p.exitcode, -9);
    // Both get it in turn: the broker freed the dead holder's lock and handed it on.
    assert.equal(await mine, true);
    lock.release();
    assert.equal(await out.get({ timeout: PATIENCE }), 'thread got true');
    await t.join();
    assert.equal(lock.locked(), false);
  });

  test('two tasks of one thread: the second waits at the broker and gets it at the release', async () => {
    const lock = new Lock();
    const order: string[] = [];
    await lock.acquire();
    const second = lock.acquire({ timeout: PATIENCE }).then((got) => {
      order.push('second');
      return got;
    });
    await roundTrip();
    if (slabExpected)
      assert.equal(slabWord(lock), slabSession() | WAITERS, 'parked behind its own');
    order.push('release');
    lock.release();
    assert.equal(await second, true);
    assert.deepEqual(order, ['release', 'second']);
    lock.release();
    await roundTrip();
    if (slabExpected) assert.equal(slabWord(lock), 0);
  });
});

describe('semaphores', () => {
  test('a release past the room of its count throws while waiters are parked too (the broker dropped it)', async (t) => {
    const s = new Semaphore(0);
    await roundTrip();
    const waiting = s.acquire({ timeout: PATIENCE });
    await roundTrip();
    if (!slabExpected) {
      t.diagnostic('broker alone: its count has no room limit');
      s.release(SEM_COUNT);
      s.release(SEM_COUNT);
      assert.equal(await waiting, true);
      assert.equal(s.getValue(), 2 * SEM_COUNT - 1);
      return;
    }
    assert.equal(slabWord(s), WAITERS);
    s.release(SEM_COUNT);
    assert.throws(() => s.release(SEM_COUNT), {
      name: 'RangeError',
      message: new RegExp(`^Semaphore value would exceed ${SEM_COUNT}, the most`),
    });
    assert.equal(await waiting, true);
    assert.equal(s.getValue(), SEM_COUNT - 1, 'one permit went to the waiter');
    assert.throws(() => s.release(2), RangeError);
    s.release();
    assert.equal(s.getValue(), SEM_COUNT);
  });

  test('permits given back in the slab while waiters are parked go to them before a later acquire', async (t) => {
    const s = new Semaphore(0);
    await roundTrip();
    const order: number[] = [];
    const waits = [0, 1].map((k) =>
      s.acquire({ timeout: PATIENCE }).then((got) => {
        order.push(k);
        return got;
      }),
    );
    await roundTrip();
    if (slabExpected) {
      assert.equal(slabWord(s), WAITERS);
      // A permit another process gave back in the slab, its word to the broker not there yet.
      Atomics.add(fastSlab() as Int32Array, wordIndex(s._params.slot as number), 1);
    } else {
      t.diagnostic('broker alone: every release is made by the broker');
      s.release();
    }
    // The try reaches the broker first: the parked are served before it.
    assert.equal(s.acquireSync({ blocking: false }), false);
    s.release();
    assert.deepEqual(await Promise.all(waits), [true, true]);
    assert.deepEqual(order, [0, 1]);
    assert.equal(s.getValue(), 0);
    if (slabExpected) assert.equal(slabWord(s), 0, 'WAITERS cleared with the last waiter');
  });

  test('values read after releases of several semaphores through the broker count them all', async () => {
    const sems = Array.from({ length: 5 }, () => new Semaphore(0));
    await roundTrip();
    const waits = sems.map((s) => s.acquire({ timeout: PATIENCE }));
    await roundTrip();
    for (const s of sems) s.release(3);
    // Each value answers after the releases before it: two left once the waiter took one.
    assert.deepEqual(
      sems.map((s) => s.getValue()),
      [2, 2, 2, 2, 2],
    );
    assert.deepEqual(await Promise.all(waits), [true, true, true, true, true]);
    for (const s of sems) assert.equal(await s.acquire({ blocking: false }), true);
    assert.deepEqual(
      sems.map((s) => s.getValue()),
      [1, 1, 1, 1, 1],
    );
  });
});
