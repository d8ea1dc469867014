import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Queue } from '../../src/queue/index.js';
import {
  Barrier,
  BoundedSemaphore,
  BrokenBarrierError,
  Condition,
  Event,
  Lock,
  RuntimeError,
  Semaphore,
  Array as SharedArrayOf,
  Thread,
  Value,
} from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { piece, pieceThreads } from '../support/piece-threads.js';
import { until } from '../support/until.js';
import {
  acquirePermitAndThrow,
  barrierParty,
  semaphoreHammer,
  waitCondition,
  waitEvent,
} from './fixtures/tasks.js';

checkLeaks();

/**
 * Four threads started once for the file and sent the work of the tests that need other threads
 * (a thread is slow to start); a test about a thread's end starts a thread of its own.
 */
const pool = pieceThreads(['T1', 'T2', 'T3', 'T4']);
before(() => pool.start());
after(() => pool.close());
const threads = pool.threads;

describe('Semaphore', () => {
  test('bad values are typed errors with what was received', () => {
    assert.throws(() => new Semaphore(-1), {
      name: 'RangeError',
      message: 'Semaphore value must be >= 0: received -1',
    });
    assert.throws(() => new Semaphore(1.5), TypeError);
    assert.throws(() => new Semaphore('2' as never), TypeError);
    assert.throws(() => new Semaphore(1).release(0), RangeError);
    assert.throws(() => new Semaphore(1).release(1.5), RangeError);
    assert.throws(() => new Semaphore(1).release('1' as never), {
      name: 'TypeError',
      message: 'Semaphore.release(n) needs a number n: received "1"',
    });
  });

  test('counts permits; non-blocking and timed acquires fail when none are left', async () => {
    const s = new Semaphore(2);
    assert.equal(await s.acquire(), true);
    assert.equal(s.acquireSync(), true);
    assert.equal(await s.acquire({ blocking: false }), false);
    assert.equal(await s.acquire({ timeout: 20 }), false);
    s.release(2);
    assert.equal(s.value, 2);
  });

  test('release(n) wakes n waiters', async () => {
    const s = new Semaphore(0);
    const order: number[] = [];
    const ps = [1, 2, 3].map((i) => s.acquire().then(() => order.push(i)));
    await new Promise((r) => setTimeout(r, 20));
    s.release(2);
    for (let i = 0; i < 500 && order.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 30));
    // Two permits, two waiters through; the third still waits.
    assert.equal(order.length, 2);
    assert.equal(s.value, 0);
    s.release();
    await Promise.all(ps);
    assert.equal(order.length, 3);
  });

  test('an aborted acquire takes no permit', async () => {
    const s = new Semaphore(0);
    const ac = new AbortController();
    const p = s.acquire({ signal: ac.signal });
    ac.abort(new Error('cancelled'));
    await assert.rejects(p, /cancelled/);
    s.release();
    assert.equal(s.value, 1);
  });

  test('Semaphore(3) hammered by 4 threads never lets more than 3 in', async () => {
    const s = new Semaphore(3);
    const inside = Value('i', 0);
    const maxSeen = Value('i', 0);
    const lock = new Lock();
    const ts = [0, 1, 2, 3].map((i) =>
      piece(threads[i]!, semaphoreHammer, [s, inside, maxSeen, lock, 3000]),
    );
    for (const t of ts) t.start();
    for (const t of ts) await t.join();
    assert.ok(maxSeen.value <= 3 && maxSeen.value >= 1, `max inside: ${maxSeen.value}`);
    assert.equal(s.value, 3);
  });

  test('a thread ending with a permit leaves it taken and raises no OwnerDiedError', async () => {
    // Deliberate change (bug bash): a semaphore has no owner, as in Python and weft/multiprocessing.
    const s = new Semaphore(1);
    const seen: string[] = [];
    const { setExcepthook } = await import('../../src/threading/index.js');
    const prev = setExcepthook((a) => seen.push((a.excValue as Error).message));
    try {
      const t = new Thread({ target: acquirePermitAndThrow, args: [s] });
      t.start();
      await t.join();
    } finally {
      setExcepthook(prev);
    }
    assert.deepEqual(seen, ['dies holding a permit']);
    assert.equal(s.value, 0);
    assert.equal(await s.acquire({ blocking: false }), false);
    // Whoever knows the permit is spent may give it back, from any thread.
    s.release();
    assert.equal(await s.acquire({ blocking: false }), true);
  });
});

describe('BoundedSemaphore', () => {
  test('release above the initial value is a RangeError', () => {
    const b = new BoundedSemaphore(1);
    assert.throws(() => b.release(), /released too many times/);
    b.acquireSync();
    b.release();
    assert.equal(b.value, 1);
  });

  test('stays bounded after crossing to a thread (revived as BoundedSemaphore)', async () => {
    const q = new Queue<unknown>();
    const b = new BoundedSemaphore(2);
    await q.put(b);
    const back = (await q.get()) as BoundedSemaphore;
    assert.ok(back instanceof BoundedSemaphore);
    assert.throws(() => back.release(), RangeError);
  });
});

describe('Event', () => {
  test('wait resolves true once set, false on timeout; clear lowers the flag', async () => {
    const e = new Event();
    assert.equal(await e.wait({ timeout: 10 }), false);
    assert.equal(e.waitSync({ timeout: 10 }), false);
    e.set();
    assert.equal(e.isSet(), true);
    assert.equal(await e.wait(), true);
    e.clear();
    assert.equal(e.isSet(), false);
  });

  test('set wakes every waiting thread', async () => {
    const e = new Event();
    const out = new Queue<string>();
    const ts = ['a', 'b', 'c'].map((n, i) => piece(threads[i]!, waitEvent, [e, out, n]));
    for (const t of ts) t.start();
    await new Promise((r) => setTimeout(r, 100));
    e.set();
    const got = [await out.get(), await out.get(), await out.get()].sort();
    assert.deepEqual(got, ['a:true', 'b:true', 'c:true']);
    for (const t of ts) await t.join();
  });

  test('a pulse (set then clear at once) wakes a waiter with true, as in Python', async () => {
    const e = new Event();
    const waiting = e.wait({ timeout: 5_000 });
    e.set();
    e.clear();
    assert.equal(await waiting, true);
    assert.equal(e.isSet(), false);
    // A wait that starts after the pulse waits for the next set.
    assert.equal(await e.wait({ timeout: 10 }), false);
    assert.equal(e.waitSync({ timeout: 10 }), false);
  });

  test('a pulse wakes every thread parked on the event', async () => {
    const e = new Event();
    const out = new Queue<string>();
    const ts = ['a', 'b', 'c'].map((n, i) => piece(threads[i]!, waitEvent, [e, out, n]));
    for (const t of ts) t.start();
    // All three counted as waiters (parked or about to park) before the pulse.
    await until(() => Atomics.load(e._a, 1) >= 3, 'the three threads to wait');
    e.set();
    e.clear();
    const got = [await out.get(), await out.get(), await out.get()].sort();
    assert.deepEqual(got, ['a:true', 'b:true', 'c:true']);
    for (const t of ts) await t.join();
  });

  test('set and clear are idempotent; many pulses keep the flag consistent', () => {
    const e = new Event();
    e.clear();
    assert.equal(e.isSet(), false);
    e.set();
    e.set();
    assert.equal(e.isSet(), true);
    for (let i = 0; i < 1000; i++) {
      e.clear();
      e.clear();
      assert.equal(e.isSet(), false);
      e.set();
      assert.equal(e.isSet(), true);
    }
  });

  test('an aborted wait rejects and leaves no waiter', async () => {
    const e = new Event();
    await assert.rejects(e.wait({ signal: AbortSignal.timeout(20) }), { name: 'TimeoutError' });
    assert.equal(Atomics.load(e._a, 1), 0);
    e.set();
    await assert.rejects(e.wait({ signal: AbortSignal.abort(new Error('late')) }), /late/);
  });
});

describe('Condition', () => {
  test('wait or notify without the lock is a RuntimeError', async () => {
    const c = new Condition();
    await assert.rejects(c.wait(), RuntimeError);
    assert.throws(() => c.notify(), RuntimeError);
    assert.throws(() => new Condition({} as never), TypeError);
  });

  test('wait times out false and holds the lock again', async () => {
    const c = new Condition(new Lock());
    await c.acquire();
    assert.equal(await c.wait({ timeout: 20 }), false);
    assert.equal(c.lock.locked(), true);
    c.release();
  });

  test('notify(1) wakes one thread, notifyAll the rest', async () => {
    const c = new Condition();
    const out = new Queue<string>();
    const ready = new Semaphore(0);
    const ts = [0, 1, 2].map((i) => piece(threads[i]!, waitCondition, [c, out, ready]));
    for (const t of ts) t.start();
    for (let i = 0; i < 3; i++) await ready.acquire();
    await c.run(() => c.notify(1));
    assert.equal(await out.get({ timeout: 10000 }), 'woken:true');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(out.qsize(), 0);
    await c.run(() => c.notifyAll());
    assert.deepEqual([await out.get(), await out.get()], ['woken:true', 'woken:true']);
    for (const t of ts) await t.join();
  });

  test('waitFor returns the predicate value once true', async () => {
    const c = new Condition();
    const flag = Value('i', 0);
    await c.acquire();
    setTimeout(() => {
      void c.run(() => {
        flag.value = 1;
        c.notifyAll();
      });
    }, 20);
    assert.equal(await c.waitFor(() => flag.value === 1, { timeout: 5000 }), true);
    c.release();
  });
});

describe('Barrier', () => {
  test('bad parties are typed errors', () => {
    assert.throws(() => new Barrier(0), RangeError);
    assert.throws(() => new Barrier('3' as never), TypeError);
  });

  test('3 threads get distinct indices and the action runs once', async () => {
    const b = new Barrier(3);
    const out = new Queue<number>();
    const ts = [0, 1, 2].map((i) => piece(threads[i]!, barrierParty, [b, out]));
    for (const t of ts) t.start();
    const got = [await out.get(), await out.get(), await out.get()].sort();
    assert.deepEqual(got, [0, 1, 2]);
    for (const t of ts) await t.join();
    let ran = 0;
    const local = new Barrier(2, { action: () => ran++ });
    await Promise.all([local.wait(), local.wait()]);
    assert.equal(ran, 1);
  });

  test('a timed-out wait breaks the barrier for everyone until reset', async () => {
    const b = new Barrier(3);
    const other = b.wait();
    await assert.rejects(b.wait({ timeout: 20 }), BrokenBarrierError);
    await assert.rejects(other, BrokenBarrierError);
    assert.equal(b.broken, true);
    await assert.rejects(b.wait(), BrokenBarrierError);
    b.reset();
    assert.equal(b.broken, false);
    const b2 = new Barrier(1);
    assert.equal(await b2.wait(), 0);
    const gone = AbortSignal.abort(new Error('never mind'));
    assert.throws(() => b2.waitSync({ signal: gone }), /never mind/);
    await assert.rejects(b2.wait({ signal: gone }), /never mind/);
    assert.equal(b2.waitSync(), 0);
  });

  test("wait timeout null is the default timeout (Python's None); Infinity waits for ever", async () => {
    const b = new Barrier(2, { timeout: 30 });
    await assert.rejects(b.wait({ timeout: null }), BrokenBarrierError);
    assert.throws(() => b.waitSync({ timeout: null }), BrokenBarrierError);
    b.reset();
    const forever = b.wait({ timeout: Number.POSITIVE_INFINITY });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(b.broken, false);
    assert.deepEqual(await Promise.all([forever, b.wait()]), [0, 1]);
  });
});

describe('Value and Array', () => {
  test('type codes are checked and values round-trip', () => {
    assert.throws(() => Value('x' as never, 1), TypeError);
    assert.throws(() => Value('i', 'a' as never), TypeError);
    const v = Value('d', 1.5);
    v.value += 1;
    assert.equal(v.value, 2.5);
    const big = Value<bigint>('q', 2n ** 40n);
    assert.equal(big.value, 2n ** 40n);
    assert.throws(() => Value('i', 0, { lock: false }).getLock(), TypeError);
  });

  test('Array from a size or items; indexes are checked', () => {
    const a = SharedArrayOf('i', [1, 2, 3]);
    assert.deepEqual(a.toArray(), [1, 2, 3]);
    a.set(-1, 9);
    assert.equal(a.get(2), 9);
    assert.throws(() => a.get(3), RangeError);
    assert.throws(() => SharedArrayOf('i', -1), RangeError);
    assert.equal(SharedArrayOf('B', 5).length, 5);
    assert.ok(a.getLock());
  });
});
