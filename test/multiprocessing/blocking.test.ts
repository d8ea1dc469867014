/**
 * multiprocessing's synchronous calls (qsize, empty, full, isSet, locked, getNowait, putNowait,
 * Value.value) and blocking twins (acquireSync, getSync, putSync, waitSync, joinSync): in the
 * root, in a child, in a grandchild, with timeouts, and when the holder of a lock dies.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Barrier,
  BoundedSemaphore,
  BrokenBarrierError,
  Condition,
  Empty,
  Event,
  Full,
  JoinableQueue,
  Lock,
  Process,
  Queue,
  RLock,
  RuntimeError,
  Semaphore,
  Array as SharedArrayOf,
  Value,
} from '../../src/multiprocessing/index.js';
import { Thread } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { slabExpected } from '../support/slab.js';
import {
  acquireSyncAndReport,
  BIG_ITEMS,
  barrierAndConditionSync,
  holdThenDie,
  holdThenRelease,
  putBigSetThenSpin,
  putBigThenPoll,
  type SyncReport,
  syncCalls,
  syncCallsInGrandchild,
  takeBig,
  threadSyncCalls,
} from './fixtures/blocking-targets.js';

checkLeaks({ graceMs: 3000 });

const LONG = 120_000;
/** What the puts-behind-a-full-socket tests wait for an item: far more than it takes, loaded. */
const STUCK_PATIENCE = 30_000;

const expectedReport: SyncReport = {
  taken: 'from-root',
  emptyAfter: 'Empty',
  fullAt3: 'Full',
  size: 2,
  full: true,
  acquired: true,
  lockedWhileHeld: true,
  evBefore: false,
  evAfter: true,
  waited: true,
};

/** Runs `target` (syncCalls, directly or through a grandchild) and checks what it did. */
async function checkSyncCallsIn(target: typeof syncCalls | typeof syncCallsInGrandchild) {
  const q = new Queue<string>(2);
  const lock = new Lock();
  const ev = new Event();
  const v = Value('i', 0);
  const out = new Queue<SyncReport>();
  q.putNowait('from-root');
  const p = new Process({ target, args: [q, lock, ev, v, out] });
  p.start();
  assert.deepEqual(await out.get({ timeout: LONG }), expectedReport);
  await p.join();
  assert.equal(p.exitcode, 0);
  // What the other process did, seen synchronously from here.
  assert.equal(q.qsize(), 2);
  assert.equal(q.full(), true);
  assert.equal(q.getNowait(), 'c1');
  assert.equal(q.getNowait(), 'c2');
  assert.equal(q.empty(), true);
  assert.throws(() => q.getNowait(), Empty);
  assert.equal(v.value, 1);
  assert.equal(ev.isSet(), true);
  assert.equal(lock.locked(), false);
}

describe('multiprocessing blocking calls', () => {
  test('synchronous queries see this thread’s own earlier calls at once', () => {
    const q = new Queue<number>(3);
    q.putNowait(1);
    assert.equal(q.qsize(), 1);
    const u = new Queue<number>();
    u.putNowait(1);
    u.putNowait(2);
    assert.equal(u.qsize(), 2);
    assert.equal(u.full(), false);
    assert.equal(u.getNowait(), 1);
    const ev = new Event();
    ev.set();
    assert.equal(ev.isSet(), true);
    ev.clear();
    assert.equal(ev.isSet(), false);
    const v = Value('b', 0);
    v.value = 130;
    assert.equal(v.value, -126);
    const a = SharedArrayOf('i', 3);
    a.setSync(2, 7);
    assert.equal(a.getSync(2), 7);
    assert.deepEqual(a.toArraySync(), [0, 0, 7]);
    assert.throws(() => a.getSync(3), RangeError);
    const s = new Semaphore(2);
    assert.equal(s.acquireSync(), true);
    assert.equal(s.getValue(), 1);
    s.release();
    assert.equal(s.getValue(), 2);
    const b = new BoundedSemaphore(1);
    assert.throws(() => b.release(), RangeError);
    assert.equal(b.getValue(), 1);
    for (const sem of [s, b]) {
      assert.throws(() => sem.release(0), RangeError);
      assert.throws(() => sem.release('1' as never), TypeError);
    }
    assert.equal(s.getValue(), 2, 'a refused release changes nothing');
  });

  test('a blocking call right after a burst the socket cannot take at once finds its objects', async () => {
    const big = new Queue<Uint8Array>();
    await big.joinThread(); // connected: what follows is written to the socket at once
    // 4 MiB: twenty times what the socket takes at once; without the blocking call's ship of the
    // stuck frames, this test hung with 4 as with 16.
    const n = 4;
    for (let i = 0; i < n; i++) big.putNowait(new Uint8Array(1 << 20));
    // Created behind 4 MiB still in this thread's socket buffer when the next line parks.
    const q = new Queue<number>(2);
    q.putNowait(1);
    assert.equal(q.qsize(), 1);
    await big.joinThread();
    assert.equal(big.qsize(), n);
    for (let i = 0; i < n; i++) assert.equal(big.getNowait().length, 1 << 20);
  });

  test('a child looping on blocking calls after puts its socket could not take delivers them, once', async () => {
    // The child's event loop does not run while it loops, and only it would write the rest of
    // the puts: its blocking calls carry them (before, they carried only object creations, and
    // this get waited for ever). The socket delivers them again once the loop ends: the broker
    // runs them once (the queue is empty after the child's `end`, which comes behind them).
    const big = new Queue<Uint8Array>();
    const stop = new Event();
    const done = new Queue<string>();
    const p = new Process({ target: putBigThenPoll, args: [big, stop, done] });
    p.start();
    try {
      for (let i = 0; i < BIG_ITEMS; i++) {
        const item = await big.get({ timeout: STUCK_PATIENCE });
        assert.equal(item.length, 1 << 20);
        assert.equal(item[0], i);
      }
    } finally {
      stop.set();
    }
    assert.equal(await done.get({ timeout: STUCK_PATIENCE }), 'end');
    await p.join();
    assert.equal(p.exitcode, 0);
    assert.equal(big.qsize(), 0, 'no put ran twice');
  });

  test('a thread parking in joinSync after puts its socket could not take delivers them first', async () => {
    // Parked, this thread's event loop would not write the rest of the puts, and the thread it
    // joins waits for them: the park ships them with a blocking call (before, it wrote only what
    // was queued, and the two waited for each other until the taker gave up).
    const big = new Queue<Uint8Array>();
    const got = Value('i', 0);
    const taker = new Thread({ target: takeBig, args: [big, got, STUCK_PATIENCE] });
    taker.start();
    await big.joinThread();
    for (let i = 0; i < BIG_ITEMS; i++) big.putNowait(new Uint8Array(1 << 20).fill(i));
    taker.joinSync();
    assert.equal(got.value, BIG_ITEMS);
    assert.equal(big.qsize(), 0, 'no put ran twice');
  });

  test("an Event's set behind puts the socket could not take reaches a parent while the child spins on shared memory", {
    skip: !slabExpected && 'no shared-memory addon here (getObj needs it)',
  }, async () => {
    const big = new Queue<Uint8Array>();
    const ev = new Event();
    const flag = SharedArrayOf('i', 1);
    const p = new Process({ target: putBigSetThenSpin, args: [big, ev, flag] });
    p.start();
    let seen: boolean;
    try {
      seen = await ev.wait({ timeout: STUCK_PATIENCE });
    } finally {
      flag.setSync(0, 1);
    }
    assert.equal(seen, true);
    for (let i = 0; i < BIG_ITEMS; i++)
      assert.equal((await big.get({ timeout: STUCK_PATIENCE }))[0], i);
    await p.join();
    assert.equal(p.exitcode, 0);
  });

  test('putNowait and getNowait on a bounded queue throw Full and Empty only when they must', () => {
    const q = new Queue<number>(2);
    assert.throws(() => q.getNowait(), Empty);
    q.putNowait(1);
    q.putNowait(2);
    assert.throws(() => q.putNowait(3), Full);
    assert.equal(q.full(), true);
    assert.equal(q.getNowait(), 1);
    q.putNowait(3);
    assert.deepEqual([q.getNowait(), q.getNowait()], [2, 3]);
    assert.equal(q.empty(), true);
  });

  test('blocking twins with a timeout give up when it passes', async () => {
    const ev = new Event();
    const t0 = performance.now();
    assert.equal(ev.waitSync({ timeout: 50 }), false);
    assert.ok(performance.now() - t0 >= 45, 'waitSync returned before its timeout');
    const q = new Queue<number>(1);
    assert.throws(() => q.getSync({ timeout: 20 }), Empty);
    assert.throws(() => q.getSync({ block: false }), Empty);
    q.putSync(1);
    assert.throws(() => q.putSync(2, { timeout: 20 }), Full);
    assert.equal(q.getSync(), 1);
    const l = new Lock();
    assert.equal(await l.acquire(), true);
    assert.equal(l.acquireSync({ timeout: 20 }), false);
    assert.equal(l.acquireSync({ blocking: false }), false);
    l.release();
    assert.equal(l.acquireSync({ timeout: 20 }), true);
    assert.equal(l.locked(), true);
    l.release();
    assert.throws(() => l.release(), RuntimeError);
    const r = new RLock();
    assert.equal(
      r.runSync(() => r.runSync(() => r.locked())),
      true,
    );
    assert.equal(r.locked(), false);
    const s = new Semaphore(0);
    assert.equal(s.acquireSync({ timeout: 20 }), false);
    const c = new Condition();
    c.acquireSync();
    assert.equal(c.waitSync({ timeout: 20 }), false);
    assert.equal(
      c.waitForSync(() => 0, { timeout: 20 }),
      0,
    );
    c.release();
    assert.throws(() => c.waitSync({ timeout: 20 }), /un-acquired/);
    const b = new Barrier(2);
    assert.throws(() => b.waitSync({ timeout: 20 }), BrokenBarrierError);
    assert.equal(b.broken(), true);
    const jq = new JoinableQueue<number>();
    jq.putNowait(1);
    assert.equal(jq.joinSync({ timeout: 20 }), false);
    assert.equal(jq.getNowait(), 1);
    jq.taskDone();
    assert.equal(jq.joinSync({ timeout: LONG }), true);
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    assert.throws(() => q.getSync({ signal: ac.signal }), /stop/);
    assert.throws(() => l.acquireSync({ timeout: -1, signal: ac.signal }), /stop/);
  });

  test('a worker thread blocks on a lock its main thread holds, as its own owner', async () => {
    const lock = new Lock();
    const q = new Queue<string>(1);
    const ev = new Event();
    assert.equal(lock.acquireSync(), true);
    q.putNowait('for-the-thread');
    const out = new Queue<[boolean, number, string, boolean]>();
    const worker = new Thread({ target: threadSyncCalls, args: [lock, q, ev, out] });
    worker.start();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(ev.isSet(), false, 'the thread got past a lock this thread holds');
    lock.release();
    assert.deepEqual(await out.get({ timeout: LONG }), [true, 1, 'for-the-thread', true]);
    await worker.join();
    assert.equal(ev.isSet(), true);
    assert.equal(lock.locked(), false);
    assert.equal(q.empty(), true);
  });

  test('every synchronous call works in a child process', async () => {
    await checkSyncCallsIn(syncCalls);
  });

  test('every synchronous call works in a grandchild process', async () => {
    await checkSyncCallsIn(syncCallsInGrandchild);
  });

  test('acquireSync waits while another process holds the lock and gets it once released', async () => {
    const lock = new Lock();
    const held = new Event();
    const go = new Event();
    const marker = Value('i', 0);
    const p = new Process({ target: holdThenRelease, args: [lock, held, go, marker, 100] });
    p.start();
    assert.equal(await held.wait({ timeout: LONG }), true);
    // The holder keeps the lock until told to go: with a 300 ms hold from its start instead, a
    // loaded machine could reach this check after the release.
    assert.equal(lock.locked(), true);
    go.set();
    assert.equal(lock.acquireSync({ timeout: LONG }), true);
    // The holder wrote the marker before releasing: we got the lock after it, not beside it.
    assert.equal(marker.value, 1);
    lock.release();
    await p.join();
    assert.equal(p.exitcode, 0);
  });

  test('a holder that dies releases the lock to a sync waiter in this process', async () => {
    const lock = new Lock();
    const held = new Event();
    const p = new Process({ target: holdThenDie, args: [lock, held, 300, true] });
    p.start();
    assert.equal(await held.wait({ timeout: LONG }), true);
    assert.equal(lock.acquireSync({ timeout: LONG }), true);
    lock.release();
    await p.join();
    assert.equal(p.exitcode, -9);
  });

  test('a holder killed by the parent releases the lock to a sync waiter in another child', async () => {
    const lock = new Lock();
    const held = new Event();
    const ready = new Event();
    const out = new Queue<boolean>();
    const holder = new Process({ target: holdThenDie, args: [lock, held, LONG, false] });
    holder.start();
    assert.equal(await held.wait({ timeout: LONG }), true);
    const waiter = new Process({ target: acquireSyncAndReport, args: [lock, ready, out] });
    waiter.start();
    assert.equal(await ready.wait({ timeout: LONG }), true);
    await new Promise((r) => setTimeout(r, 100));
    holder.kill();
    assert.equal(await out.get({ timeout: LONG }), true);
    await Promise.all([holder.join(), waiter.join()]);
    assert.deepEqual([holder.exitcode, waiter.exitcode], [-9, 0]);
  });

  test('Barrier, Condition and JoinableQueue blocking twins meet the async side in a child', async () => {
    const b = new Barrier(2);
    const cond = new Condition();
    const flag = Value('i', 0);
    const jq = new JoinableQueue<string>();
    const out = new Queue<[number, boolean, string]>();
    const p = new Process({ target: barrierAndConditionSync, args: [b, cond, flag, jq, out] });
    p.start();
    const mine = await b.wait({ timeout: LONG });
    await cond.run(async () => {
      await flag.set(1);
      cond.notifyAll();
    });
    await jq.put('work');
    assert.equal(await jq.join({ timeout: LONG }), true);
    const [theirs, seen, item] = await out.get({ timeout: LONG });
    assert.deepEqual([mine, theirs].sort(), [0, 1]);
    assert.deepEqual([seen, item], [true, 'work']);
    await p.join();
    assert.equal(p.exitcode, 0);
  });
});
