/**
 * multiprocessing Semaphore and BoundedSemaphore counted in the lock slab
 * (src/internal/process/lock-slab.ts, broker-sem.ts): uncontended acquires and releases stay in
 * the calling thread; waiters are parked and served in FIFO order by the broker. The runner runs
 * this file again with WEFT_LOCK_SLAB=0, where the broker serves every call.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { brokerSync } from '../../src/internal/process/broker-sync.js';
import { readySlab, WAITERS } from '../../src/internal/process/lock-slab.js';
import {
  BoundedSemaphore,
  Process,
  Queue,
  Semaphore,
  Array as SharedArray,
} from '../../src/multiprocessing/index.js';
import { Thread } from '../../src/threading/index.js';
import { brokerMessages, roundTrip } from '../support/broker-messages.js';
import { checkLeaks } from '../support/leaks.js';
import { slabExpected } from '../support/slab.js';
import { slabWord } from '../support/slab-word.js';
import { enter, releaseMany, semHammer } from './fixtures/semaphore-slab-targets.js';

checkLeaks({ graceMs: 3000 });

const PATIENCE = 30_000;

/** Counts the semaphore messages this thread sends to the broker while `fn` runs. */
function semMessages(fn: () => Promise<void>): Promise<number> {
  return brokerMessages((o) => o.startsWith('sem'), fn);
}

describe('where a permit is taken', () => {
  test('uncontended acquires and releases send nothing to the broker when the slab is there', async () => {
    const s = new Semaphore(2);
    const b = new BoundedSemaphore(1);
    brokerSync(); // started before counting
    await roundTrip();
    assert.equal(readySlab() !== null, slabExpected);
    const sent = await semMessages(async () => {
      for (let i = 0; i < 10; i++) {
        assert.equal(await s.acquire(), true);
        assert.equal(s.acquireSync(), true);
        assert.equal(await s.acquire({ blocking: false }), false);
        assert.equal(s.acquireSync({ timeout: 0 }), false);
        assert.equal(s.getValue(), 0);
        s.release(2);
        assert.equal(s.getValue(), 2);
        assert.equal(b.acquireSync({ blocking: false }), true);
        b.release();
        assert.throws(() => b.release(), {
          name: 'RangeError',
          message: 'Semaphore released too many times',
        });
        assert.equal(b.getValue(), 1);
      }
    });
    // Without the slab each call above is a message (120 of them); with it, none.
    if (slabExpected) assert.equal(sent, 0);
    else assert.ok(sent >= 100, `${sent} messages`);
    if (slabExpected) assert.equal(slabWord(s), 2, 'the count is in the slab');
    // The broker sees the same count.
    assert.equal(brokerSync().request('semValue', s._id, []), 2);
    assert.equal(brokerSync().request('semValue', b._id, []), 1);
  });

  test('a count past the slab word stays in the broker; one in the slab stops at its room', () => {
    const big = new Semaphore(2 ** 30);
    assert.equal(big._params.slot, -1);
    big.release();
    assert.equal(big.getValue(), 2 ** 30 + 1);
    const s = new Semaphore(2 ** 30 - 2);
    s.release();
    if (slabExpected) {
      assert.throws(() => s.release(), {
        name: 'RangeError',
        message:
          /^Semaphore value would exceed 1073741823, the most a semaphore kept in shared memory counts/,
      });
      assert.equal(s.getValue(), 2 ** 30 - 1);
    } else {
      s.release();
      assert.equal(s.getValue(), 2 ** 30);
    }
  });
});

describe('waiters at the broker', () => {
  test('are served in FIFO order by releases from another process, and no acquire barges past them', async () => {
    const s = new Semaphore(0);
    await roundTrip();
    const order: number[] = [];
    const waits = [0, 1, 2].map((k) =>
      s.acquire({ timeout: PATIENCE }).then((got) => {
        order.push(k);
        return got;
      }),
    );
    await roundTrip();
    if (slabExpected) assert.equal(slabWord(s), WAITERS, 'parked: WAITERS set, no permit');
    assert.equal(s.acquireSync({ blocking: false }), false);
    const out = new Queue<string>();
    const p = new Process({ target: releaseMany, args: [s, 3, out] });
    p.start();
    assert.equal(await out.get({ timeout: PATIENCE }), 'released');
    assert.deepEqual(await Promise.all(waits), [true, true, true]);
    assert.deepEqual(order, [0, 1, 2]);
    await p.join({ timeout: PATIENCE });
    assert.equal(p.exitcode, 0);
    assert.equal(s.getValue(), 0, 'every permit went to a waiter');
    assert.equal(s.acquireSync({ blocking: false }), false);
    if (slabExpected) assert.equal(slabWord(s), 0, 'WAITERS cleared with the last waiter');
    s.release();
    assert.equal(s.getValue(), 1);
  });

  test('a waiter that timed out leaves no permit taken and no WAITERS behind', async () => {
    for (const S of [Semaphore, BoundedSemaphore]) {
      const s = new S(1);
      assert.equal(await s.acquire(), true);
      assert.equal(await s.acquire({ timeout: 20 }), false);
      assert.equal(s.acquireSync({ timeout: 20 }), false);
      if (slabExpected) assert.equal(slabWord(s), 0);
      s.release();
      assert.equal(s.getValue(), 1);
      if (S === BoundedSemaphore) assert.throws(() => s.release(), RangeError);
      else {
        s.release();
        assert.equal(s.getValue(), 2);
      }
    }
  });

  test('an acquire withdrawn as it is granted gives the permit back', async () => {
    for (const abortFirst of [false, true]) {
      const s = new Semaphore(0);
      await roundTrip();
      const ac = new AbortController();
      const got = s.acquire({ signal: ac.signal });
      await roundTrip();
      if (abortFirst) {
        ac.abort();
        s.release();
      } else {
        s.release();
        ac.abort();
      }
      await assert.rejects(got);
      // Its grant, if any, came back before this reply: the permit is on its way back.
      await roundTrip();
      assert.equal(s.getValue(), 1, `abort ${abortFirst ? 'before' : 'after'} the release`);
      assert.equal(await s.acquire({ blocking: false }), true);
      assert.equal(s.getValue(), 0);
      if (slabExpected) assert.equal(slabWord(s), 0);
    }
  });

  test('a BoundedSemaphore refuses an over-release while waiters are parked too', async () => {
    const b = new BoundedSemaphore(1);
    assert.equal(await b.acquire(), true);
    const w = b.acquire({ timeout: PATIENCE });
    await roundTrip();
    if (slabExpected) assert.equal(slabWord(b), WAITERS);
    assert.throws(() => b.release(2), {
      name: 'RangeError',
      message: 'Semaphore released too many times',
    });
    b.release();
    assert.equal(await w, true);
    b.release();
    assert.throws(() => b.release(), RangeError);
    assert.equal(b.getValue(), 1);
  });
});

describe('processes hammering one semaphore', () => {
  for (const S of [Semaphore, BoundedSemaphore]) {
    test(`${S.name}(2), three processes, a thread and this one: never more than 2 inside, every permit back`, async () => {
      const k = 2;
      const s = new S(k);
      const seen = SharedArray('i', [0, 0, 0]);
      const out = new Queue<string>();
      const N = 80;
      const modes = ['async', 'sync', 'try'] as const;
      const ps = modes.map(
        (how) => new Process({ target: semHammer, args: [s, seen, N, how, out] }),
      );
      // And a thread of this process, blocking itself in acquireSync.
      const t = new Thread({ target: semHammer, args: [s, seen, N, 'sync', out] });
      for (const p of ps) p.start();
      t.start();
      for (let i = 0; i < N; i++) {
        await s.acquire();
        await enter(seen, false);
        s.release();
      }
      const reports: string[] = [];
      for (let i = 0; i <= modes.length; i++) reports.push(await out.get({ timeout: PATIENCE }));
      for (const p of ps) await p.join({ timeout: PATIENCE });
      await t.join();
      assert.deepEqual(
        ps.map((p) => p.exitcode),
        [0, 0, 0],
      );
      assert.deepEqual(
        reports.sort(),
        [...modes, 'sync'].map((how) => `${how}: ${N} acquired, slab ${slabExpected}`).sort(),
      );
      const [inside, most, entries] = seen.toArraySync();
      assert.equal(inside, 0);
      assert.ok((most as number) <= k, `${most} inside at once`);
      assert.equal(entries, 5 * N);
      assert.equal(s.getValue(), k);
      if (slabExpected) assert.equal(slabWord(s), k);
    });
  }
});

describe('a model', () => {
  test("acquires, releases and waiters of one thread answer as Python's semaphore does (fast-check)", async () => {
    type Op =
      | { t: 'try'; sync: boolean }
      | { t: 'release'; n: number }
      | { t: 'wait' }
      | { t: 'value' };
    const op = fc.oneof(
      fc.record({ t: fc.constant('try' as const), sync: fc.boolean() }),
      fc.record({ t: fc.constant('release' as const), n: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ t: fc.constant('wait' as const) }),
      fc.record({ t: fc.constant('value' as const) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.integer({ min: 0, max: 3 }),
        fc.array(op, { maxLength: 25 }),
        async (bounded, start, ops: Op[]) => {
          const s = bounded ? new BoundedSemaphore(start) : new Semaphore(start);
          let count = start;
          let parked = 0;
          const order: number[] = [];
          const waits: Promise<boolean>[] = [];
          /** The waits that parked at the broker, in order. */
          const queued: number[] = [];
          for (const o of ops) {
            if (o.t === 'try') {
              const got = o.sync
                ? s.acquireSync({ blocking: false })
                : await s.acquire({ blocking: false });
              assert.equal(got, count > 0, 'a non-blocking acquire');
              if (got) count--;
            } else if (o.t === 'release') {
              if (bounded && count + o.n > start) {
                assert.throws(() => s.release(o.n), RangeError);
                continue;
              }
              s.release(o.n);
              const served = Math.min(parked, o.n);
              parked -= served;
              count += o.n - served;
            } else if (o.t === 'wait') {
              // Nothing could ever serve it: a BoundedSemaphore(0) takes no release.
              if (bounded && start === 0) continue;
              const k = waits.length;
              waits.push(
                s.acquire({ timeout: PATIENCE }).then((got) => {
                  order.push(k);
                  return got;
                }),
              );
              if (count > 0 && parked === 0) count--;
              else {
                parked++;
                queued.push(k);
              }
              await roundTrip();
            } else {
              assert.equal(s.getValue(), count, 'getValue');
            }
          }
          // The waiters left are served by releases, bound or not (their permits come back).
          let left = parked;
          while (left > 0) {
            s.release();
            left--;
          }
          const all = await Promise.all(waits);
          assert.ok(all.every((g) => g));
          // The parked are served in FIFO order; a wait that took a free permit in the slab
          // may see it before an earlier one's grant reaches this thread.
          assert.deepEqual(
            order.filter((k) => queued.includes(k)),
            queued,
            'served in FIFO order',
          );
          assert.equal(s.getValue(), count);
          if (slabExpected) assert.equal(slabWord(s), count, 'no WAITERS left behind');
        },
      ),
      { numRuns: 40 },
    );
  });
});
